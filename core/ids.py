"""The one way to turn text from a request into a row id.

`str.isdigit()` is True for "²", "٣" and other Unicode digits, some of which `int()` refuses
(a 500) and some of which it quietly accepts; a 40-digit number overflows the database's
bigint. Every id read from a query string, a form or a JSON body goes through `parse_id`.
"""

from __future__ import annotations

from collections.abc import Iterable

# A PostgreSQL bigint holds 19 digits; ids never come near 18.
MAX_ID_DIGITS = 18


def parse_id(value: object) -> int | None:
    """A positive row id from ASCII digits only (at most 18 of them), else None.

    An int is accepted as it is (when positive and in range); booleans, floats, signs,
    spaces inside, Unicode digits and anything longer are not ids.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**MAX_ID_DIGITS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_ID_DIGITS or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number > 0 else None


def parse_ids(values: Iterable[object]) -> list[int]:
    """The valid ids among `values`, in order, without repeats (invalid ones are dropped)."""
    seen: dict[int, None] = {}
    for value in values:
        number = parse_id(value)
        if number is not None:
            seen.setdefault(number, None)
    return list(seen)
