"""The one free-text search over alerts (`q` in the API list, the screens' filter and the admin).

A reader who sees an ID number as `3205**********1234` must not rebuild it by searching prefixes
(`32058`, `320583`, …). So the text is searched as the reader sees it: a search matches the
*masked* copy of the title and the subject (`hy_mask_text`, the database twin of
`core.masking.mask_text`), and never lands inside a hidden digit. A complete ID or mobile number
in the query is matched exactly against the stored numbers instead, and that search is on the
audit record (with the number masked).

Efficiency: a query without digits (or `*`) matches the masked copy exactly where it matches the
raw text, so it stays a plain `icontains`. Otherwise every masked-copy condition is paired with
the plain `icontains` on the raw column that it implies, so an index on the raw columns (trigram
/ bigram) still narrows the rows and the database masks only those candidates.
"""

from __future__ import annotations

import operator
import re
from functools import reduce
from typing import Any

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Func, Q, QuerySet
from django.db.models.lookups import IContains

from alerts.models import Alert
from audit.models import AuditEvent
from audit.services import audit_record
from core.masking import DIGIT, MASKS, mask_text, split_whole_numbers

MASK_FUNCTION = "hy_mask_text"
_NEEDS_MASK = re.compile(rf"{DIGIT}|\*")
# Text columns a free-text search looks in: each is searched through its masked copy.
SEARCH_FIELDS = ("title", "subject_name")


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


def _masked_text_condition(text: str) -> Q:
    if not _NEEDS_MASK.search(text):
        # Masking only turns digits into `*`: a query with neither matches the masked copy
        # exactly where it matches the raw text, so the plain condition is the same and cheaper.
        return reduce(operator.or_, (Q(**{f"{field}__icontains": text}) for field in SEARCH_FIELDS))
    chunks = [c for c in text.split("*") if c]
    cond = Q()
    for field in SEARCH_FIELDS:
        raw = Q()
        for chunk in chunks:
            raw &= Q(**{f"{field}__icontains": chunk})
        cond |= raw & Q(IContains(MaskedText(field), text))
    return cond


def _whole_number_condition(number: str, typed: str) -> Q:
    """The number stored as the subject's ID, or standing whole in the title or subject (its
    masked form is in the masked copy: a phone-shaped run inside a longer number never counts)."""
    cond = Q(subject_id_number__iexact=number)
    for value in {number, typed}:
        for field in SEARCH_FIELDS:
            cond |= Q(**{f"{field}__icontains": value}) & Q(IContains(MaskedText(field), mask_text(value)))
    return cond


def alerts_search(
    qs: QuerySet[Alert], query: str, *, user: Any, request: Any = None, extra: Q | None = None,
) -> QuerySet[Alert]:
    """Alerts of `qs` whose title or subject matches `query` as the reader sees them, or (OR)
    the `extra` condition (e.g. the rule code). Complete ID / mobile numbers in the query are
    matched exactly and the search is audited."""
    text = (query or "").strip()
    if not text:
        return qs
    numbers, pieces = split_whole_numbers(text)
    if not numbers:
        # A unified social credit code is not personal data: searched whole, it finds the
        # company's alerts (model hits carry it since their emit names the column).
        cond = _masked_text_condition(text) | Q(subject_credit_code__iexact=text)
        return qs.filter(cond | extra if extra is not None else cond)
    # Each complete number must match exactly; the rest of the query (a name, say) is searched
    # as usual, piece by piece.
    cond = Q()
    for number, typed in numbers:
        cond &= _whole_number_condition(number, typed)
    for piece in pieces:
        cond &= _masked_text_condition(piece)
    audit_record(
        action=AuditEvent.Action.PII_VIEW, actor=user, request=request, object_type="alert_search",
        data={"query": mask_text(text), "path": getattr(request, "path", "")},
    )
    return qs.filter(cond)
