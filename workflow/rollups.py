"""The dashboard's counts, kept current as the loop moves (see `workflow.models.AlertRollup`).

An alert contributes to a few rollup rows through its current state (its stage, its domain and
source with closed / concluded / substantiated flags, the day it was closed); a change writes
the difference between its contribution after and before, in the transaction of the change.
Events that only add (a stage left after so long, a disposition) add their own rows. The people
dealt with and the money count the latest disposition of each alert only: a new disposition
writes its figures minus those of the one it replaces.

`expected_rows()` computes every row from the source tables; `recompute_rollups --check`
compares, `recompute_rollups` rebuilds. Writers take locks in one order (alert rows first,
then rollup rows sorted by key), so two transactions cannot deadlock on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from alerts.models import Alert, SourceSystem
from alerts.states import CONCLUDED_STATUSES, Conclusion, Status
from cases.models import Dismissal, Disposition, DispositionPerson, TimelineEntry
from cases.people import superseded
from workflow.calendar import TZ as CALENDAR_TZ
from workflow.calendar import WorkCalendar, current_calendar, working_time_in_days
from workflow.models import AlertRollup

Dim = AlertRollup.Dim
MEASURES = ("n", "closed", "concluded", "substantiated", "filed", "amount", "seconds", "working_days")
DECIMAL_MEASURES = frozenset({"amount", "working_days"})
SUBSTANTIATED = (Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED)

# (dim, org_unit_id, day raised, key) → {measure: value}
Key = tuple[str, int, date, str]
Rows = dict[Key, dict[str, Any]]


# Every row is also kept at month grain (dim + MONTHLY, day = the 1st): a year of a city is then
# about 12 rows per unit and key instead of 365, and the dashboard reads whole months from them
# and day rows only for the partial months at the edges of its period.
MONTHLY = "@m"


def with_months(rows: Mapping[Key, Mapping[str, Any]]) -> Rows:
    """`rows` plus their month-grain rows (summed per month)."""
    out: Rows = {k: dict(v) for k, v in rows.items()}
    for (dim, unit, day, key), measures in rows.items():
        if dim.endswith(MONTHLY):
            continue
        merge(out, {(dim + MONTHLY, unit, day.replace(day=1), key): dict(measures)})
    return out


def local_day(at: datetime) -> date:
    return timezone.localtime(at).date()


def indicator_key(source_id: int, rule_code: str) -> str:
    """The INDICATOR dimension's key: a rule is an indicator of one source system."""
    return f"{source_id}:{rule_code}"


def parse_indicator_key(key: str) -> tuple[int, str] | None:
    source, sep, code = key.partition(":")
    return (int(source), code) if sep and source.isdigit() else None


def contribution(alert: Alert) -> Rows:
    """The rows an alert counts in through its current state."""
    unit, day = alert.org_unit_id, local_day(alert.created_at)
    flags = {
        "n": 1,
        "closed": int(alert.status == Status.CLOSED),
        "concluded": int(bool(alert.conclusion)),
        "substantiated": int(alert.conclusion in SUBSTANTIATED),
    }
    rows: Rows = {
        (Dim.STATUS.value, unit, day, str(alert.status)): {"n": 1},
        (Dim.DOMAIN.value, unit, day, str(alert.domain)): dict(flags),
        (Dim.SOURCE.value, unit, day, str(alert.source_id)): dict(flags),
    }
    # 排除: closed by a dismissal (counted apart from 办结); one indexed lookup, closed alerts only.
    if alert.status == Status.CLOSED and alert.pk and Dismissal.objects.filter(alert_id=alert.pk).exists():
        rows[(Dim.DISMISSED.value, unit, day, "")] = {"n": 1}
    if alert.closed_at is not None:
        closed_on = local_day(alert.closed_at)
        rows[(Dim.CLOSED_DAY.value, unit, day, closed_on.isoformat())] = {"n": 1}
        rows[(Dim.CLOSED_MONTH.value, unit, day, closed_on.strftime("%Y-%m"))] = {"n": 1}
    # Only business systems' rules are indicators: a screening model's rule (its code) would add a
    # row per model, unit and day that no reader shows. The callers load the alert's source with
    # it (intake sets it, `alert_for_update` and the referral sweep join it), so no extra query.
    if alert.rule_code and alert.source.kind == SourceSystem.Kind.BUSINESS:
        # Per indicator, a conclusion counts as the warehouse's card counts it (查实率): only once
        # the alert is past verification, so a send-back to verifying takes it out again.
        concluded = bool(alert.conclusion) and alert.status in CONCLUDED_STATUSES
        rows[(Dim.INDICATOR.value, unit, day, indicator_key(alert.source_id, alert.rule_code))] = {
            "n": 1, "closed": flags["closed"], "concluded": int(concluded),
            "substantiated": int(concluded and alert.conclusion in SUBSTANTIATED),
        }
    return rows


