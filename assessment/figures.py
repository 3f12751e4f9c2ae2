"""Unit assessment (考核): per period and unit, how each unit below handled its alerts, a score
from the admin's weights and a rank among siblings. Each figure drills down to the alerts (or
orders, or re-checks) behind it (`figure_rows`). What happened in the loop (dispatches, conclusions
submitted, closings, and whether each left its stage by the deadline) is counted as it happened,
from the rollups, so a period's figures do not change once it is over and cost the same whatever
the size of the history; an alert dispatched twice in a period counts twice and is listed once.

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

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import ActionKind, Conclusion, Status
from assessment.models import DEFAULT_WEIGHTS, AssessmentWeight, RecheckItem
from assessment.periods import Period
from cases.models import ResultAction, TimelineEntry
from workflow.models import AlertRollup
from workflow.rollups import CLOSED_EVENT, MONTHLY, SUBMITTED

Dim = AlertRollup.Dim

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]
STAGES = [Status.WARNING, Status.ASSIGNED, Status.VERIFYING, Status.DISPOSING, Status.APPLYING, Status.EVALUATING]


# A stage left after the deadline it had then (stored on the transition entry).
LATE = Q(stage_due_at__isnull=False, at__gt=F("stage_due_at"))


def _did(period: Period, *conditions: Q, **match: Any) -> Exists:
    """The alert changed stage in the period, by a transition matching `conditions` and `match`."""
    return Exists(TimelineEntry.objects.filter(
        *conditions, alert=OuterRef("pk"), kind=TimelineEntry.Kind.TRANSITION,
        at__gte=period.start_at, at__lt=period.end_at, **match,
    ))


# Each figure: the alerts (of one unit's subtree, already scoped) it counts.
FIGURES: dict[str, Callable[[QuerySet[Alert], Period], QuerySet[Any]]] = {
    "received": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at),
    "dispatched": lambda qs, p: qs.filter(_did(p, action="assign")),
    "dispatched_on_time": lambda qs, p: qs.filter(_did(p, ~LATE, action="assign")),
    "verified": lambda qs, p: qs.filter(_did(p, action=SUBMITTED)),
    "verified_on_time": lambda qs, p: qs.filter(_did(p, ~LATE, action=SUBMITTED)),
    "substantiated": lambda qs, p: qs.filter(_did(p, action=SUBMITTED, data__conclusion__in=SUBSTANTIATED)),
    "closed": lambda qs, p: qs.filter(_did(p, to_status=Status.CLOSED)),
    # Open alerts have a deadline, closed and merged ones none: as the dashboard counts it.
    "overdue_now": lambda qs, p: qs.exclude(status=Status.CLOSED).filter(due_at__lt=timezone.now()),
    "overdue_ever": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at, ever_overdue=True),
    "recurrences": lambda qs, p: qs.filter(created_at__gte=p.start_at, created_at__lt=p.end_at,
                                           recurrence_of__isnull=False),
}


def _orders(qs: QuerySet[Alert], p: Period) -> QuerySet[ResultAction]:
    return ResultAction.objects.filter(alert__in=qs.values("pk"), kind=ActionKind.RECTIFICATION_ORDER,
                                       due_date__gte=p.start, due_date__lt=p.end)


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


def _children_of(unit: OrgUnit) -> tuple[list[OrgUnit], dict[int, list[OrgUnit]]]:
    """The units assessed side by side (those directly below `unit`, or `unit` itself when it
    has none) and, for every unit in their subtrees, the assessed units it counts for."""
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code")) or [unit]
    counts_for: dict[int, list[OrgUnit]] = {}
    for pk, path in OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", "path"):
        owners = [c for c in children if path.startswith(c.path)]
        if owners:
            counts_for[pk] = owners
    return children, counts_for


def _add(target: dict[int, dict[str, Any]], counts_for: dict[int, list[OrgUnit]], unit_id: int,
         values: dict[str, Any]) -> None:
    for owner in counts_for.get(unit_id, ()):
        row = target.setdefault(owner.pk, {})
        for key, value in values.items():
            row[key] = row.get(key, 0) + (value or 0)


def _rollup_rows(dim: str, p: Period, units: list[int]) -> QuerySet[AlertRollup]:
    """The rows of `dim` in the period: month rows when it is whole months (as periods are)."""
    whole_months = p.start.day == 1 and p.end.day == 1
    return AlertRollup.objects.filter(dim=dim + (MONTHLY if whole_months else ""), org_unit_id__in=units,
                                      day__gte=p.start, day__lt=p.end).order_by()


def _alert_figures(qs: QuerySet[Alert], p: Period, units: list[int]) -> list[tuple[int, dict[str, int]]]:
    """Every alert figure of FIGURES per owning unit: what happened in the period from the rollups
    (a few hundred month rows), and the two figures about alerts as they are now ("overdue now";
    "ever overdue", which a reminder can still change) counted live."""
    out: list[tuple[int, dict[str, int]]] = []
    for r in _rollup_rows(Dim.STATUS.value, p, units).values("org_unit_id").annotate(n=Sum("n")):
        out.append((r["org_unit_id"], {"received": r["n"]}))
    for r in _rollup_rows(Dim.RECURRENCE.value, p, units).values("org_unit_id").annotate(n=Sum("n")):
        out.append((r["org_unit_id"], {"recurrences": r["n"]}))
    events = (_rollup_rows(Dim.EVENT.value, p, units).filter(key__in=["assign", SUBMITTED, CLOSED_EVENT])
              .values("org_unit_id", "key").annotate(n=Sum("n"), late=Sum("late"), substantiated=Sum("substantiated")))
    for r in events:
        n, on_time = r["n"], r["n"] - r["late"]
        out.append((r["org_unit_id"], {
            "assign": {"dispatched": n, "dispatched_on_time": on_time},
            SUBMITTED: {"verified": n, "verified_on_time": on_time, "substantiated": r["substantiated"]},
            CLOSED_EVENT: {"closed": n},
        }[r["key"]]))
    # count(*): every column read is in the covering indexes of open and of newest alerts.
    for figure in ("overdue_now", "overdue_ever"):
        for r in FIGURES[figure](qs, p).order_by().values("org_unit_id").annotate(n=Count("*")):
            out.append((r["org_unit_id"], {figure: r["n"]}))
    return out


def _stage_days(p: Period, units: list[int], counts_for: dict[int, list[OrgUnit]]
                ) -> dict[int, dict[str, Decimal | None]]:
    """Average working days spent in each stage, over the stages left in the period, per assessed
    unit: a stage is left by a transition, whose entry stores the working time spent in it (what
    `working_time_in_days` counts); comments and findings do not end a stage. Read from the
    rollups by the day left (month rows when the period is whole months, as periods are), so the
    cost does not grow with the timeline."""
    found = (_rollup_rows(Dim.STAGE_EXIT.value, p, units).filter(key__in=STAGES)
             .values("org_unit_id", "key").annotate(n=Sum("n"), days=Sum("working_days")))
    sums: dict[int, dict[str, Any]] = {}
    for r in found:
        _add(sums, counts_for, r["org_unit_id"], {f"{r['key']}:n": r["n"], f"{r['key']}:d": r["days"]})
    return {owner: {s: (Decimal(row.get(f"{s}:d", 0)) / row[f"{s}:n"]).quantize(Decimal("0.1"))
                    if row.get(f"{s}:n") else None for s in STAGES} for owner, row in sums.items()}


def _rates(f: dict[str, int]) -> dict[str, Decimal]:
    return {
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


def unit_rows(user: User, unit: OrgUnit, period: Period) -> list[UnitRow]:
    """The figures of every unit assessed under `unit`, each from one grouped query over all of
    them (a constant number of queries, whatever the number of units or alerts). The units'
    alerts are all in the reader's scope (`assessable_unit`), so what the rollups count by owning
    unit is what the reader may see."""
    children, counts_for = _children_of(unit)
    units = list(counts_for)
    # The assessed units are in the reader's scope (`assessable_unit`): all their alerts are the
    # reader's to see, so the scope rule adds nothing here (and would keep the indexes from answering).
    qs = Alert.objects.filter(org_unit_id__in=units)
    figures: dict[int, dict[str, Any]] = {}
    for unit_id, values in _alert_figures(qs, period, units):
        _add(figures, counts_for, unit_id, values)
    orders = _rollup_rows(Dim.ORDERS.value, p=period, units=units).values("org_unit_id").annotate(
        n=Sum("n"), late=Sum("late"))
    for r in orders:
        _add(figures, counts_for, r["org_unit_id"], {"orders_due": r["n"], "orders_on_time": r["n"] - r["late"]})
    rechecks = (RecheckItem.objects.filter(handled_by_unit_id__in=list(counts_for),
                                           decided_at__gte=period.start_at, decided_at__lt=period.end_at)
                .order_by().values("handled_by_unit_id").annotate(
                    rechecked=Count("pk", filter=~Q(outcome=RecheckItem.Outcome.PENDING)),
                    recheck_failures=Count("pk", filter=Q(outcome=RecheckItem.Outcome.PROBLEM_FOUND))))
    for r in rechecks:
        _add(figures, counts_for, r.pop("handled_by_unit_id"), r)
    days = _stage_days(period, units, counts_for)
    names = [*FIGURES, "orders_due", "orders_on_time", "rechecked", "recheck_failures"]
    rows = []
    for child in children:
        f = {name: int(figures.get(child.pk, {}).get(name, 0)) for name in names}
        rows.append(UnitRow(unit=child, figures=f, rates=_rates(f),
                            avg_days=days.get(child.pk, dict.fromkeys(STAGES))))
    return rows


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
    w = weights()
    rows = unit_rows(user, unit, period)
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
