"""The alert-list filters applied to a scoped queryset: one implementation for the list, its
exports (direct and background), the boards and the dashboard's drill-downs. The screens validate
the parameters (`web.filters.AlertFilterForm`) and hand the cleaned values here; a background
export keeps them as JSON (`filters_as_json`) and applies them in the worker.

Every queryset filtered here already comes from `alerts.selectors` (the user's scope); the unit
filter can only narrow that scope, never widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.search import alerts_search
from alerts.states import Conclusion, Status
from alerts.tags import alerts_tagged
from cases.models import Dismissal, Disposition, TimelineEntry
from cases.people import alerts_with_people
from core.ids import parse_id

DATE_FILTERS = ("created_from", "created_to", "closed_from", "closed_to")


def filters_as_json(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned filter values that are set, as JSON (dates as ISO text)."""
    out: dict[str, Any] = {}
    for key, value in cleaned.items():
        if value in (None, "", False):
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    return out


def filters_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `filters_as_json`."""
    return {k: date.fromisoformat(v) if k in DATE_FILTERS and isinstance(v, str) else v for k, v in data.items()}


def alerts_filtered(qs: QuerySet[Alert], d: Mapping[str, Any], *, user: User,
                    request: HttpRequest | None = None, indexed: bool = True) -> QuerySet[Alert]:
    """`qs` narrowed by the cleaned filter values `d` (unset ones are ignored); `indexed=False`:
    the same rows, the search without its index condition (see alerts.search)."""
    now = timezone.now()
    if d.get("q"):
        # Title and subject are searched as the reader sees them (ID and phone numbers
        # masked); a complete number is matched exactly and audited (alerts.search).
        q = d["q"]
        extra = Q(pk=alert_id) if (alert_id := parse_id(q)) is not None else None
        qs = alerts_search(qs, q, user=user, request=request, extra=extra, rule_code=True, indexed=indexed)
    state = d.get("state")
    if state == "open":
        qs = qs.exclude(status=Status.CLOSED)
    elif state == "closed":
        qs = qs.filter(status=Status.CLOSED)
    elif state == "overdue":
        qs = qs.exclude(status=Status.CLOSED).filter(due_at__lte=now)
    elif state == "dismissed":
        qs = qs.filter(status=Status.CLOSED, pk__in=Dismissal.objects.values("alert_id"))
    if d.get("status"):
        qs = qs.filter(status=d["status"])
    if d.get("unit"):
        unit = units_visible_to(user).filter(code=d["unit"]).first()
        if unit is None:
            qs = qs.none()
        elif d.get("unit_only"):
            qs = qs.filter(org_unit=unit)
        else:
            qs = qs.filter(org_unit__path__startswith=unit.path)
    if d.get("risk"):
        qs = qs.filter(risk_level=d["risk"])
    if d.get("domain"):
        qs = qs.filter(domain=d["domain"])
    if d.get("source"):
        qs = qs.filter(source_id=int(d["source"]))
    if d.get("rule"):
        qs = qs.filter(rule_code=d["rule"])
    if d.get("tag"):
        qs = alerts_tagged(qs, d["tag"])
    if d.get("age"):
        qs = qs.filter(created_at__lte=now - timedelta(days=int(d["age"])))
    conclusion = d.get("conclusion")
    if conclusion == "substantiated_any":
        qs = qs.filter(conclusion__in=[Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED])
    elif conclusion:
        qs = qs.filter(conclusion=conclusion)
    if d.get("outcome"):
        qs = qs.filter(pk__in=Disposition.objects.filter(outcome=d["outcome"]).values("alert_id"))
    if d.get("disposition") == "any":
        qs = qs.filter(pk__in=Disposition.objects.values("alert_id"))
    elif d.get("disposition") == "case_filed":
        qs = qs.filter(pk__in=Disposition.objects.filter(case_filed=True).values("alert_id"))
    tz = timezone.get_current_timezone()
    if d.get("created_from"):
        qs = qs.filter(created_at__gte=datetime.combine(d["created_from"], time.min, tz))
    if d.get("created_to"):
        qs = qs.filter(created_at__lt=datetime.combine(d["created_to"] + timedelta(days=1), time.min, tz))
    if d.get("closed_from"):
        qs = qs.filter(closed_at__gte=datetime.combine(d["closed_from"], time.min, tz))
    if d.get("closed_to"):
        qs = qs.filter(closed_at__lt=datetime.combine(d["closed_to"] + timedelta(days=1), time.min, tz))
    if d.get("left_stage"):
        # The alerts behind "average days in stage X": those with a stage change out of X.
        qs = qs.filter(Exists(TimelineEntry.objects.filter(
            alert=OuterRef("pk"), kind=TimelineEntry.Kind.TRANSITION, from_status=d["left_stage"])))
    if d.get("person"):
        qs = alerts_with_people(qs, d["person"])
    return qs