def difference(after: Rows, before: Rows) -> Rows:
    out: Rows = {}
    for key in set(after) | set(before):
        a, b = after.get(key, {}), before.get(key, {})
        delta = {m: a.get(m, 0) - b.get(m, 0) for m in set(a) | set(b)}
        delta = {m: v for m, v in delta.items() if v}
        if delta:
            out[key] = delta
    return out


def merge(into: Rows, more: Rows) -> Rows:
    for key, measures in more.items():
        row = into.setdefault(key, {})
        for m, v in measures.items():
            row[m] = row.get(m, 0) + v
    return into


def stage_left(alert: Alert, *, stage: str, seconds: int, working_days: Decimal, left_at: datetime) -> Rows:
    """One stage left at `left_at` after `seconds` (and so many working days): counted by the day
    the alert was raised (the dashboard) and by the day the stage was left (the assessment)."""
    measures = {"n": 1, "seconds": seconds, "working_days": working_days}
    return {(Dim.STAGE.value, alert.org_unit_id, local_day(alert.created_at), stage): dict(measures),
            (Dim.STAGE_EXIT.value, alert.org_unit_id, local_day(left_at), stage): dict(measures)}


def disposition_recorded(alert: Alert, *, outcome: str, case_filed: bool, amount: Decimal) -> Rows:
    return {(Dim.OUTCOME.value, alert.org_unit_id, local_day(alert.created_at), outcome):
            {"n": 1, "filed": int(case_filed), "amount": amount}}


PEOPLE_FLAGS = ("case_filed", "detained", "transferred")
MONEY_KEYS = ("recovered", "confiscated")


def disposition_figures(alert: Alert, disposition: Disposition | None) -> Rows:
    """The people and money rows of `disposition` (the alert's latest), or nothing for None."""
    if disposition is None:
        return {}
    unit, day = alert.org_unit_id, local_day(alert.created_at)
    counts: dict[str, int] = defaultdict(int)
    for form, *flags in disposition.people.values_list("form", *PEOPLE_FLAGS):
        counts["total"] += 1
        counts[form] += 1
        for name, on in zip(PEOPLE_FLAGS, flags, strict=True):
            counts[name] += int(on)
    rows: Rows = {(Dim.PEOPLE.value, unit, day, key): {"n": n} for key, n in counts.items() if n}
    for key, amount in (("recovered", disposition.amount_recovered), ("confiscated", disposition.amount_confiscated)):
        if amount:
            rows[(Dim.PEOPLE.value, unit, day, key)] = {"amount": Decimal(amount)}
    return rows


def disposition_replaced(alert: Alert, disposition: Disposition, replaced: Disposition | None) -> Rows:
    """A new disposition of `alert`: its outcome counts, and its people and money replace those
    of the disposition it supersedes (written with it, in its transaction)."""
    return merge(
        disposition_recorded(alert, outcome=disposition.outcome, case_filed=disposition.case_filed,
                             amount=disposition.amount_recovered),
        difference(disposition_figures(alert, disposition), disposition_figures(alert, replaced)),
    )


def latest_disposition(alert: Alert) -> Disposition | None:
    return Disposition.objects.filter(alert_id=alert.pk).order_by("-created_at", "-id").first()


def apply(rows: Mapping[Key, Mapping[str, Any]]) -> None:
    """Add `rows` to the rollup table: one upsert statement, in key order (no deadlocks)."""
    if not rows:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rollups are written inside the transaction of the change they count")
    rows = with_months(rows)
    keys = sorted(rows)
    table = AlertRollup._meta.db_table
    cols = ["dim", "org_unit_id", "day", "key", *MEASURES]
    values = [
        [k[0], k[1], k[2], k[3],
         *(Decimal(rows[k].get(m, 0)) if m in DECIMAL_MEASURES else int(rows[k].get(m, 0)) for m in MEASURES)]
        for k in keys
    ]
    update = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in MEASURES)
    if connection.vendor == "postgresql":
        types = ["text", "bigint", "date", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "numeric",
                 "bigint", "numeric"]
        source = "SELECT * FROM unnest(" + ", ".join(f"%s::{t}[]" for t in types) + ")"
        params: list[Any] = [list(col) for col in zip(*values, strict=True)]
    else:
        source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(values))
        params = [str(v) if isinstance(v, Decimal) else v for row in values for v in row]
    sql = (f"INSERT INTO {table} ({', '.join(cols)}) {source}"
           f" ON CONFLICT (dim, org_unit_id, day, key) DO UPDATE SET {update}")
    with connection.cursor() as cur:
        cur.execute(sql, params)


