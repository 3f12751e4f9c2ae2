"""Personal data (ID numbers, phone numbers): the one masking function every text a reader
sees goes through — screens, API, exports, notifications, printable documents and the admin.
Who may see full values is `alerts.policy.may_view_full_pii`; showing them is audited by the use
case that reads them.

The patterns are written so that PostgreSQL's regular expressions read them exactly as Python
does (explicit character classes, no `\\d` or `\\s`): the database function `hy_mask_text` (see
the alerts migration that creates it) applies the same masks, so a search can run over the masked
copy of a text (`alerts.search`) and never match inside a hidden digit.
"""

from __future__ import annotations

import re
from typing import Any

# Half- and full-width digits; separators people type inside a number (space, hyphen, dot, NBSP,
# ideographic space, full-width hyphen).
DIGIT = "[0-9\uff10-\uff19]"
_SEP = "[ .\u00a0\u3000\uff0d-]"
_CHECK = "[0-9\uff10-\uff19Xx\uff38\uff58]"

# 18-character resident ID, as 6-8-4 with optional separators, and the old 15-digit form
# (6-6-3). The first four and the last four characters stay visible.
ID18_PATTERN = (
    f"(?<!{DIGIT})({DIGIT}{{4}}){DIGIT}{{2}}({_SEP}?){DIGIT}{{8}}({_SEP}?)({DIGIT}{{3}}{_CHECK})(?!{DIGIT})"
)
ID18_REPLACEMENT = r"\1**\2********\3\4"
ID15_PATTERN = (
    f"(?<!{DIGIT})({DIGIT}{{4}}){DIGIT}{{2}}({_SEP}?){DIGIT}{{5}}({DIGIT})({_SEP}?)({DIGIT}{{3}})(?!{DIGIT})"
)
ID15_REPLACEMENT = r"\1**\2*****\3\4\5"
# Mainland mobile numbers: 3-4-4 with optional separators and an optional +86 / 86 prefix. The
# first three and the last four digits stay visible.
PHONE_PATTERN = (
    f"(?<!{DIGIT})((?:[+\uff0b]?[8\uff18][6\uff16]{_SEP}?)?[1\uff11][3-9\uff13-\uff19]{DIGIT})"
    f"({_SEP}?){DIGIT}{{4}}({_SEP}?)({DIGIT}{{4}})(?!{DIGIT})"
)
PHONE_REPLACEMENT = r"\1\2****\3\4"

# Applied in this order (an ID is masked before a phone number could be found inside it).
MASKS: tuple[tuple[str, str], ...] = (
    (ID18_PATTERN, ID18_REPLACEMENT),
    (ID15_PATTERN, ID15_REPLACEMENT),
    (PHONE_PATTERN, PHONE_REPLACEMENT),
)
_COMPILED = tuple((re.compile(p), r) for p, r in MASKS)
PII_RE = re.compile("|".join(f"(?:{p})" for p, _r in MASKS))
# Every mask needs at least 11 digits in a row, at most one separator between two of them (the
# phone number; an ID has more): a text without such a run has nothing to mask. One search
# instead of three substitutions, for the many texts (dates, alert numbers) that only have digits.
_MAYBE_PII = re.compile(f"{DIGIT}(?:{_SEP}?{DIGIT}){{10}}")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋Ｘｘ", "0123456789+Xx")


def mask_id_number(value: str) -> str:
    """`320583199001011234` → `3205**********1234`."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_text(text: str) -> str:
    """Every ID and mobile number inside `text` masked: `李四 139-8765-4321` → `李四 139-****-4321`.
    Used for every text a reader who may not see full values is shown."""
    if not text or not isinstance(text, str) or not _MAYBE_PII.search(text):
        return text
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text


def pii_text(text: str, full: bool) -> str:
    """`text` as this reader may see it: itself for those who may see full values, else masked."""
    return text if full else mask_text(text)


def contains_pii(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        return bool(PII_RE.search(value))
    if isinstance(value, dict):
        return any(contains_pii(k) or contains_pii(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_pii(v) for v in value)
    return False


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (a data snapshot, a dataset row), keys too."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A phone number in a dataset column inferred as integer is still a phone number.
        text = str(value)
        masked = mask_text(text)
        return masked if masked != text else value
    if isinstance(value, dict):
        return {mask_value(k) if isinstance(k, str | int) else k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def _bare(number: str) -> str:
    digits = re.sub(r"[^0-9X]", "", number.translate(_FULL_WIDTH).upper())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def split_whole_numbers(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A search text split into its complete ID / mobile numbers, each as (bare digits, as
    typed) — `+86 139-1234-5678` → (`13912345678`, `+86 139-1234-5678`) — and the other
    non-blank pieces of text around them."""
    numbers: list[tuple[str, str]] = []
    pieces: list[str] = []
    start = 0
    for match in PII_RE.finditer(text or ""):
        pieces.append(text[start:match.start()])
        numbers.append((_bare(match.group(0)), match.group(0).strip()))
        start = match.end()
    pieces.append((text or "")[start:])
    return numbers, [p.strip() for p in pieces if p.strip()]
