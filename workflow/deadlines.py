"""Stage deadlines. `due_at_for` is called whenever an alert enters a stage."""

from __future__ import annotations

from datetime import datetime

from alerts.models import Alert


def due_at_for(alert: Alert, entered_at: datetime) -> datetime | None:
    """The deadline of the stage `alert` has just entered; None while no policy applies."""
    return None