# ----- recompute from the source rows -----


def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def expected_rows(apps: Any = None) -> Rows:
    """Every rollup row as the source tables say it should be (zero rows left out).

    `apps` is a migration's app registry (its historical models), or None for the current ones.
    """
    alert_model = apps.get_model("alerts", "Alert") if apps else Alert
    entry_model = apps.get_model("cases", "TimelineEntry") if apps else TimelineEntry
    disposition_model = apps.get_model("cases", "Disposition") if apps else Disposition
    dismissal_model = apps.get_model("cases", "Dismissal") if apps else Dismissal
    person_model = apps.get_model("cases", "DispositionPerson") if apps else DispositionPerson
    rows: Rows = defaultdict(dict)
    flags = {
        "n": Count("id"),
        "closed": Count("id", filter=Q(status=Status.CLOSED)),
        "concluded": Count("id", filter=~Q(conclusion="")),
        "substantiated": Count("id", filter=Q(conclusion__in=SUBSTANTIATED)),
    }
    alerts = alert_model.objects.annotate(d=_day("created_at")).order_by()
    for r in alerts.values("org_unit_id", "d", "status").annotate(n=Count("id")):
        rows[(Dim.STATUS.value, r["org_unit_id"], r["d"], r["status"])] = {"n": r["n"]}
    for dim, field in ((Dim.DOMAIN, "domain"), (Dim.SOURCE, "source_id")):
        for r in alerts.values("org_unit_id", "d", field).annotate(**flags):
            rows[(dim.value, r["org_unit_id"], r["d"], str(r[field]))] = {m: r[m] for m in flags}
    rollup_model = apps.get_model("workflow", "AlertRollup") if apps else AlertRollup
    if rollup_model._meta.get_field("key").max_length >= 100:
        # A migration that rebuilds before 0011 widened the key (to hold "source:rule") leaves the
        # indicator rows out; 0011 writes them.
        rows.update(indicator_rows(alert_model))
    closed = alerts.filter(closed_at__isnull=False).annotate(c=_day("closed_at"))
    for r in closed.values("org_unit_id", "d", "c").annotate(n=Count("id")):
        rows[(Dim.CLOSED_DAY.value, r["org_unit_id"], r["d"], r["c"].isoformat())] = {"n": r["n"]}
        month = (Dim.CLOSED_MONTH.value, r["org_unit_id"], r["d"], r["c"].strftime("%Y-%m"))
        rows[month]["n"] = rows[month].get("n", 0) + r["n"]
    rows.update(stage_rows(entry_model))
    outcomes = (
        disposition_model.objects.annotate(d=_day("alert__created_at")).order_by()
        .values("alert__org_unit_id", "d", "outcome")
        .annotate(n=Count("id"), filed=Count("id", filter=Q(case_filed=True)), amount=Sum("amount_recovered"))
    )
    for r in outcomes:
        rows[(Dim.OUTCOME.value, r["alert__org_unit_id"], r["d"], r["outcome"])] = {
            "n": r["n"], "filed": r["filed"], "amount": r["amount"] or Decimal("0")}
    dismissed = alerts.filter(status=Status.CLOSED, pk__in=dismissal_model.objects.values("alert_id"))
    for r in dismissed.values("org_unit_id", "d").annotate(n=Count("id")):
        rows[(Dim.DISMISSED.value, r["org_unit_id"], r["d"], "")] = {"n": r["n"]}
    latest = (disposition_model.objects.filter(~superseded(disposition_model))
              .annotate(d=_day("alert__created_at")).order_by())
    for r in latest.values("alert__org_unit_id", "d").annotate(recovered=Sum("amount_recovered"),
                                                               confiscated=Sum("amount_confiscated")):
        for key in MONEY_KEYS:
            if r[key]:
                rows[(Dim.PEOPLE.value, r["alert__org_unit_id"], r["d"], key)] = {"amount": r[key]}
    people = (person_model.objects.filter(disposition__in=latest.values("pk"))
              .annotate(d=_day("disposition__alert__created_at")).order_by())
    for r in people.values("disposition__alert__org_unit_id", "d", "form").annotate(
            n=Count("id"), **{f: Count("id", filter=Q(**{f: True})) for f in PEOPLE_FLAGS}):
        unit = r["disposition__alert__org_unit_id"]
        for key, n in (("total", r["n"]), (r["form"], r["n"]), *((f, r[f]) for f in PEOPLE_FLAGS)):
            if n:
                row = rows[(Dim.PEOPLE.value, unit, r["d"], key)]
                row["n"] = row.get("n", 0) + n
    rows = with_months(rows)
    return {k: _normal(v) for k, v in rows.items() if any(_normal(v).values())}


