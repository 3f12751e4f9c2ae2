"""Unit assessment (考核): per period and unit, how each unit below handled its alerts, a score
from the admin's weights and a rank among siblings. Every figure is a set of alerts (or orders,
or re-checks), so each count drills down to exactly the rows behind it (`figure_rows`).

The score (docs/assessment.md): score = 100 × Σ wᵢ·rᵢ / Σ wᵢ, where each rᵢ is a rate in [0, 1]
(on-time dispatch, on-time verification, closure, never overdue, substantiation, on-time
rectification replies, no recurrence, re-checks confirmed) and a rate with nothing to measure
counts as 1 (nothing went wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import OPEN_STATUSES, ActionKind, Conclusion, Status
from assessment.models import DEFAULT_WEIGHTS, AssessmentWeight, RecheckItem
from assessment.periods import Period
from cases.models import ResultAction, TimelineEntry
from workflow.calendar import current_calendar, working_days_between
from workflow.models import EscalationStep

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]
STAGES = [Status.WARNING, Status.ASSIGNED, Status.VERIFYING, Status.DISPOSING, Status.APPLYING, Status.EVALUATING]


def _overdue_in(*stages: str) -> Exists:
    return Exists(EscalationStep.objects.filter(alert=OuterRef("pk"), step__gte=1, stage__in=stages))


def _did(action: str, period: Period) -> Exists:
    return Exists(TimelineEntry.objects.filter(
        alert=OuterRef("pk"), kind=TimelineEntry.Kind.TRANSITION, action=action,
        at__gte=period.start_at, at__lt=period.end_at,
    ))


# Each figure: the alerts (of one unit's subtree, already scoped) it counts.
FIGURES: dict[str, Callable[[QuerySet[Alert], Period], QuerySet[Any]]] = {
    "received": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at),
    "dispatched": lambda qs, p: qs.filter(_did("assign", p)),
    "dispatched_on_time": lambda qs, p: qs.filter(_did("assign", p)).exclude(_overdue_in(Status.WARNING)),
    "verified": lambda qs, p: qs.filter(_did("submit_verification", p)),
    "verified_on_time": lambda qs, p: qs.filter(_did("submit_verification", p)).exclude(
        _overdue_in(Status.ASSIGNED, Status.VERIFYING)),
    "substantiated": lambda qs, p: qs.filter(_did("submit_verification", p), conclusion__in=SUBSTANTIATED),
    "closed": lambda qs, p: qs.filter(status=Status.CLOSED, closed_at__gte=p.start_at, closed_at__lt=p.end_at),
    "overdue_now": lambda qs, p: qs.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now()),
    "overdue_ever": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at).filter(
        _overdue_in(*STAGES)),
    "recurrences": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at,
                                           recurrence_of__isnull=False),
}


def _orders(qs: QuerySet[Alert], p: Period) -> QuerySet[ResultAction]:
    return ResultAction.objects.filter(alert__in=qs.values("pk"), kind=ActionKind.RECTIFICATION_ORDER,
                                       due_date__gte=p.start, due_date__lt=p.end)


def _orders_on_time(qs: QuerySet[Alert], p: Period) -> QuerySet[ResultAction]:
    # A reply recorded by the end of its due day (Shanghai time) is on time.
    return [o for o in _orders(qs, p).exclude(feedback_at=None)
            if timezone.localtime(o.feedback_at).date() <= o.due_date]  # type: ignore[return-value]


def _rechecked(unit: OrgUnit, p: Period) -> QuerySet[RecheckItem]:
    return RecheckItem.objects.filter(
        handled_by_unit__path__startswith=unit.path, decided_at__gte=p.start_at, decided_at__lt=p.end_at,
    )


@dataclass
class UnitRow:
    unit: OrgUnit
    figures: dict[str, int] = field(default_factory=dict)
    rates: dict[str, Decimal] = field(default_factory=dict)
    avg_days: dict[str, Decimal | None] = field(default_factory=dict)
    score: Decimal = Decimal("0")
    rank: int = 0


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal("1")


def _unit_alerts(user: User, unit: OrgUnit) -> QuerySet[Alert]:
    return alerts_visible_to(user).filter(org_unit__path__startswith=unit.path)


def _stage_days(qs: QuerySet[Alert], p: Period) -> dict[str, Decimal | None]:
    """Average working days spent in each stage, over stage exits in the period."""
    entries = (
        TimelineEntry.objects.filter(alert__in=qs.values("pk")).exclude(to_status="")
        .filter(at__lt=p.end_at).order_by("alert_id", "at", "id").values_list("alert_id", "at", "to_status")
    )
    cal, spans = current_calendar(), {s: [] for s in STAGES}
    # Every alert starts in 预警 when it is raised.
    last = {pk: (created, Status.WARNING) for pk, created in qs.values_list("pk", "created_at")}
    for alert_id, at, to_status in entries:
        previous = last.get(alert_id)
        if previous is not None and previous[1] in spans and at >= p.start_at:
            spans[previous[1]].append(working_days_between(cal, previous[0], at))
        last[alert_id] = (at, to_status)
    return {s: (Decimal(sum(v)) / len(v)).quantize(Decimal("0.1")) if v else None for s, v in spans.items()}


def unit_row(user: User, unit: OrgUnit, period: Period) -> UnitRow:
    qs = _unit_alerts(user, unit)
    figures = {name: build(qs, period).count() for name, build in FIGURES.items()}
    figures["orders_due"] = _orders(qs, period).count()
    figures["orders_on_time"] = len(_orders_on_time(qs, period))
    rechecked = _rechecked(unit, period)
    figures["rechecked"] = rechecked.exclude(outcome=RecheckItem.Outcome.PENDING).count()
    figures["recheck_failures"] = rechecked.filter(outcome=RecheckItem.Outcome.PROBLEM_FOUND).count()
    f = figures
    rates = {
        "dispatch_on_time": _rate(f["dispatched_on_time"], f["dispatched"]),
        "verify_on_time": _rate(f["verified_on_time"], f["verified"]),
        "closure": min(Decimal("1"), _rate(f["closed"], f["received"])),
        "never_overdue": Decimal("1") - _rate(f["overdue_ever"], f["received"]) if f["received"] else Decimal("1"),
        "substantiation": _rate(f["substantiated"], f["verified"]),
        "orders_on_time": _rate(f["orders_on_time"], f["orders_due"]),
        "no_recurrence": Decimal("1") - _rate(f["recurrences"], f["received"]) if f["received"] else Decimal("1"),
        "recheck_passed": Decimal("1") - _rate(f["recheck_failures"], f["rechecked"]) if f["rechecked"]
        else Decimal("1"),
    }
    return UnitRow(unit=unit, figures=figures, rates=rates, avg_days=_stage_days(qs, period))


def weights() -> dict[str, Decimal]:
    found = dict(AssessmentWeight.objects.values_list("metric", "weight"))
    return {m: found.get(m, DEFAULT_WEIGHTS[m]) for m in AssessmentWeight.Metric.values}


def score(rates: dict[str, Decimal], w: dict[str, Decimal]) -> Decimal:
    total = sum(w.values())
    if not total:
        return Decimal("0")
    return (Decimal("100") * sum(w[m] * rates[m] for m in w) / total).quantize(Decimal("0.1"))


def assessment_rows(*, user: User, period: Period, unit: OrgUnit) -> list[UnitRow]:
    """One row per unit directly below `unit` (or `unit` itself when it has none), ranked by
    score among siblings; ties share a rank."""
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code")) or [unit]
    w = weights()
    rows = [unit_row(user, child, period) for child in children]
    for row in rows:
        row.score = score(row.rates, w)
    for row in rows:
        row.rank = 1 + sum(1 for other in rows if other.score > row.score)
    return sorted(rows, key=lambda r: (r.rank, r.unit.code))


def assessable_unit(user: User, code: str | None) -> OrgUnit | None:
    """The unit to assess: `code` if it is in the user's scope, else the user's own unit."""
    if not code:
        return user.org_unit
    return units_visible_to(user).filter(code=code).first()


def figure_rows(*, user: User, period: Period, unit: OrgUnit, figure: str) -> QuerySet[Alert]:
    """The alerts behind one figure of one unit (the drill-down)."""
    qs = _unit_alerts(user, unit)
    if figure in FIGURES:
        return FIGURES[figure](qs, period)
    if figure in ("orders_due", "orders_on_time"):
        return qs.filter(pk__in=_orders(qs, period).values("alert_id"))
    if figure in ("rechecked", "recheck_failures"):
        items = _rechecked(unit, period).exclude(outcome=RecheckItem.Outcome.PENDING)
        if figure == "recheck_failures":
            items = items.filter(outcome=RecheckItem.Outcome.PROBLEM_FOUND)
        return alerts_visible_to(user).filter(pk__in=items.values("alert_id"))
    return qs.none()
