"""Working-day arithmetic on the calendar seeded from chinese_calendar (migration 0002)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.calendar import WorkCalendar, add_working_days, add_working_hours, current_calendar
from workflow.models import CalendarDay, CalendarYear

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


pytestmark = pytest.mark.django_db


def test_it_skips_the_national_day_holidays_and_counts_the_make_up_saturday():
    cal = current_calendar()
    # 2025-09-30 (Tue) + 3 working days: Oct 1–8 are holidays, Oct 9 Thu, Oct 10 Fri, and
    # Saturday Oct 11 is a make-up working day (调休).
    assert add_working_days(cal, sh(2025, 9, 30, 10, 0), 3) == sh(2025, 10, 11, 23, 59, 59)


def test_it_counts_a_make_up_sunday_as_a_working_day():
    cal = current_calendar()
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday, 调休
    assert not cal.is_working_day(date(2025, 9, 27))  # ordinary Saturday
    # Friday 2025-09-26 + 1 working day is the make-up Sunday.
    assert add_working_days(cal, sh(2025, 9, 26, 9, 0), 1) == sh(2025, 9, 28, 23, 59, 59)


def test_it_skips_weekends():
    cal = current_calendar()
    # Friday 2025-11-14 + 1 → Monday 2025-11-17.
    assert add_working_days(cal, sh(2025, 11, 14, 16, 0), 1) == sh(2025, 11, 17, 23, 59, 59)


def test_it_counts_in_shanghai_time_not_utc():
    cal = current_calendar()
    # 2025-09-30 17:30 UTC is already 2025-10-01 01:30 in Shanghai: a holiday, so the first
    # working day after it is Oct 9 (not Oct 1 as a UTC reading would give after Sep 30).
    start = datetime(2025, 9, 30, 17, 30, tzinfo=UTC)
    assert add_working_days(cal, start, 1) == sh(2025, 10, 9, 23, 59, 59)


def test_hours_that_would_land_on_a_holiday_roll_to_the_next_working_day():
    cal = current_calendar()
    # 24 working hours from 2025-09-30 10:00: 14 h remain that day; the other 10 h are counted
    # on the next working day after the holiday, Oct 9.
    assert add_working_hours(cal, sh(2025, 9, 30, 10, 0), 24) == sh(2025, 10, 9, 10, 0)
    # Starting on a holiday starts the clock at the next working day.
    assert add_working_hours(cal, sh(2025, 10, 3, 12, 0), 2) == sh(2025, 10, 9, 2, 0)


def test_it_knows_spring_festival_2026():
    cal = current_calendar()
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday make-up day
    assert not cal.is_working_day(date(2026, 2, 16))  # Monday, Spring Festival


def test_a_year_the_calendar_does_not_cover_falls_back_to_monday_to_friday():
    cal = current_calendar()
    assert not cal.covers(2031)
    # 2031-10-01 is a Wednesday: with no calendar for 2031 it is an ordinary working day.
    assert cal.is_working_day(date(2031, 10, 1))
    assert add_working_days(cal, sh(2031, 9, 30, 10, 0), 1) == sh(2031, 10, 1, 23, 59, 59)
    assert cal.covers(2025)


def test_an_administrators_correction_wins_and_survives_a_sync():
    from workflow.calendar import clear_calendar_cache
    from workflow.calendar_sync import sync_calendar

    CalendarDay.objects.update_or_create(
        date=date(2025, 11, 17), defaults={"kind": CalendarDay.Kind.HOLIDAY, "name": "local", "source": "admin"}
    )
    sync_calendar(day_model=CalendarDay, year_model=CalendarYear)
    clear_calendar_cache()
    cal = current_calendar()
    assert not cal.is_working_day(date(2025, 11, 17))
    assert add_working_days(cal, sh(2025, 11, 14, 16, 0), 1) == sh(2025, 11, 18, 23, 59, 59)


def test_pure_calendar_without_database():
    cal = WorkCalendar(overrides={date(2030, 1, 1): False})
    assert add_working_days(cal, sh(2029, 12, 31, 8, 0), 1) == sh(2030, 1, 2, 23, 59, 59)
