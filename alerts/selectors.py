"""Reads of alerts. Every list, detail, count, export and action starts from
`alerts_visible_to`, so a county office never sees another county's alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from workflow.states import Status


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    if not user.is_authenticated or user.org_unit_id is None:
        return Alert.objects.none()
    return Alert.objects.filter(org_unit__in=units_visible_to(user))


def alert_list_for(user: User) -> QuerySet[Alert]:
    """The scoped list with what list rows show, fetched without a query per row."""
    return alerts_visible_to(user).select_related("org_unit", "source", "assignee")


def alert_get_for(user: User, pk: int) -> Alert | None:
    return alert_list_for(user).filter(pk=pk).first()


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal("0")


def stats_overview(user: User) -> dict[str, Any]:
    """Totals for the user's scope and a breakdown for the user's unit and its direct children.

    Two grouped queries whatever the number of alerts or units: one by status, one by unit
    path; each row of `by_unit` rolls up that unit's whole subtree from the second.
    """
    scoped = alerts_visible_to(user)
    by_status = {s: 0 for s in Status.values}
    for row in scoped.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]
    total = sum(by_status.values())
    closed = by_status[Status.CLOSED]

    by_unit: list[dict[str, Any]] = []
    if user.is_authenticated and user.org_unit_id is not None:
        own: OrgUnit = user.org_unit
        rows = list(
            scoped.values("org_unit__path")
            .annotate(total=Count("id"), closed=Count("id", filter=Q(status=Status.CLOSED)))
            .order_by()
        )
        heads = [own, *OrgUnit.objects.filter(parent=own).order_by("code")]
        for unit in heads:
            # Every row is that unit and everything below it, like the scope rule itself.
            mine = [r for r in rows if r["org_unit__path"].startswith(unit.path)]
            t = sum(r["total"] for r in mine)
            c = sum(r["closed"] for r in mine)
            by_unit.append(
                {"unit": unit.code, "name": unit.name, "total": t, "open": t - c,
                 "closed": c, "closure_rate": _rate(c, t)}
            )
    return {
        "total": total,
        "open": total - closed,
        "closed": closed,
        "closure_rate": _rate(closed, total),
        "by_status": by_status,
        "by_unit": by_unit,
    }
