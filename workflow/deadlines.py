"""Stage deadlines. `due_at_for` is called whenever an alert enters a stage; `timeliness_of`
and `is_overdue` are what the API and the screens show."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import Alert

# Yellow starts this long before the deadline.
WARNING_WINDOW = timedelta(days=1)


class Timeliness:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def due_at_for(alert: Alert, entered_at: datetime) -> datetime | None:
    """The deadline of the stage `alert` has just entered; None while no policy applies."""
    return None


def is_overdue(alert: Alert, now: datetime | None = None) -> bool:
    return alert.is_open and alert.due_at is not None and alert.due_at <= (now or timezone.now())


def timeliness_of(alert: Alert, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if not alert.is_open or alert.due_at is None:
        return Timeliness.GREEN
    if alert.due_at <= now:
        return Timeliness.RED
    if alert.due_at - WARNING_WINDOW <= now:
        return Timeliness.YELLOW
    return Timeliness.GREEN
