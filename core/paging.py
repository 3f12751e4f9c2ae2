"""Keyset paging with a capped count, shared by the screens' lists and the API's alert list.

At 500,000 alerts two things made a list page slow: the exact count (every matching row counted
for "· 312,408 alerts") and OFFSET paging (page 200 reads and throws away 4,975 rows, and computes
their per-row subqueries). So:

- the count stops at `COUNT_CAP` (shown as "10,000+");
- "next" and "previous" carry a cursor — the sort key of the last (first) row shown — and the
  next page starts after it (`WHERE key < cursor ORDER BY key LIMIT n`): as fast on page 2,000 as
  on page 2, and a row inserted meanwhile never shifts a row onto two pages or off both;
- a bare page number (an old link, a typed URL) still works as an offset, up to the cap.

The order must end with a unique column (the primary key), so that the key of a row is unique
and ties on the other columns never skip or repeat a row. Nullable columns sort their NULLs last
in both directions (on every database, so the cursor condition is the same everywhere).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Model, OrderBy, Q, QuerySet

COUNT_CAP = 10_000
# Below this many matching rows a page is read in one query with its joins: too few rows for a
# misjudged join to cost much, and one round trip fewer (see `_rows`).
ONE_STEP_ROWS = 1_000


class InvalidCursor(ValueError):
    """A cursor that was not made by this module for this order (edited, truncated, stale)."""


@dataclass(frozen=True)
class _Key:
    name: str
    descending: bool
    nullable: bool
    field: Any


def _keys(model: type[Model], order: Sequence[str]) -> list[_Key]:
    keys = []
    for item in order:
        name = item.lstrip("-")
        try:
            f = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ValueError(f"cannot page on {item!r}") from exc
        keys.append(_Key(f.attname, item.startswith("-"), f.null, f))
    if not keys or not keys[-1].field.primary_key:
        raise ValueError("a keyset order must end with the primary key")
    return keys


def _order_by(keys: list[_Key], reverse: bool = False) -> list[OrderBy]:
    out = []
    for k in keys:
        desc = k.descending != reverse
        # NULLs last in the page order, hence first when reading backwards.
        nulls = {"nulls_first": True} if (k.nullable and reverse) else {"nulls_last": True} if k.nullable else {}
        out.append(F(k.name).desc(**nulls) if desc else F(k.name).asc(**nulls))
    return out


def _after(keys: list[_Key], values: list[Any], reverse: bool) -> Q:
    """Rows strictly after (or, `reverse`, before) the row whose key is `values` in the order."""
    never = Q(pk__in=[])
    cond = never
    # From the last key to the first: after(i) = beyond on key i, or equal on key i and after(i+1).
    for k, v in reversed(list(zip(keys, values, strict=True))):
        desc = k.descending != reverse
        if v is None:
            # NULLs are last: nothing is beyond a NULL going forward; every non-NULL is going back.
            beyond = Q(**{f"{k.name}__isnull": False}) if reverse else never
            equal = Q(**{f"{k.name}__isnull": True})
        else:
            beyond = Q(**{f"{k.name}__{'lt' if desc else 'gt'}": v})
            if k.nullable and not reverse:
                beyond |= Q(**{f"{k.name}__isnull": True})
            equal = Q(**{k.name: v})
        cond = beyond if cond is never else beyond | (equal & cond)
    first, v = keys[0], values[0]
    if v is not None and not (first.nullable and not reverse):
        # Redundant with the above, but a plain range on the leading column lets the database start
        # an index scan at the cursor instead of filtering from the top.
        desc = first.descending != reverse
        cond = Q(**{f"{first.name}__{'lte' if desc else 'gte'}": v}) & cond
    return cond


def encode_cursor(keys: list[_Key], row: Model) -> str:
    values = [k.field.value_to_string(row) if getattr(row, k.name) is not None else None for k in keys]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keys: list[_Key], cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(cursor) from exc
    if not isinstance(values, list) or len(values) != len(keys):
        raise InvalidCursor(cursor)
    out = []
    for k, v in zip(keys, values, strict=True):
        if v is None and k.nullable:
            out.append(None)
            continue
        if not isinstance(v, str):
            raise InvalidCursor(cursor)
        try:
            out.append(k.field.to_python(v))
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCursor(cursor) from exc
        if out[-1] is None:
            raise InvalidCursor(cursor)
    return out


def capped_count(qs: QuerySet[Any], cap: int | None = None) -> tuple[int, bool]:
    """(count, whether there are more than `cap`): counts at most cap + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


