"""Reads of alerts. Every list, detail, count, export and action starts from
`alerts_visible_to`, so a county office never sees another county's alerts."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from core.errors import NotFound


def visible_unit_ids(user: User) -> list[int]:
    """The ids of the user's unit and the units below it (a few dozen at most).

    Filtering alerts by this list rather than by a sub-select on the unit path lets PostgreSQL
    see how much of the table a scope holds: for a city it then reads a page of the newest
    alerts off the index instead of sorting every closed alert (page 200 of the closed alerts
    at 500,000 alerts: 5.7 s → 0.3 s).
    """
    return list(units_visible_to(user).values_list("id", flat=True))


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    if not user.is_authenticated or user.org_unit_id is None:
        return Alert.objects.none()
    return Alert.objects.filter(org_unit_id__in=visible_unit_ids(user))


def alert_for_update(*, user: User, alert_id: int) -> Alert:
    """The alert, in the user's scope, locked for the rest of the caller's transaction.

    The row lock serialises two people acting on one alert: the second waits, then sees the state
    the first left (and gets a 409 instead of overwriting it). Out of scope and missing are the
    same NotFound.
    """
    alert = (
        alerts_visible_to(user).select_for_update(of=("self",)).select_related("org_unit")
        .filter(pk=alert_id).first()
    )
    if alert is None:
        raise NotFound(_("Alert not found."))
    return alert


def alert_list_for(user: User) -> QuerySet[Alert]:
    """The scoped list with what list rows show, fetched without a query per row."""
    return alerts_visible_to(user).select_related("org_unit", "source", "assignee")


def alert_get_for(user: User, pk: int) -> Alert | None:
    return alert_list_for(user).filter(pk=pk).first()


