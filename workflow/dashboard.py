"""Leadership dashboard figures for a user's scope and a period.

Every figure but one is read from the rollups (`workflow.rollups`, kept current by intake and
the transitions): a handful of grouped queries over at most a few rows per unit and day,
whatever the number of alerts or timeline entries. Only "overdue now" is counted live, from the
index of open alerts by deadline. Periods count alerts by the day they were raised.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert, SourceIndicator, SourceSystem
from alerts.selectors import stats_overview
from alerts.states import Status
from cases.people import FORMS
from workflow import rollups
from workflow.models import AlertRollup

Dim = AlertRollup.Dim
FLAGS = ("total", "closed", "dismissed", "overdue", "with_conclusion", "substantiated")


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None  # inclusive

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        lo = datetime.combine(self.start, time.min, tz) if self.start else None
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tz) if self.end else None
        return lo, hi


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal("0")


def _in_period(qs: QuerySet[Alert], period: Period, prefix: str = "") -> QuerySet[Alert]:
    lo, hi = period.bounds()
    if lo:
        qs = qs.filter(**{f"{prefix}created_at__gte": lo})
    if hi:
        qs = qs.filter(**{f"{prefix}created_at__lt": hi})
    return qs


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    for k in FLAGS:
        row.setdefault(k, 0)
    total, closed, overdue = row["total"], row["closed"], row["overdue"]
    row["open"] = total - closed
    # 办结率 counts alerts closed after handling; dismissals are 排除率, shown apart.
    row["closure_rate"] = rate(closed - row.get("dismissed", 0), total)
    row["dismissal_rate"] = rate(row.get("dismissed", 0), total)
    row["overdue_rate"] = rate(overdue, total)
    row["substantiation_rate"] = rate(row["substantiated"], row["with_conclusion"])
    return row


def _flags(r: dict[str, Any]) -> dict[str, int]:
    return {"total": r["n"] or 0, "closed": r["closed"] or 0, "with_conclusion": r["concluded"] or 0,
            "substantiated": r["substantiated"] or 0}


_SUMS = {"n": Sum("n"), "closed": Sum("closed"), "concluded": Sum("concluded"),
         "substantiated": Sum("substantiated")}


class Scope:
    """The user's units (a few dozen at most) and the rollup rows of a period inside them."""

    def __init__(self, user: User, period: Period) -> None:
        self.user, self.period = user, period
        self.units = {u.pk: u for u in units_visible_to(user).only("id", "code", "name", "path", "parent_id")}

    def rows(self, dim: str, *, by_day: bool = False) -> QuerySet[AlertRollup]:
        """The rows of `dim` in the period: whole months from the month-grain rows, the days of
        the partial months at either end from the day rows (`by_day`: day rows only, for a trend
        by week)."""
        qs = AlertRollup.objects.filter(org_unit_id__in=list(self.units)).order_by()
        start, end = self.period.start, self.period.end
        days = Q(dim=dim)
        if start:
            days &= Q(day__gte=start)
        if end:
            days &= Q(day__lte=end)
        if by_day:
            return qs.filter(days)
        # Whole months inside the period: [first, stop), each bound the 1st of a month or open.
        first = None if start is None else start if start.day == 1 else _next_month(start)
        stop = None if end is None else (end + timedelta(days=1)).replace(day=1)
        if first is not None and stop is not None and first >= stop:
            return qs.filter(days)
        months = Q(dim=dim + rollups.MONTHLY)
        edges = []
        if first is not None:
            months &= Q(day__gte=first)
            edges.append(Q(day__lt=first))
        if stop is not None:
            months &= Q(day__lt=stop)
            edges.append(Q(day__gte=stop))
        for edge in edges:
            months |= days & edge
        return qs.filter(months)

    def overdue(self) -> list[dict[str, Any]]:
        """Counted live: open alerts of the period past their deadline, by unit, domain, source."""
        qs = _in_period(Alert.objects.filter(org_unit_id__in=list(self.units)), self.period)
        qs = qs.exclude(status=Status.CLOSED).filter(due_at__lte=timezone.now())
        # count(*), not count(id): every column read is in the covering index (no table visits).
        return list(qs.values("org_unit_id", "domain", "source_id").annotate(n=Count("*")).order_by())


