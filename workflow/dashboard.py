"""Leadership dashboard figures for a user's scope and a period.

Each breakdown is one grouped query, whatever the number of alerts, units, domains or sources:
totals by status, by unit path (rolled up into the user's unit and its direct children in
Python over the few grouped rows), by domain, by source, by conclusion, outcomes, amounts,
trend buckets and average days per stage from the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import OrgUnit, User
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import Conclusion, Status
from cases.models import Dismissal, Disposition, TimelineEntry
from cases.people import people_counts


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None  # inclusive

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        lo = datetime.combine(self.start, time.min, tz) if self.start else None
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tz) if self.end else None
        return lo, hi


def rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal("0")


def _in_period(qs: QuerySet[Alert], period: Period, prefix: str = "") -> QuerySet[Alert]:
    lo, hi = period.bounds()
    if lo:
        qs = qs.filter(**{f"{prefix}created_at__gte": lo})
    if hi:
        qs = qs.filter(**{f"{prefix}created_at__lt": hi})
    return qs


def _counts() -> dict[str, Any]:
    now = timezone.now()
    return {
        "total": Count("id"),
        "closed": Count("id", filter=Q(status=Status.CLOSED)),
        "dismissed": Count("id", filter=Q(status=Status.CLOSED) & Q(Exists(
            Dismissal.objects.filter(alert_id=OuterRef("pk"))))),
        "overdue": Count("id", filter=~Q(status=Status.CLOSED) & Q(due_at__lte=now)),
        "with_conclusion": Count("id", filter=~Q(conclusion="")),
        "substantiated": Count(
            "id",
            filter=Q(conclusion__in=[Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]),
        ),
    }


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    total, closed, overdue = row["total"], row["closed"], row["overdue"]
    row["open"] = total - closed
    # 办结率 counts alerts closed after handling; dismissals are 排除率, shown apart.
    row["closure_rate"] = rate(closed - row.get("dismissed", 0), total)
    row["dismissal_rate"] = rate(row.get("dismissed", 0), total)
    row["overdue_rate"] = rate(overdue, total)
    row["substantiation_rate"] = rate(row["substantiated"], row["with_conclusion"])
    return row


def dashboard_for(user: User, period: Period) -> dict[str, Any]:
    scoped = _in_period(alerts_visible_to(user), period)
    counts = _counts()

    totals = _finish(scoped.aggregate(**counts))
    by_status = {s: 0 for s in Status.values}
    for row in scoped.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]

    # By unit: one grouped query by path, rolled into the user's unit and its direct children.
    by_unit: list[dict[str, Any]] = []
    if user.is_authenticated and user.org_unit_id is not None:
        rows = list(scoped.values("org_unit__path").annotate(**counts).order_by())
        own: OrgUnit = user.org_unit
        children = list(OrgUnit.objects.filter(parent=own).order_by("code"))
        heads = children or [own]
        keys = ("total", "closed", "dismissed", "overdue", "with_conclusion", "substantiated")
        for unit in heads:
            mine = [r for r in rows if r["org_unit__path"].startswith(unit.path)]
            agg = {k: sum(r[k] for r in mine) for k in keys}
            by_unit.append(_finish({"code": unit.code, "name": unit.name, **agg}))
        if children:
            # Alerts raised for the user's own unit itself, not one below it.
            direct = [r for r in rows if r["org_unit__path"] == own.path]
            agg = {k: sum(r[k] for r in direct) for k in keys}
            if agg["total"]:
                by_unit.append(_finish({"code": own.code, "name": own.name, "own": True, **agg}))
        by_unit.sort(key=lambda r: (-r["closure_rate"], r["overdue_rate"], r["code"]))

    by_domain = [_finish(r) for r in scoped.values("domain").annotate(**counts).order_by("-total", "domain")]
    by_source = [
        _finish(r)
        for r in scoped.values("source_id", "source__name").annotate(**counts).order_by("-total", "source__name")
    ]

    dispositions = _in_period(Disposition.objects.filter(alert__in=alerts_visible_to(user)), period, prefix="alert__")
    outcomes = list(
        dispositions.values("outcome")
        .annotate(n=Count("id"), recovered=Sum("amount_recovered"), filed=Count("id", filter=Q(case_filed=True)))
        .order_by("outcome")
    )
    recovered = sum((r["recovered"] or Decimal("0") for r in outcomes), Decimal("0"))
    cases_filed = sum(r["filed"] for r in outcomes)

    # Trend: raised and closed per bucket (weeks for short periods, months otherwise).
    lo, hi = period.bounds()
    span = ((hi or timezone.now()) - (lo or (hi or timezone.now()) - timedelta(days=400))).days
    trunc = TruncWeek if span <= 92 else TruncMonth
    raised = {
        r["b"]: r["n"] for r in scoped.annotate(b=trunc("created_at")).values("b").annotate(n=Count("id")).order_by()
    }
    closed = {
        r["b"]: r["n"]
        for r in scoped.filter(closed_at__isnull=False)
        .annotate(b=trunc("closed_at"))
        .values("b")
        .annotate(n=Count("id"))
        .order_by()
    }
    buckets = sorted(set(raised) | set(closed))
    trend = [
        {
            "bucket": b,
            "raised": raised.get(b, 0),
            "closed": closed.get(b, 0),
            "unit": "week" if trunc is TruncWeek else "month",
        }
        for b in buckets
    ]

    return {
        "totals": totals,
        "by_status": by_status,
        "by_unit": by_unit,
        "by_domain": by_domain,
        "by_source": by_source,
        "outcomes": outcomes,
        "recovered": recovered,
        "cases_filed": cases_filed,
        "trend": trend,
        "stage_days": average_days_per_stage(user, period),
        "people": people_for(user, period),
    }


def people_for(user: User, period: Period) -> dict[str, Any]:
    """People dealt with (per form, filed, detained, transferred) and money recovered and
    confiscated, for the alerts raised in the period (`cases.people`)."""
    return people_counts(_in_period(alerts_visible_to(user), period))


def average_days_per_stage(user: User, period: Period) -> dict[str, float]:
    """Average days an alert spent in each stage it left, from the timeline, in one query.

    The time in a stage is a stage change's time minus the previous stage change's (or the
    alert's creation when there is none).
    """
    entries = TimelineEntry.objects.filter(
        alert__in=_in_period(alerts_visible_to(user), period), kind=TimelineEntry.Kind.TRANSITION
    )
    previous = (
        TimelineEntry.objects.filter(
            alert_id=OuterRef("alert_id"), kind=TimelineEntry.Kind.TRANSITION, at__lt=OuterRef("at")
        )
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    spent = ExpressionWrapper(
        F("at") - Coalesce(Subquery(previous), F("alert__created_at")), output_field=DurationField()
    )
    rows = entries.values("from_status").annotate(avg=Avg(spent)).order_by()
    result: dict[str, float] = {}
    for row in rows:
        avg = row["avg"]
        if avg is not None and row["from_status"]:
            seconds = avg.total_seconds() if isinstance(avg, timedelta) else float(avg) / 1e6
            result[row["from_status"]] = round(seconds / 86400, 2)
    return result
