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
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from alerts.models import Alert, SourceSystem
from alerts.states import CONCLUDED_STATUSES, ActionKind, Conclusion, Status
from cases.models import Dismissal, Disposition, DispositionPerson, ResultAction, TimelineEntry
from cases.people import superseded
from workflow.calendar import TZ as CALENDAR_TZ
from workflow.calendar import WorkCalendar, current_calendar, working_time_in_days
from workflow.models import AlertRollup, EscalationStep

Dim = AlertRollup.Dim
MEASURES = ("n", "closed", "concluded", "substantiated", "filed", "amount", "seconds", "working_days", "late")
DECIMAL_MEASURES = frozenset({"amount", "working_days"})
SUBSTANTIATED = (Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED)
# The EVENT dimension's keys besides the transitions' names.
SUBMITTED = "submit_verification"
CLOSED_EVENT = "closed"
MODEL_MONEY = "money"

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
    if alert.rule_code and alert.source.kind == SourceSystem.Kind.SCREENING:
        rows[(Dim.MODEL.value, unit, day, model_key(alert.status, alert.rule_code))] = {
            "n": 1, "substantiated": int(alert.status in CONCLUDED_STATUSES and alert.conclusion in SUBSTANTIATED)}
    return rows


def model_key(kind: str, code: str) -> str:
    """The MODEL dimension's key: a stage (or MODEL_MONEY) and a screening model's code."""
    return f"{kind}:{code}"


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


def stage_left(alert: Alert, entry: TimelineEntry) -> Rows:
    """A stage left, from the transition entry that records it (so the rows are what a recount of
    the entries gives): its time counted by the day the alert was raised (the dashboard) and by
    the day it was left (the assessment), and the transition itself by that day, late or not."""
    unit, left_on = alert.org_unit_id, local_day(entry.at)
    time_in_stage = {"n": 1, "seconds": entry.stage_seconds or 0, "working_days": entry.stage_working_days or 0}
    rows: Rows = {
        (Dim.STAGE.value, unit, local_day(alert.created_at), entry.from_status): dict(time_in_stage),
        (Dim.STAGE_EXIT.value, unit, left_on, entry.from_status): dict(time_in_stage),
        (Dim.EVENT.value, unit, left_on, entry.action): {
            "n": 1, "late": int(entry_late(entry.at, entry.stage_due_at)),
            "substantiated": int(entry.action == SUBMITTED and (entry.data or {}).get("conclusion") in SUBSTANTIATED),
        },
    }
    if entry.to_status == Status.CLOSED:
        rows[(Dim.EVENT.value, unit, left_on, CLOSED_EVENT)] = {"n": 1}
    return rows


def order_counted(unit_id: int, order: ResultAction) -> Rows:
    """A rectification order as it counts by the day its reply is due: one due, late until a reply
    is recorded by the end of that day. Other notices count nowhere."""
    if order.kind != ActionKind.RECTIFICATION_ORDER or order.due_date is None:
        return {}
    on_time = order.feedback_at is not None and local_day(order.feedback_at) <= order.due_date
    return {(Dim.ORDERS.value, unit_id, order.due_date, ""): {"n": 1, "late": int(not on_time)}}


def entry_late(at: datetime, due_at: datetime | None) -> bool:
    """A stage left after its deadline."""
    return due_at is not None and at > due_at


def recurrence_marked(unit_id: int, created_at: datetime) -> Rows:
    """An alert of `unit_id` raised at `created_at` marked as a recurrence (复发)."""
    return {(Dim.RECURRENCE.value, unit_id, local_day(created_at), ""): {"n": 1}}


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
    if alert.rule_code and alert.source.kind == SourceSystem.Kind.SCREENING:
        rows[(Dim.MODEL.value, unit, day, model_key(MODEL_MONEY, alert.rule_code))] = {
            "filed": int(disposition.case_filed), "amount": Decimal(disposition.amount_recovered or 0)}
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
                 "bigint", "numeric", "bigint"]
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
    rows.update(recurrence_rows(alert_model))
    rows.update(model_rows(alert_model, disposition_model))
    rows.update(order_rows(apps.get_model("cases", "ResultAction") if apps else ResultAction))
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
    """The rows `stage_left` writes, as the transition entries say: STAGE (time in stage by the day
    raised), STAGE_EXIT (by the day left) and EVENT (each transition by the day it happened, how
    many late, substantiated conclusions submitted, and "closed" for those into 办结)."""
    rows: Rows = {}
    transitions = entry_model.objects.filter(kind="transition").exclude(from_status="").order_by()
    totals = {"n": Count("id"), "seconds": Sum("stage_seconds"), "working_days": Sum("stage_working_days")}
    for dim, day in ((Dim.STAGE, "alert__created_at"), (Dim.STAGE_EXIT, "at")):
        grouped = transitions.annotate(d=_day(day)).values("alert__org_unit_id", "d", "from_status").annotate(**totals)
        for r in grouped:
            rows[(dim.value, r["alert__org_unit_id"], r["d"], r["from_status"])] = {
                "n": r["n"], "seconds": r["seconds"] or 0, "working_days": r["working_days"] or Decimal("0")}
    # A migration's historical model may predate the stored deadline: nothing is late then.
    with_deadline = any(f.name == "stage_due_at" for f in entry_model._meta.get_fields())
    late = Q(stage_due_at__isnull=False, at__gt=F("stage_due_at")) if with_deadline else Q(pk__in=[])
    events = transitions.annotate(d=_day("at")).values("alert__org_unit_id", "d", "action").annotate(
        n=Count("id"), late=Count("id", filter=late),
        substantiated=Count("id", filter=Q(action=SUBMITTED, data__conclusion__in=list(SUBSTANTIATED))),
        closed=Count("id", filter=Q(to_status=Status.CLOSED)))
    for r in events:
        unit = r["alert__org_unit_id"]
        rows[(Dim.EVENT.value, unit, r["d"], r["action"])] = {m: r[m] for m in ("n", "late", "substantiated")}
        if r["closed"]:
            merge(rows, {(Dim.EVENT.value, unit, r["d"], CLOSED_EVENT): {"n": r["closed"]}})
    return rows


