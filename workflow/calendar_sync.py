"""Copy mainland China's holidays and make-up working days from the `chinese_calendar`
package into the database. Rows an administrator entered (`source=admin`) are never touched.
Used by the data migration (with historical models) and by `manage.py sync_calendar`."""

from __future__ import annotations

from datetime import date
from typing import Any


def package_days() -> tuple[dict[date, tuple[str, str]], set[int]]:
    """{date: (kind, name)} for every exception to Monday–Friday the package knows, and the
    years it covers."""
    from chinese_calendar import constants

    days: dict[date, tuple[str, str]] = {}
    for day, name in constants.holidays.items():
        if day.weekday() < 5:  # a holiday on a weekend changes nothing
            days[day] = ("holiday", str(name))
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:
            days[day] = ("workday", str(name))
    years = set(range(min(constants.holidays).year, max(constants.holidays).year + 1))
    return days, years


def sync_calendar(*, day_model: Any, year_model: Any) -> tuple[int, int]:
    """Upsert the package's days; return (days written, years covered)."""
    days, years = package_days()
    admin_dates = set(day_model.objects.filter(source="admin").values_list("date", flat=True))
    day_model.objects.filter(source="package").exclude(date__in=list(days)).delete()
    rows = [
        day_model(date=d, kind=kind, name=name[:64], source="package")
        for d, (kind, name) in sorted(days.items())
        if d not in admin_dates
    ]
    day_model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["date"], update_fields=["kind", "name", "source"]
    )
    for year in sorted(years):
        year_model.objects.update_or_create(year=year, defaults={"source": "chinese_calendar"})
    return len(rows), len(years)
