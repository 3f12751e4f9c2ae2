"""Assessment periods as people write them: `2026` (a year), `2026-Q4` (a quarter), `2026-11`
(a month). A period is a half-open range of local dates [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_FORMS = re.compile(r"^(?P<y>\d{4})(?:-(?:Q(?P<q>[1-4])|(?P<m>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date  # exclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def period_parse(code: str) -> Period:
    match = _FORMS.match((code or "").strip().upper())
    if not match or not 2000 <= int(match["y"]) <= 2100:
        raise ValidationError({"period": [_("Give a year (2026), a quarter (2026-Q4) or a month (2026-11).")]})
    year = int(match["y"])
    if match["q"]:
        first = (int(match["q"]) - 1) * 3 + 1
        return Period(f"{year}-Q{match['q']}", date(year, first, 1), _next_month(year, first + 2))
    if match["m"]:
        month = int(match["m"])
        return Period(f"{year}-{month:02d}", date(year, month, 1), _next_month(year, month))
    return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))