def _by_unit(scope: Scope, per_unit: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    """The user's unit and its direct children, each with everything below it."""
    user = scope.user
    if not user.is_authenticated or user.org_unit_id is None or user.org_unit_id not in scope.units:
        return []
    own: OrgUnit = scope.units[user.org_unit_id]
    children = sorted((u for u in scope.units.values() if u.parent_id == own.pk), key=lambda u: u.code)
    heads = children or [own]
    out: list[dict[str, Any]] = []

    def summed(pred: Any) -> dict[str, int]:
        agg = dict.fromkeys(FLAGS, 0)
        for unit_id, flags in per_unit.items():
            if pred(scope.units[unit_id].path):
                for k in FLAGS:
                    agg[k] += flags.get(k, 0)
        return agg

    for unit in heads:
        out.append(_finish({"code": unit.code, "name": unit.name,
                            **summed(lambda path, unit=unit: path.startswith(unit.path))}))
    if children:
        # Alerts raised for the user's own unit itself, not one below it.
        agg = summed(lambda path: path == own.path)
        if agg["total"]:
            out.append(_finish({"code": own.code, "name": own.name, "own": True, **agg}))
    out.sort(key=lambda r: (-r["closure_rate"], r["overdue_rate"], r["code"]))
    return out


def _bucket(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)


def dashboard_for(user: User, period: Period) -> dict[str, Any]:
    scope = Scope(user, period)
    overdue = scope.overdue()

    # One grouped read of the domain rows gives both the units and the domains.
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLAGS, 0))
    by_domain_rows: dict[str, dict[str, Any]] = {}
    for r in scope.rows(Dim.DOMAIN).values("org_unit_id", "key").annotate(**_SUMS):
        flags = _flags(r)
        unit = per_unit[r["org_unit_id"]]
        dom = by_domain_rows.setdefault(r["key"], {"domain": r["key"], **dict.fromkeys(FLAGS, 0)})
        for k, v in flags.items():
            unit[k] += v
            dom[k] += v
    by_source_rows: dict[int, dict[str, Any]] = {}
    for r in scope.rows(Dim.SOURCE).values("key").annotate(**_SUMS):
        by_source_rows[int(r["key"])] = {"source_id": int(r["key"]), **_flags(r), "overdue": 0}
    for r in overdue:
        per_unit[r["org_unit_id"]]["overdue"] += r["n"]
        by_domain_rows.setdefault(r["domain"], {"domain": r["domain"], **dict.fromkeys(FLAGS, 0)})
        by_domain_rows[r["domain"]]["overdue"] += r["n"]
        by_source_rows.setdefault(r["source_id"], {"source_id": r["source_id"], **dict.fromkeys(FLAGS, 0)})
        by_source_rows[r["source_id"]]["overdue"] += r["n"]

    # 排除: alerts closed by a dismissal, counted apart from closures.
    for r in scope.rows(Dim.DISMISSED).values("org_unit_id").annotate(n=Sum("n")):
        per_unit[r["org_unit_id"]]["dismissed"] += r["n"] or 0
    totals = _finish({k: sum(f[k] for f in per_unit.values()) for k in FLAGS})
    by_domain = sorted((_finish(r) for r in by_domain_rows.values() if r["total"]),
                       key=lambda r: (-r["total"], r["domain"]))
    names = dict(SourceSystem.objects.filter(pk__in=list(by_source_rows)).values_list("id", "name"))
    by_source = sorted(
        (_finish({**r, "source__name": names.get(r["source_id"], "")}) for r in by_source_rows.values()
         if r["total"]),
        key=lambda r: (-r["total"], r["source__name"]),
    )

    outcomes = [
        {"outcome": r["key"], "n": r["n"] or 0, "recovered": r["amount"] or Decimal("0"), "filed": r["filed"] or 0}
        for r in scope.rows(Dim.OUTCOME).values("key").annotate(n=Sum("n"), amount=Sum("amount"),
                                                                 filed=Sum("filed")).order_by("key")
        if r["n"]
    ]
    recovered = sum((r["recovered"] for r in outcomes), Decimal("0"))
    cases_filed = sum(r["filed"] for r in outcomes)

    # Trend: raised and closed per bucket (weeks for short periods, months otherwise).
    lo, hi = period.bounds()
    span = ((hi or timezone.now()) - (lo or (hi or timezone.now()) - timedelta(days=400))).days
    weekly = span <= 92
    # One grouped read of the stage rows gives the stage counts and the "raised" trend.
    raised: dict[date, int] = defaultdict(int)
    by_status = {s: 0 for s in Status.values}
    for r in scope.rows(Dim.STATUS, by_day=weekly).values("day", "key").annotate(n=Sum("n")):
        raised[_bucket(r["day"], weekly)] += r["n"] or 0
        if r["key"] in by_status:
            by_status[r["key"]] += r["n"] or 0
    closed: dict[date, int] = defaultdict(int)
    closed_dim = Dim.CLOSED_DAY if weekly else Dim.CLOSED_MONTH
    for r in scope.rows(closed_dim).values("key").annotate(n=Sum("n")):
        on = date.fromisoformat(r["key"] if weekly else r["key"] + "-01")
        closed[_bucket(on, weekly)] += r["n"] or 0
    trend = [
        {"bucket": b, "raised": raised.get(b, 0), "closed": closed.get(b, 0), "unit": "week" if weekly else "month"}
        for b in sorted(b for b in set(raised) | set(closed) if raised.get(b) or closed.get(b))
    ]

    return {
        "totals": totals,
        "by_status": by_status,
        "by_unit": _by_unit(scope, per_unit),
        "by_domain": by_domain,
        "by_source": by_source,
        "outcomes": outcomes,
        "recovered": recovered,
        "cases_filed": cases_filed,
        "trend": trend,
        "stage_days": _stage_days(scope),
        "people": _people(scope),
        **indicator_breakdown(user, period, scope=scope),
    }


