"""Personal data (ID numbers, phone numbers): masked for every role that does not need it.

Lists and exports always show masked values; a detail view shows full values only to those who
handle the case — supervisors in scope and the verifier it is assigned to — and every such full
view is written to the audit log.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from accounts.models import Role, User

if TYPE_CHECKING:
    from alerts.models import Alert


# 18-character resident ID (or the old 15-digit form) and mainland mobile numbers, as whole
# tokens: digits glued to other digits are some other number and are left alone.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8}|\d{6})(\d{3}[\dXx]|\d)(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def may_view_full_pii(user: User, alert: Alert | None = None) -> bool:
    """Supervisors (the alert is already known to be in their scope), and the assigned verifier."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.SUPERVISOR:
        return True
    return alert is not None and user.role == Role.VERIFIER and alert.assignee_id == user.pk


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