def stage_rows(entry_model: Any = TimelineEntry) -> Rows:
    """The STAGE and STAGE_EXIT dimensions' rows as the transition entries say (their stored time
    in stage): by the day the alert was raised, and by the day the stage was left."""
    rows: Rows = {}
    transitions = entry_model.objects.filter(kind="transition").exclude(from_status="").order_by()
    totals = {"n": Count("id"), "seconds": Sum("stage_seconds"), "working_days": Sum("stage_working_days")}
    for dim, day in ((Dim.STAGE, "alert__created_at"), (Dim.STAGE_EXIT, "at")):
        grouped = transitions.annotate(d=_day(day)).values("alert__org_unit_id", "d", "from_status").annotate(**totals)
        for r in grouped:
            rows[(dim.value, r["alert__org_unit_id"], r["d"], r["from_status"])] = {
                "n": r["n"], "seconds": r["seconds"] or 0, "working_days": r["working_days"] or Decimal("0")}
    return rows


def indicator_rows(alert_model: Any = Alert) -> Rows:
    """The INDICATOR dimension's rows as the alerts say they should be (one grouped query)."""
    concluded = Q(status__in=CONCLUDED_STATUSES) & ~Q(conclusion="")
    grouped = (
        alert_model.objects.exclude(rule_code="").filter(source__kind=SourceSystem.Kind.BUSINESS)
        .annotate(d=_day("created_at")).order_by()
        .values("org_unit_id", "d", "source_id", "rule_code")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(status=Status.CLOSED)),
                  concluded=Count("id", filter=concluded),
                  substantiated=Count("id", filter=concluded & Q(conclusion__in=SUBSTANTIATED)))
    )
    return {
        (Dim.INDICATOR.value, r["org_unit_id"], r["d"], indicator_key(r["source_id"], r["rule_code"])):
            {m: r[m] for m in ("n", "closed", "concluded", "substantiated")}
        for r in grouped
    }


def _normal(measures: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for m in MEASURES:
        v = measures.get(m, 0) or 0
        out[m] = Decimal(v).quantize(Decimal("0.01")) if m in DECIMAL_MEASURES else int(v)
    return out


def stored_rows() -> Rows:
    rows: Rows = {}
    for r in AlertRollup.objects.values("dim", "org_unit_id", "day", "key", *MEASURES).iterator(chunk_size=5000):
        measures = _normal(r)
        if any(measures.values()):
            rows[(r["dim"], r["org_unit_id"], r["day"], r["key"])] = measures
    return rows


def differences(limit: int | None = None) -> list[tuple[Key, dict[str, Any] | None, dict[str, Any] | None]]:
    """(key, stored, expected) for every row that differs; empty when the rollups are right."""
    stored, expected = stored_rows(), expected_rows()
    out = []
    for key in sorted(set(stored) | set(expected), key=lambda k: (k[0], k[1], k[2], k[3])):
        if stored.get(key) != expected.get(key):
            out.append((key, stored.get(key), expected.get(key)))
            if limit and len(out) >= limit:
                break
    return out


def rebuild(apps: Any = None) -> int:
    """Replace the rollups with what the source rows say; returns the number of rows written.

    The table is locked against writers for the rebuild (PostgreSQL), so a transition that
    commits meanwhile waits and then adds its change to the rebuilt counts.
    """
    model = apps.get_model("workflow", "AlertRollup") if apps else AlertRollup
    have = {f.name for f in model._meta.get_fields()}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"LOCK TABLE {model._meta.db_table} IN EXCLUSIVE MODE")
        rows = expected_rows(apps)
        model.objects.all().delete()
        model.objects.bulk_create(
            (model(dim=k[0], org_unit_id=k[1], day=k[2], key=k[3], **{m: v for m, v in measures.items() if m in have})
             for k, measures in rows.items()),
            batch_size=5000,
        )
        if connection.vendor == "postgresql":
            # Every row was just replaced: fresh statistics, so the dashboard's reads plan well at once.
            with connection.cursor() as cur:
                cur.execute(f"ANALYZE {model._meta.db_table}")
    return len(rows)


