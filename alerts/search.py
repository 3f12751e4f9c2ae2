"""The one free-text search over alerts (`q` in the API list, the screens' filter and the admin).

A reader who sees an ID number as `3205**********1234` must not rebuild it by searching prefixes
(`32058`, `320583`, …). So the text is searched as the reader sees it: a search matches the
*masked* copy of the title and the subject (`hy_mask_text`, the database twin of
`core.masking.mask_text`), and never lands inside a hidden digit. A complete ID or mobile number
in the query is matched exactly against the stored numbers instead, and that search is on the
audit record (with the number masked).

Efficiency: a query without digits (or `*`) matches the masked copy exactly where it matches the
raw text, so it stays a plain `icontains`. Otherwise every masked-copy condition is paired with
the plain `icontains` on the raw column that it implies, so the index narrows the rows and the
database masks only those candidates.

The index (PostgreSQL): trigrams cannot serve two Chinese characters (`化工`), so every searched
column is cut into its characters and pairs of characters (`hy_search_tokens`, upper-cased like
`icontains`), and a GIN index holds them (migration alerts 0010). A text can only contain the query
if it contains every character and pair of the query, so each condition on those columns is ANDed
with "the row's tokens contain the query's tokens": the index finds the candidates, the unchanged
condition decides. The token condition only ever narrows, so it changes no result. The credit code
and the ID number, matched whole only, have plain indexes on UPPER(column). SQLite has no such
index and runs the conditions alone.
"""

from __future__ import annotations

import operator
import re
from functools import reduce
from typing import Any

from django.db import connection as default_connection
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, CharField, Func, Q, QuerySet
from django.db.models.lookups import IContains

from alerts.models import Alert
from audit.models import AuditEvent
from audit.services import audit_record
from core.masking import DIGIT, MASKS, mask_text, split_whole_numbers

MASK_FUNCTION = "hy_mask_text"
_NEEDS_MASK = re.compile(rf"{DIGIT}|\*")
# 统一社会信用代码: 18 letters and digits.
_CREDIT_CODE = re.compile(r"[0-9A-Za-z]{18}")
# Text columns a free-text search looks in: each is searched through its masked copy.
SEARCH_FIELDS = ("title", "subject_name")
TOKENS_FUNCTION = "hy_search_tokens"
ALERT_TOKENS_FUNCTION = "hy_alert_tokens"
# The columns searched in part, in the order of `hy_alert_tokens`'s arguments: the expression must
# be written exactly like the index's for PostgreSQL to use the index. (The credit code and the ID
# number are only ever matched whole: a plain index on each serves those.)
TOKEN_COLUMNS = ("title", "subject_name", "rule_code")
# `hy_search_tokens` (a text's characters and pairs of characters, upper-cased as `icontains`
# compares), `hy_alert_tokens` and the GIN index over the latter are created by migration alerts
# 0010; changing them needs a new migration that rebuilds the index.


class MaskedText(Func):
    """`hy_mask_text(column)`: the column as a reader without full personal data sees it."""

    function = MASK_FUNCTION
    output_field = CharField()


def _postgres_function_sql() -> str:
    expr = "t"
    for pattern, replacement in MASKS:
        pat = pattern.replace("'", "''")
        rep = replacement.replace("'", "''")
        expr = f"regexp_replace({expr}, '{pat}', '{rep}', 'g')"
    return (
        f"CREATE OR REPLACE FUNCTION {MASK_FUNCTION}(t text) RETURNS text "
        f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $hy$ SELECT {expr} $hy$"
    )


def install_mask_function(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Create (or refresh) `hy_mask_text` in the database from the patterns in core.masking.
    Run after every `migrate`, so the function follows the code; on SQLite the function is
    registered per connection instead (`register_sqlite_function`)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_postgres_function_sql())


