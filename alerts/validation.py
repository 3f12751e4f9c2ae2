"""Checks on personal identifiers."""

from __future__ import annotations

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def id_number_is_valid(value: str) -> bool:
    """A mainland resident ID number (GB 11643-1999): 17 digits and an ISO 7064 check character."""
    value = value.upper()
    if not _ID_RE.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def validate_id_number(value: str) -> None:
    if value and not id_number_is_valid(value):
        raise ValidationError(_("Not a valid 18-character resident ID number."))


def validate_sane_datetime(value: datetime | None) -> None:
    """Dates far outside the system's life overflow time-zone arithmetic later: refuse them."""
    if value is not None and not 1900 <= value.year <= 2100:
        raise ValidationError(_("Give a date between 1900 and 2100."))
