"""Personal data (ID numbers, phone numbers): the one masking function every text a reader
sees goes through. Who may see full values is `alerts.policy.may_view_full_pii`; showing them is
audited by the use case that reads them."""

from __future__ import annotations

import re
from typing import Any

# 18-character resident ID (or the old 15-digit form) and mainland mobile numbers, as whole
# tokens: digits glued to other digits are some other number and are left alone.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8}|\d{6})(\d{3}[\dXx]|\d)(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


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
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


def contains_pii(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        return bool(_ID_RE.search(value) or _PHONE_RE.search(value))
    if isinstance(value, dict):
        return any(contains_pii(k) or contains_pii(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_pii(v) for v in value)
    return False


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (a data snapshot, a dataset row)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A phone number in a dataset column inferred as integer is still a phone number.
        text = str(value)
        masked = mask_text(text)
        return masked if masked != text else value
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value