@dataclass
class KeysetPage:
    """One page, with the attributes the templates and serializers read from Django's `Page`
    (`number`, `has_next`, `paginator.count`…) plus the cursors of the neighbouring pages."""

    object_list: list[Any]
    number: int
    size: int
    has_next: bool
    has_previous: bool
    count: int
    count_capped: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    paginator: Any = field(init=False)

    def __post_init__(self) -> None:
        # Templates written for Django's Page read `page.paginator.count / num_pages`.
        self.paginator = self

    @property
    def num_pages(self) -> int | None:
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.size))

    @property
    def count_shown(self) -> str:
        """The count as a list shows it: "10,000" (with "+" added by the template when capped)."""
        return f"{self.count:,}"

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return max(1, self.number - 1)

    def start_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.object_list else 0

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index: int) -> Any:
        return self.object_list[index]


def _rows(qs: QuerySet[Any], source: QuerySet[Any], keys: list[_Key], limit: int, *, offset: int = 0,
          reverse: bool = False, few: bool = False) -> list[Any]:
    """The rows of `source` in the order (or reversed), by their ids first (see keyset_page),
    or, when the rows are `few`, in one query."""
    ordered = source.order_by(*_order_by(keys, reverse))
    if few:
        return list(ordered[offset: offset + limit])
    ids = list(ordered.values_list("pk", flat=True)[offset: offset + limit])
    if not ids:
        return []
    by_id = {row.pk: row for row in qs.filter(pk__in=ids).order_by()}
    return [by_id[i] for i in ids if i in by_id]


def _page_number(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def keyset_page(
    qs: QuerySet[Any], *, order: Sequence[str], size: int, page: Any = None, after: str = "", before: str = "",
    cap: int | None = None, strict: bool = False, many: Callable[[], QuerySet[Any]] | None = None,
) -> KeysetPage:
    """The page of `qs` in `order` (field names, `-` for descending, ending with the primary key)
    that starts after the `after` cursor, ends before the `before` cursor, or (neither) is page
    `page` by offset (at most `cap` rows deep). `page` is the number shown. A cursor that does
    not decode raises `InvalidCursor` when `strict` (the API: a 400), else the cursor is ignored
    (the screens: the page by number, as Django's `get_page` forgives a bad page number).

    `many`, if given, returns the same rows as `qs` in a form for when they are many (more than
    the cap), e.g. a search without its index condition: then reading the order's index until
    the page is full beats collecting every match through the search index and sorting them.

    The page of a long list is read in two steps: the ids of its rows from the filtered table
    alone, then those rows with what the list shows (joins, prefetches) — so joins never run for
    rows a page skips, whatever the database estimates the number of matches to be."""
    keys = _keys(qs.model, order)
    number = _page_number(page)
    cap = COUNT_CAP if cap is None else cap
    count, capped = capped_count(qs, cap)
    source = many() if capped and many is not None else qs
    few = count <= ONE_STEP_ROWS
    values = None
    backwards = False
    for cursor, is_before in ((after, False), (before, True)):
        if cursor and values is None:
            try:
                values = decode_cursor(keys, cursor)
                backwards = is_before
            except InvalidCursor:
                if strict:
                    raise
    rows: list[Any]
    if values is not None and backwards:
        rows = _rows(qs, source.filter(_after(keys, values, reverse=True)), keys, size + 1, reverse=True, few=few)
        if len(rows) <= size:
            # Back at the top: the first page, as a fresh visit shows it.
            return keyset_page(qs, order=order, size=size, page=1, cap=cap, many=many)
        rows = rows[:size][::-1]
        has_previous, has_next = True, True
        number = max(2, number)
    elif values is not None:
        rows = _rows(qs, source.filter(_after(keys, values, reverse=False)), keys, size + 1, few=few)
        has_previous = True
        has_next = len(rows) > size
        rows = rows[:size]
        number = max(2, number)
    else:
        # By number: an offset, never deeper than the count reaches (nor than the cap).
        last = max(1, -(-count // size))
        number = min(number, last)
        start = (number - 1) * size
        rows = _rows(qs, source, keys, size + 1, offset=start, few=few)
        has_previous = number > 1
        has_next = len(rows) > size
        rows = rows[:size]
    return KeysetPage(
        object_list=rows, number=number, size=size, has_next=has_next, has_previous=has_previous,
        count=count, count_capped=capped,
        next_cursor=encode_cursor(keys, rows[-1]) if rows and has_next else "",
        previous_cursor=encode_cursor(keys, rows[0]) if rows and has_previous else "",
    )