def recurrence_rows(alert_model: Any = Alert) -> Rows:
    """The RECURRENCE dimension's rows: alerts marked as a recurrence, by the day raised."""
    if not any(f.name == "recurrence_of" for f in alert_model._meta.get_fields()):
        return {}  # a migration's historical model from before recurrences
    grouped = (alert_model.objects.filter(recurrence_of__isnull=False).annotate(d=_day("created_at")).order_by()
               .values("org_unit_id", "d").annotate(n=Count("id")))
    return {(Dim.RECURRENCE.value, r["org_unit_id"], r["d"], ""): {"n": r["n"]} for r in grouped}


def model_rows(alert_model: Any = Alert, disposition_model: Any = Disposition) -> Rows:
    """The MODEL dimension's rows: screening models' alerts by stage (and substantiated), and the
    cases filed and money recovered of their latest dispositions."""
    screening = Q(source__kind=SourceSystem.Kind.SCREENING) & ~Q(rule_code="")
    grouped = (alert_model.objects.filter(screening).annotate(d=_day("created_at")).order_by()
               .values("org_unit_id", "d", "status", "rule_code")
               .annotate(n=Count("id"), substantiated=Count("id", filter=Q(status__in=CONCLUDED_STATUSES,
                                                                          conclusion__in=SUBSTANTIATED))))
    rows: Rows = {(Dim.MODEL.value, r["org_unit_id"], r["d"], model_key(r["status"], r["rule_code"])):
                  {"n": r["n"], "substantiated": r["substantiated"]} for r in grouped}
    money = (disposition_model.objects.filter(~superseded(disposition_model), alert__in=alert_model.objects
                                              .filter(screening).values("pk"))
             .annotate(d=_day("alert__created_at")).order_by().values("alert__org_unit_id", "d", "alert__rule_code")
             .annotate(filed=Count("id", filter=Q(case_filed=True)), amount=Sum("amount_recovered")))
    for r in money:
        rows[(Dim.MODEL.value, r["alert__org_unit_id"], r["d"], model_key(MODEL_MONEY, r["alert__rule_code"]))] = {
            "filed": r["filed"], "amount": r["amount"] or Decimal("0")}
    return rows


def order_rows(action_model: Any = ResultAction) -> Rows:
    """The ORDERS dimension's rows as the rectification orders say."""
    on_time = Q(feedback_at__isnull=False, due_date__gte=_day("feedback_at"))
    grouped = (action_model.objects.filter(kind=ActionKind.RECTIFICATION_ORDER, due_date__isnull=False).order_by()
               .values("alert__org_unit_id", "due_date").annotate(n=Count("id"), on_time=Count("id", filter=on_time)))
    return {(Dim.ORDERS.value, r["alert__org_unit_id"], r["due_date"], ""): {"n": r["n"], "late": r["n"] - r["on_time"]}
            for r in grouped}


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


def backfill_stage_deadlines() -> int:
    """Give transition entries written before the deadline was stored the deadline their stage had,
    where a reminder recorded it (an escalation step carries its stage's deadline; the k-th
    transition of an alert leaves its k-th stage). Entries of stages never reminded stay without
    one and count as on time. Returns the number of entries filled."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                """
                UPDATE cases_timelineentry t SET stage_due_at = s.due_at
                FROM (SELECT e.id, e.alert_id,
                             row_number() OVER (PARTITION BY e.alert_id ORDER BY e.at, e.id) AS seq
                      FROM cases_timelineentry e WHERE e.kind = 'transition'
                        AND e.alert_id IN (SELECT alert_id FROM workflow_escalationstep)) x
                JOIN (SELECT alert_id, stage_seq, min(due_at) AS due_at FROM workflow_escalationstep
                      GROUP BY alert_id, stage_seq) s ON s.alert_id = x.alert_id AND s.stage_seq = x.seq
                WHERE t.id = x.id AND t.stage_due_at IS NULL
                """
            )
            return cur.rowcount
    deadlines: dict[tuple[int, int], datetime] = {}
    for alert_id, seq, due_at in EscalationStep.objects.values_list("alert_id", "stage_seq", "due_at"):
        deadlines[(alert_id, seq)] = min(due_at, deadlines.get((alert_id, seq), due_at))
    seen: dict[int, int] = defaultdict(int)
    filled = 0
    entries = (TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TRANSITION, alert_id__in={a for a, _s in deadlines})
               .order_by("alert_id", "at", "id").values_list("id", "alert_id", "stage_due_at"))
    for pk, alert_id, due_at in entries:
        seen[alert_id] += 1
        found = deadlines.get((alert_id, seen[alert_id]))
        if due_at is None and found is not None:
            TimelineEntry.objects.filter(pk=pk).update(stage_due_at=found)
            filled += 1
    return filled
