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

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import OPEN_STATUSES, ActionKind, Conclusion, Status
from assessment.models import DEFAULT_WEIGHTS, AssessmentWeight, RecheckItem
from assessment.periods import Period
from cases.models import ResultAction, TimelineEntry
from workflow.models import AlertRollup, EscalationStep
from workflow.rollups import MONTHLY

Dim = AlertRollup.Dim

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


def _in_period(field: str, p: Period) -> Q:
    return Q(**{f"{field}__gte": p.start_at, f"{field}__lt": p.end_at})


_ALERT_FIGURES_SQL = """
WITH did AS (
    SELECT t.alert_id, bool_or(t.action = 'assign') AS assigned,
           bool_or(t.action = 'submit_verification') AS verified
    FROM cases_timelineentry t
    WHERE t.kind = 'transition' AND t.action IN ('assign', 'submit_verification') AND t.at >= %s AND t.at < %s
    GROUP BY t.alert_id
),
late AS (
    SELECT s.alert_id, bool_or(s.stage = %s) AS warning, bool_or(s.stage = ANY(%s)) AS verification,
           bool_or(s.stage = ANY(%s)) AS ever
    FROM workflow_escalationstep s WHERE s.step >= 1 GROUP BY s.alert_id
)
SELECT a.org_unit_id,
       count(*) FILTER (WHERE r.received),
       count(*) FILTER (WHERE d.assigned),
       count(*) FILTER (WHERE d.assigned AND NOT coalesce(l.warning, false)),
       count(*) FILTER (WHERE d.verified),
       count(*) FILTER (WHERE d.verified AND NOT coalesce(l.verification, false)),
       count(*) FILTER (WHERE d.verified AND a.conclusion = ANY(%s)),
       count(*) FILTER (WHERE a.status = %s AND a.closed_at >= %s AND a.closed_at < %s),
       count(*) FILTER (WHERE a.status = ANY(%s) AND a.due_at < %s),
       count(*) FILTER (WHERE r.received AND coalesce(l.ever, false)),
       count(*) FILTER (WHERE r.received AND a.recurrence_of_id IS NOT NULL)
FROM ({scope}) a (id, org_unit_id, created_at, status, closed_at, due_at, conclusion, recurrence_of_id)
CROSS JOIN LATERAL (SELECT a.created_at >= %s AND a.created_at < %s AS received) r
LEFT JOIN did d ON d.alert_id = a.id
LEFT JOIN late l ON l.alert_id = a.id
GROUP BY a.org_unit_id
"""
ALERT_FIGURES = ["received", "dispatched", "dispatched_on_time", "verified", "verified_on_time", "substantiated",
                 "closed", "overdue_now", "overdue_ever", "recurrences"]


def _texts(values: Any) -> list[str]:
    return [str(v) for v in values]


def _alert_figures(qs: QuerySet[Alert], p: Period) -> list[tuple[int, dict[str, int]]]:
    """Every alert figure of FIGURES per owning unit in one grouped query: the "did it in the
    period" and "was ever overdue" sets are aggregated once and hash-joined, instead of an
    EXISTS per alert and figure."""
    if connection.vendor != "postgresql":
        return [(unit_id, {name: FIGURES[name](qs.filter(org_unit_id=unit_id), p).count() for name in ALERT_FIGURES})
                for unit_id in qs.order_by().values_list("org_unit_id", flat=True).distinct()]
    scope_sql, scope_params = qs.order_by().values(
        "id", "org_unit_id", "created_at", "status", "closed_at", "due_at", "conclusion", "recurrence_of_id",
    ).query.sql_with_params()
    params = [p.start_at, p.end_at, str(Status.WARNING), _texts([Status.ASSIGNED, Status.VERIFYING]),
              _texts(STAGES), _texts(SUBSTANTIATED), str(Status.CLOSED), p.start_at, p.end_at,
              _texts(OPEN_STATUSES), timezone.now(), *scope_params, p.start_at, p.end_at]
    with connection.cursor() as cur:
        cur.execute(_ALERT_FIGURES_SQL.format(scope=scope_sql), params)
        return [(r[0], dict(zip(ALERT_FIGURES, r[1:], strict=True))) for r in cur.fetchall()]


def _stage_days(p: Period, counts_for: dict[int, list[OrgUnit]]) -> dict[int, dict[str, Decimal | None]]:
    """Average working days spent in each stage, over the stages left in the period, per assessed
    unit: a stage is left by a transition, whose entry stores the working time spent in it (what
    `working_time_in_days` counts); comments and findings do not end a stage. Read from the
    rollups by the day left (month rows when the period is whole months, as periods are), so the
    cost does not grow with the timeline."""
    whole_months = p.start.day == 1 and p.end.day == 1
    dim = Dim.STAGE_EXIT.value + (MONTHLY if whole_months else "")
    found = (AlertRollup.objects.filter(dim=dim, org_unit_id__in=list(counts_for), day__gte=p.start, day__lt=p.end,
                                        key__in=STAGES)
             .order_by().values("org_unit_id", "key").annotate(n=Sum("n"), days=Sum("working_days")))
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
    them (a constant number of queries, whatever the number of units or alerts)."""
    children, counts_for = _children_of(unit)
    qs = alerts_visible_to(user).filter(org_unit_id__in=list(counts_for))
    figures: dict[int, dict[str, Any]] = {}
    for unit_id, values in _alert_figures(qs, period):
        _add(figures, counts_for, unit_id, values)
    local_day = TruncDate("feedback_at", tzinfo=timezone.get_current_timezone())
    orders = (ResultAction.objects.filter(alert__in=qs.values("pk"), kind=ActionKind.RECTIFICATION_ORDER,
                                          due_date__gte=period.start, due_date__lt=period.end)
              .order_by().values("alert__org_unit_id").annotate(
                  orders_due=Count("pk"),
                  orders_on_time=Count("pk", filter=Q(feedback_at__isnull=False, due_date__gte=local_day))))
    for r in orders:
        _add(figures, counts_for, r.pop("alert__org_unit_id"), r)
    rechecks = (RecheckItem.objects.filter(handled_by_unit_id__in=list(counts_for),
                                           decided_at__gte=period.start_at, decided_at__lt=period.end_at)
                .order_by().values("handled_by_unit_id").annotate(
                    rechecked=Count("pk", filter=~Q(outcome=RecheckItem.Outcome.PENDING)),
                    recheck_failures=Count("pk", filter=Q(outcome=RecheckItem.Outcome.PROBLEM_FOUND))))
    for r in rechecks:
        _add(figures, counts_for, r.pop("handled_by_unit_id"), r)
    days = _stage_days(period, counts_for)
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