def register_sqlite_function(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(MASK_FUNCTION, 1, mask_text, deterministic=True)


class TokensContain(Func):
    """`hy_alert_tokens(<columns>) @> hy_search_tokens(text)`: the row holds every character and
    pair of characters of `text` (served by the GIN index; PostgreSQL only)."""

    template = f"{ALERT_TOKENS_FUNCTION}(%(expressions)s) @> {TOKENS_FUNCTION}(%(text)s)"
    output_field = BooleanField()

    def __init__(self, text: str) -> None:
        super().__init__(*TOKEN_COLUMNS)
        self.text = text

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = super().as_sql(compiler, connection, text="%s::text", **extra)
        return sql, [*params, self.text]


class _Search:
    """Builds the conditions of one search; `tokens` says whether the token index exists (PostgreSQL)."""

    def __init__(self, *, tokens: bool, rule_code: bool) -> None:
        self.tokens = tokens
        self.rule_code = rule_code

    def narrowed(self, cond: Q, *texts: str) -> Q:
        """`cond`, which implies that a column of TOKEN_COLUMNS contains each of `texts`, ANDed
        with the token condition that lets the index find the candidates first. It comes last:
        where the database checks the conditions row by row (e.g. beside an OR on the alert's
        number), the cheap LIKE then settles most rows before the tokens are computed."""
        if not self.tokens:
            return cond
        for text in texts:
            cond &= Q(TokensContain(text))
        return cond

    def masked_text(self, text: str, *, whole: bool) -> Q:
        """`text` in the masked copy of the title or subject; with `whole` (the query is all text,
        no complete number in it) also the credit code whole, and the rule code in part if asked."""
        branches: list[Q] = []
        if whole and self.rule_code:
            branches.append(Q(rule_code__icontains=text))
        if not _NEEDS_MASK.search(text):
            # Masking only turns digits into `*`: a query with neither matches the masked copy
            # exactly where it matches the raw text, so the plain condition is the same and cheaper.
            branches += [Q(**{f"{field}__icontains": text}) for field in SEARCH_FIELDS]
            cond = self.narrowed(reduce(operator.or_, branches), text)
        else:
            chunks = [c for c in text.split("*") if c]
            for field in SEARCH_FIELDS:
                raw = Q()
                for chunk in chunks:
                    raw &= Q(**{f"{field}__icontains": chunk})
                branches.append(raw & Q(IContains(MaskedText(field), text)))
            # Every branch implies each chunk in a raw column (the rule code contains the whole
            # text, hence its chunks).
            cond = self.narrowed(reduce(operator.or_, branches), *chunks)
        if whole and _CREDIT_CODE.fullmatch(text):
            # A unified social credit code is not personal data: searched whole, it finds the
            # company's alerts (model hits carry it since their emit names the column). Only a
            # query of a code's shape can equal one: any other query leaves this branch out, so
            # the token condition stays a condition of the whole search and the index alone
            # decides the candidates (beside an OR the database computes the tokens row by row).
            cond |= Q(subject_credit_code__iexact=text)
        return cond

    def whole_number(self, number: str, typed: str) -> Q:
        """The number stored as the subject's ID, or standing whole in the title or subject (its
        masked form is in the masked copy: a phone-shaped run inside a longer number never counts)."""
        cond = Q(subject_id_number__iexact=number)
        for value in {number, typed}:
            for field in SEARCH_FIELDS:
                found = Q(**{f"{field}__icontains": value}) & Q(IContains(MaskedText(field), mask_text(value)))
                cond |= self.narrowed(found, value)
        return cond


def alerts_search(
    qs: QuerySet[Alert], query: str, *, user: Any, request: Any = None, extra: Q | None = None,
    rule_code: bool = False, indexed: bool = True,
) -> QuerySet[Alert]:
    """Alerts of `qs` whose title or subject (and the rule code, with `rule_code`) matches
    `query` as the reader sees them, or (OR) the `extra` condition (e.g. the alert's number).
    Complete ID / mobile numbers in the query are matched exactly and the search is audited.

    `indexed=False` leaves out the token condition (the same rows): for a term found in
    thousands of alerts, reading the newest alerts until a page is full is faster than
    collecting every match through the index (core.paging's `many`)."""
    text = (query or "").strip()
    if not text:
        return qs
    search = _Search(tokens=indexed and connections[qs.db].vendor == "postgresql", rule_code=rule_code)
    numbers, pieces = split_whole_numbers(text)
    if not numbers:
        cond = search.masked_text(text, whole=True)
        return qs.filter(cond | extra if extra is not None else cond)
    # Each complete number must match exactly; the rest of the query (a name, say) is searched
    # as usual, piece by piece.
    cond = Q()
    for number, typed in numbers:
        cond &= search.whole_number(number, typed)
    for piece in pieces:
        cond &= search.masked_text(piece, whole=False)
    audit_record(
        action=AuditEvent.Action.PII_VIEW, actor=user, request=request, object_type="alert_search",
        data={"query": mask_text(text), "path": getattr(request, "path", "")},
    )
    return qs.filter(cond)