def overview(user: User) -> dict[str, Any]:
    """The API's stats/overview: the counts by unit and stage of every alert the user sees, with
    dismissals, the people and money figures and the indicator grouping (all time) from the rollups."""
    scope = Scope(user, Period(None, None))
    dismissed = {r["org_unit_id"]: r["n"] or 0
                 for r in scope.rows(Dim.DISMISSED).values("org_unit_id").annotate(n=Sum("n"))}
    owned = [(r["org_unit_id"], r["key"], r["n"] or 0)
             for r in scope.rows(Dim.STATUS).values("org_unit_id", "key").annotate(n=Sum("n")) if r["n"]]
    return {**stats_overview(user, dismissed_by_unit=dismissed, owned_counts=owned), **_people(scope),
            **indicator_breakdown(user, scope.period, scope=scope)}


def _indicator_figures(row: dict[str, Any]) -> dict[str, Any]:
    # 查实率 as the warehouse's card gives it: substantiated over concluded, none before a conclusion.
    concluded = row["concluded"]
    row["substantiation_rate"] = rate(row["substantiated"], concluded) if concluded else None
    return row


def indicator_breakdown(user: User, period: Period, *, scope: Scope | None = None) -> dict[str, Any]:
    """Business systems' embedded indicators for the user's scope and the period, per module
    (`by_indicator_module`) and per indicator (`by_indicator`): warnings raised, closed,
    concluded, substantiated and 查实率, counted the way the warehouse's indicator card counts.

    Read from the rollups' INDICATOR rows (one grouped read over the scope's units and days),
    never from the alerts; a rule the warehouse does not list as an indicator is left out. The
    dashboard and the API's stats both use it.
    """
    scope = scope or Scope(user, period)
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for r in scope.rows(Dim.INDICATOR).values("key").annotate(**_SUMS):
        parsed = rollups.parse_indicator_key(r["key"])
        if parsed and r["n"]:
            counts[parsed] = {"warnings": r["n"], "closed": r["closed"] or 0, "concluded": r["concluded"] or 0,
                              "substantiated": r["substantiated"] or 0}
    indicators = (
        SourceIndicator.objects.filter(source_id__in={s for s, _code in counts}, source__kind="business")
        .select_related("source").order_by()
    )
    by_indicator: list[dict[str, Any]] = []
    for ind in indicators:
        c = counts.get((ind.source_id, ind.code))
        if c:
            by_indicator.append(_indicator_figures({
                "indicator_id": ind.pk, "source_id": ind.source_id, "source_name": ind.source.name,
                "code": ind.code, "name": ind.name, "module": ind.module, **c}))
    by_indicator.sort(key=lambda r: (-r["warnings"], r["module"], r["source_name"], r["code"]))
    modules: dict[str, dict[str, Any]] = {}
    for r in by_indicator:
        g = modules.setdefault(r["module"], {"module": r["module"], "indicators": 0, "warnings": 0, "closed": 0,
                                             "concluded": 0, "substantiated": 0})
        g["indicators"] += 1
        for k in ("warnings", "closed", "concluded", "substantiated"):
            g[k] += r[k]
    by_module = sorted((_indicator_figures(g) for g in modules.values()),
                       key=lambda g: (-g["warnings"], g["module"]))
    return {"by_indicator_module": by_module, "by_indicator": by_indicator}


def people_for(user: User, period: Period) -> dict[str, Any]:
    """People dealt with (per form, filed, detained, transferred) and money recovered and
    confiscated, by the latest disposition of each alert raised in the period (`cases.people`
    has the drill-down behind each figure), from the rollups."""
    return _people(Scope(user, period))


def _people(scope: Scope) -> dict[str, Any]:
    got = {r["key"]: r for r in scope.rows(Dim.PEOPLE).values("key").annotate(n=Sum("n"), amount=Sum("amount"))}

    def n(key: str) -> int:
        return int(got.get(key, {}).get("n") or 0)

    def money(key: str) -> Decimal:
        return got.get(key, {}).get("amount") or Decimal("0")

    return {
        "people_total": n("total"),
        "people_by_form": {f: n(f) for f in FORMS},
        "people_case_filed": n("case_filed"),
        "people_detained": n("detained"),
        "people_transferred": n("transferred"),
        "amount_recovered": money("recovered"),
        "amount_confiscated": money("confiscated"),
    }


def _stage_days(scope: Scope) -> dict[str, float]:
    """Average days an alert spent in each stage it left (stored when it left), from the rollups."""
    result: dict[str, float] = {}
    for r in scope.rows(Dim.STAGE).values("key").annotate(n=Sum("n"), seconds=Sum("seconds")):
        if r["n"] and r["key"]:
            result[r["key"]] = round(r["seconds"] / r["n"] / 86400, 2)
    return result


def average_days_per_stage(user: User, period: Period) -> dict[str, float]:
    return _stage_days(Scope(user, period))