# Working time between two instants in closed form: W(t) = whole working days before t's local date
# + the part of t's own day already gone, if that day is a working day; the time in stage is
# W(left) − W(entered), what `working_time_in_days` counts hour by hour.
_BACKFILL_SQL = """
WITH x AS MATERIALIZED (
    SELECT e.id, e.at, e.stage_seconds, e.stage_working_days,
           coalesce(lag(e.at) OVER (PARTITION BY e.alert_id ORDER BY e.at, e.id), a.created_at) AS prev
    FROM cases_timelineentry e JOIN alerts_alert a ON a.id = e.alert_id
    WHERE e.kind = 'transition'
      AND e.alert_id IN (SELECT t.alert_id FROM cases_timelineentry t WHERE t.kind = 'transition'
                         AND (t.stage_seconds IS NULL OR t.stage_working_days IS NULL))
),
todo AS MATERIALIZED (
    SELECT id, at AT TIME ZONE %(tz)s AS t1, least(prev, at) AT TIME ZONE %(tz)s AS t0,
           coalesce(stage_seconds, greatest(0, extract(epoch FROM at - prev))::bigint) AS seconds
    FROM x WHERE stage_seconds IS NULL OR stage_working_days IS NULL
),
days AS MATERIALIZED (
    SELECT g::date AS d, w.working, sum(w.working::int) OVER (ORDER BY g) - w.working::int AS before
    FROM generate_series((SELECT min(t0)::date FROM todo), (SELECT max(t1)::date FROM todo), interval '1 day') g
    CROSS JOIN LATERAL (SELECT coalesce((SELECT o.working FROM unnest(%(days)s::date[], %(working)s::boolean[])
                                         o(day, working) WHERE o.day = g::date),
                                        extract(isodow FROM g) < 6) AS working) w
)
UPDATE cases_timelineentry e
SET stage_seconds = todo.seconds,
    stage_working_days = coalesce(e.stage_working_days, round(
        ((d1.before - d0.before) * 86400
         + CASE WHEN d1.working THEN extract(epoch FROM todo.t1 - todo.t1::date) ELSE 0 END
         - CASE WHEN d0.working THEN extract(epoch FROM todo.t0 - todo.t0::date) ELSE 0 END) / 86400.0, 2))
FROM todo JOIN days d0 ON d0.d = todo.t0::date JOIN days d1 ON d1.d = todo.t1::date
WHERE e.id = todo.id
"""


def backfill_stage_times(cal: WorkCalendar | None = None) -> int:
    """Store the time in stage (seconds and working days) on transition entries written before it
    was stored: from the previous transition (or the alert's creation) to the entry. Migrations
    pass the calendar read from their own models. Returns the number of entries filled."""
    cal = cal if cal is not None else current_calendar()
    if connection.vendor == "postgresql":
        overrides = sorted(cal.overrides.items())
        with connection.cursor() as cur:
            cur.execute(_BACKFILL_SQL, {"tz": CALENDAR_TZ.key, "days": [d for d, _w in overrides],
                                        "working": [w for _d, w in overrides]})
            return cur.rowcount
    filled = 0
    previous: dict[int, datetime] = {}
    created = dict(Alert.objects.values_list("id", "created_at"))
    entries = (TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TRANSITION).order_by("alert_id", "at", "id")
               .values_list("id", "alert_id", "at", "stage_seconds", "stage_working_days"))
    for pk, alert_id, at, seconds, working_days in entries.iterator(chunk_size=5000):
        start = min(previous.get(alert_id, created.get(alert_id, at)), at)
        previous[alert_id] = at
        if seconds is None or working_days is None:
            TimelineEntry.objects.filter(pk=pk).update(
                stage_seconds=int((at - start).total_seconds()) if seconds is None else seconds,
                stage_working_days=working_days if working_days is not None
                else Decimal(str(round(working_time_in_days(cal, start, at), 2))))
            filled += 1
    return filled
