"""Working-day arithmetic in Asia/Shanghai.

A day is a working day when the calendar says so: a stored `CalendarDay` overrides the rule,
otherwise Monday–Friday work and weekends do not. For a year with no `CalendarYear` row the rule
alone applies (the admin says so). The functions here are pure over a `WorkCalendar` snapshot;
`current_calendar()` loads one from the database (cached for a short while per process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from workflow.models import CalendarDay, CalendarYear

TZ = ZoneInfo(getattr(settings, "HUOYAN_CALENDAR_TZ", "Asia/Shanghai"))
# Cache of the database calendar per process; admin edits and `sync_calendar` clear it.
_CACHE_SECONDS = 300


@dataclass(frozen=True)
class WorkCalendar:
    """Exceptions to Monday–Friday (True: working, False: not) and the years they cover."""

    overrides: dict[date, bool] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        return day.weekday() < 5

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def local(dt: datetime) -> datetime:
    return dt.astimezone(TZ)


def end_of_day(day: date) -> datetime:
    """Deadlines fall at the end of a working day: 23:59:59 local time."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=TZ)


def add_working_days(cal: WorkCalendar, start: datetime, days: int) -> datetime:
    """End of the `days`-th working day after the day of `start` (the start day never counts,
    whether it is a working day or not), in local time."""
    if days < 1:
        raise ValueError("days must be at least 1")
    day = local(start).date()
    for _ in range(days):
        day = cal.next_working_day(day)
    return end_of_day(day)


def working_days_between(cal: WorkCalendar, start: datetime, end: datetime) -> int:
    """Working days from the day of `start` to the day of `end`, counted like deadlines: the start
    day never counts, the end day does (so the same day is 0)."""
    day, last, n = local(start).date(), local(end).date(), 0
    while day < last:
        day += timedelta(days=1)
        n += cal.is_working_day(day)
    return n


def add_working_hours(cal: WorkCalendar, start: datetime, hours: int | float) -> datetime:
    """`start` plus `hours` counted on working days only (all 24 hours of a working day count,
    none of a holiday or weekend). A start on a non-working day begins at the next working day;
    the result therefore always lands on a working day."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    cursor = local(start)
    remaining = timedelta(hours=hours)
    while True:
        day = cursor.date()
        if not cal.is_working_day(day):
            nxt = cal.next_working_day(day)
            cursor = datetime(nxt.year, nxt.month, nxt.day, tzinfo=TZ)
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(days=1)
        left_today = midnight - cursor
        if remaining <= left_today:
            return cursor + remaining
        remaining -= left_today
        cursor = midnight


_cached: tuple[float, WorkCalendar] | None = None


def current_calendar() -> WorkCalendar:
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < _CACHE_SECONDS:
        return _cached[1]
    cal = load_calendar()
    _cached = (now, cal)
    return cal


def load_calendar(day_model: Any = CalendarDay, year_model: Any = CalendarYear) -> WorkCalendar:
    """The calendar as stored (a migration passes its own historical models)."""
    return WorkCalendar(
        overrides={d: kind == CalendarDay.Kind.WORKDAY for d, kind in day_model.objects.values_list("date", "kind")},
        covered_years=frozenset(year_model.objects.values_list("year", flat=True)),
    )


def clear_calendar_cache() -> None:
    global _cached
    _cached = None


def working_time_in_days(cal: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working time from `start` to `end` in days: every hour of a working day counts, none of a
    holiday or weekend (the inverse of `add_working_hours`)."""
    if end <= start:
        return 0.0
    cursor, stop = local(start), local(end)
    total = timedelta(0)
    while cursor < stop:
        day = cursor.date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(days=1)
        upto = min(midnight, stop)
        if cal.is_working_day(day):
            total += upto - cursor
        cursor = upto
    return total.total_seconds() / 86400
