"""Benchmark: the deadline sweep over 1,000,000 open alerts with 1,000 and then 10,000 due,
against a hand-written single statement doing the same writes (steps, timeline entries, inbox
rows, email and webhook outbox rows, the level update), measured in the same run; the bare
indexed SELECT of the due rows is shown as context.

    python -m bench.sweep            # prints a table
    from bench.sweep import run      # rows {name, value, unit, baseline, ratio} for `python -m bench`

It uses its own database (huoyan_bench_sweep on the configured PostgreSQL server; override with
HUOYAN_BENCH_SWEEP_DB), bulk-loaded once with generate_series and reused by later runs. Due rows
have spread-out deadlines (DUE_SPREAD_SQL). Samples alternate sweep / baseline, each inside a
transaction that is rolled back and followed by VACUUM ANALYZE, so runs repeat and neither side
wades through the other's dead rows; each reports the median, and the run checks both sides wrote
the same number of rows of each kind.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.common import print_table, setup_django, use_database

TOTAL = int(os.environ.get("HUOYAN_BENCH_SWEEP_ALERTS", "1000000"))
DUE_SMALL = 1_000
DUE_LARGE = 10_000
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
REPEAT = 5
DB_NAME = os.environ.get("HUOYAN_BENCH_SWEEP_DB", "huoyan_bench_sweep")
COUNTIES = 20
# Bumped when the loaded data changes shape, so an older bench database is reloaded.
LAYOUT = "bench-sweep v2: spread-out deadlines"
# Due rows get realistic, spread-out deadlines (never one shared timestamp, and not in id order):
# for a fraction f in [0, 1), 60 % fell due in the last 24 h (step 1), 30 % 24–72 h ago (steps
# 1–2) and 10 % 3–5 days ago (steps 1–3: a sweep catching up), plus a few seconds of jitter.
DUE_SPREAD_SQL = (
    "((CASE WHEN {f} < 0.6 THEN ({f} / 0.6) * 1439"
    " WHEN {f} < 0.9 THEN 1441 + (({f} - 0.6) / 0.3) * 2878"
    " ELSE 4321 + (({f} - 0.9) / 0.1) * 2878 END) * interval '1 minute' + ({j}) * interval '1 second')"
)


def ensure_loaded(out: Callable[[str], None]) -> None:
    """Migrate the bench database and load the 1,000,000 alerts once (reused by later runs)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), obj_description('alerts_alert'::regclass, 'pg_class') FROM alerts_alert")
        count, layout = cur.fetchone()
        if count == TOTAL and layout == LAYOUT:
            out(f"reusing {TOTAL:,} alerts in {DB_NAME}")
            _ensure_people()
            return
    out(f"loading {TOTAL:,} open alerts into {DB_NAME} …")
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE alerts_alert, workflow_escalationstep, workflow_notification, workflow_delivery,"
                    " cases_timelineentry CASCADE")
    units, source = _ensure_people()
    unit_ids = [u.pk for u in units]
    spread = DUE_SPREAD_SQL.format(f="((g * 7919) %% 1000) / 1000.0", j="g %% 60")
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO alerts_alert (
                title, domain, risk_level, risk_rank, rule_code, subject_name, subject_id_number,
                subject_credit_code, details, dedup_key, occurrence_count, status, conclusion,
                stage_entered_at, stage_seq, due_at, escalation_level, supervised, created_at, updated_at,
                org_unit_id, source_id, merged_from_status, tags)
            SELECT 'bench alert ' || g, 'other', 'orange', 1, '', '', '', '', '{}'::jsonb, 'bench-' || g, 1,
                   (ARRAY['warning','disposing','applying','evaluating'])[1 + g %% 4], '',
                   %(now)s - interval '10 days', 1,
                   CASE WHEN g <= %(due)s THEN %(now)s - """ + spread + """
                        ELSE %(now)s + interval '3 days' + (g %% 40000) * interval '1 minute' END,
                   0, false, %(now)s, %(now)s,
                   (%(units)s::bigint[])[1 + g %% %(n_units)s], %(source)s, '', '[]'::jsonb
            FROM generate_series(1, %(total)s) AS g
            """,
            {"now": NOW, "due": DUE_SMALL, "units": unit_ids, "n_units": len(unit_ids), "source": source.pk,
             "total": TOTAL},
        )
    with connection.cursor() as cur:
        # VACUUM as autovacuum would soon after such a load: it sets the visibility map, so
        # counts can use index-only scans, as they do on a settled production table.
        cur.execute("VACUUM ANALYZE alerts_alert")
        cur.execute(f"COMMENT ON TABLE alerts_alert IS '{LAYOUT}'")
    out(f"loaded in {time.perf_counter() - started:.1f} s")


def _ensure_people() -> tuple[list, object]:
    """The city, its counties, one supervisor and one leader per county (with an email address,
    so every inbox row also writes an email to the outbox) and a webhook on the city (so every
    escalation message also writes a webhook delivery)."""
    from accounts.models import OrgUnit, Role, User
    from alerts.models import SourceSystem
    from workflow.models import OrgUnitWebhook

    city, _ = OrgUnit.objects.get_or_create(code="bench", defaults={"name": "Bench city", "level": "city",
                                                                    "path": "bench/"})
    units = []
    for i in range(COUNTIES):
        unit, _ = OrgUnit.objects.get_or_create(
            code=f"bench-{i}", defaults={"name": f"County {i}", "level": "county", "parent": city,
                                         "path": f"bench/bench-{i}/"})
        units.append(unit)
        for role in (Role.SUPERVISOR, Role.LEADER):
            User.objects.update_or_create(
                username=f"bench-{role}-{i}",
                defaults={"role": role, "org_unit": unit, "email": f"{role}-{i}@bench.example"})
    OrgUnitWebhook.objects.get_or_create(
        org_unit=city, defaults={"url": "https://hooks.bench.example/huoyan", "secret": "bench"})
    source, _ = SourceSystem.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "org_unit": city, "key_prefix": "benchkey", "key_hash": "0" * 64})
    return units, source


class _Rollback(Exception):
    pass


def _in_rolled_back_transaction(fn: Callable[[], float]) -> float:
    from django.db import transaction

    result: list[float] = []
    try:
        with transaction.atomic():
            result.append(fn())
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


def _time(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _bare_select_ms() -> float:
    from django.db import connection

    def select() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, stage_seq, escalation_level, due_at FROM alerts_alert"
                " WHERE NOT (status = 'closed') AND due_at <= %s ORDER BY due_at, id",
                [NOW],
            )
            cur.fetchall()

    select()  # warm
    return statistics.median(_time(select) for _ in range(REPEAT * 2))


def _vacuum() -> None:
    """Between samples: each sample's rolled-back writes leave dead rows and index entries behind;
    without this every later sample (the sweep's and the baseline's) would wade through more."""
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("alerts_alert", "workflow_escalationstep", "cases_timelineentry", "workflow_notification",
                      "workflow_delivery"):
            cur.execute(f"VACUUM ANALYZE {table}")


# The floor: one hand-written statement doing the writes the sweep does for the bench's data —
# claim the due rows, one step row per rung reached (1–3), a timeline entry per step, an inbox
# row per recipient (step 1: the stage's supervisor, or leader while evaluated; step 2: the
# supervisors; step 3: leaders and supervisors), an email delivery per inbox row, a webhook
# delivery per step (the city's hook) with the same payload fields, and the level update. It
# knows the bench's shape (role holders sit in the alert's own unit, one hook on the city) and
# skips what the application must do in general (masking, nearest unit with role holders).
HAND_SQL = """
WITH due AS (
    SELECT id, stage_seq, status, due_at, escalation_level, supervised, org_unit_id, title, risk_level
    FROM alerts_alert
    WHERE NOT (status = 'closed') AND due_at <= %(now)s - %(off0)s
      AND ((escalation_level = 0 AND due_at <= %(now)s - %(off0)s)
           OR (escalation_level = 1 AND due_at <= %(now)s - %(off1)s)
           OR (escalation_level = 2 AND due_at <= %(now)s - %(off2)s))
    ORDER BY due_at, id
    FOR UPDATE SKIP LOCKED),
target AS (
    SELECT d.*, (d.due_at <= %(now)s - %(off0)s)::int + (d.due_at <= %(now)s - %(off1)s)::int
                + (d.due_at <= %(now)s - %(off2)s)::int AS level,
           to_char(d.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS due_text
    FROM due d),
todo AS (
    SELECT t.*, g.step FROM target t, generate_series(t.escalation_level + 1, t.level) AS g(step)),
steps AS (
    INSERT INTO workflow_escalationstep (alert_id, stage_seq, stage, step, due_at, at)
    SELECT id, stage_seq, status, step, due_at, %(now)s FROM todo),
timeline AS (
    INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)
    SELECT id, %(now)s, 'escalation', 'step_' || step, status, status, (%(labels)s::text[])[step],
           jsonb_build_object('step', step, 'stage_seq', stage_seq, 'due_at', due_at)
    FROM todo),
recipients AS (
    SELECT t.id, t.step, t.title, t.due_text, u.id AS user_id, u.username
    FROM todo t JOIN accounts_user u ON u.org_unit_id = t.org_unit_id AND u.is_active
     AND ((t.step = 1 AND u.role = CASE WHEN t.status = 'evaluating' THEN 'leader' ELSE 'supervisor' END)
          OR (t.step = 2 AND u.role = 'supervisor') OR (t.step = 3 AND u.role IN ('leader', 'supervisor')))),
notes AS (
    INSERT INTO workflow_notification (recipient_id, alert_id, kind, title, body, key, link, created_at)
    SELECT user_id, id, CASE step WHEN 1 THEN 'overdue' ELSE 'escalation' END,
           format((%(titles)s::text[])[step], id), format((%(bodies)s::text[])[step], title, due_text), '', '',
           %(now)s
    FROM recipients
    RETURNING id, recipient_id, title, body),
mail AS (
    INSERT INTO workflow_delivery (channel, notification_id, address, payload, state, attempts, next_attempt_at,
                                   last_error, created_at)
    SELECT 'email', n.id, u.email, jsonb_build_object('subject', n.title, 'body', n.body), 'pending', 0,
           %(next)s, '', %(now)s
    FROM notes n JOIN accounts_user u ON u.id = n.recipient_id WHERE u.email <> ''),
hooks AS (
    INSERT INTO workflow_delivery (channel, webhook_id, address, payload, state, attempts, next_attempt_at,
                                   last_error, created_at)
    SELECT 'webhook', %(hook)s, %(hook_url)s, jsonb_build_object(
               'event', CASE t.step WHEN 1 THEN 'overdue' ELSE 'escalation' END,
               'title', format((%(titles)s::text[])[t.step], t.id),
               'body', format((%(bodies)s::text[])[t.step], t.title, t.due_text),
               'alert', jsonb_build_object('id', t.id, 'title', t.title, 'status', t.status, 'risk_level', t.risk_level,
                                           'unit', ou.code, 'due_at', t.due_at, 'escalation_level', t.level,
                                           'supervised', t.supervised OR t.level >= 3),
               'recipients', r.names, 'at', %(now)s::timestamptz, 'step', t.step),
           'pending', 0, %(next)s, '', %(now)s
    FROM todo t JOIN accounts_orgunit ou ON ou.id = t.org_unit_id
    JOIN (SELECT id, step, jsonb_agg(username ORDER BY username) AS names FROM recipients GROUP BY id, step) r
      ON r.id = t.id AND r.step = t.step)
UPDATE alerts_alert a SET escalation_level = t.level, supervised = a.supervised OR t.level >= 3,
    ever_overdue = a.ever_overdue OR t.level >= 1
FROM target t WHERE a.id = t.id
"""


def _hand_sql(cur) -> None:  # noqa: ANN001 - a DB-API cursor
    from django.conf import settings
    from django.utils.translation import gettext as _

    from workflow.models import OrgUnitWebhook
    from workflow.sweep import STEP_LABELS, ladder_offsets

    hook = OrgUnitWebhook.objects.get(org_unit__code="bench")
    # The sweep's own (translated) texts, with PostgreSQL format() placeholders.
    ref = {"id": "%1$s", "title": "%1$s", "due": "%2$s"}
    titles = [_("Reminder: alert #%(id)s is overdue") % ref, _("Yellow card: alert #%(id)s is overdue") % ref,
              _("Supervision order (督办): alert #%(id)s") % ref]
    bodies = [_("“%(title)s” was due at %(due)s.") % ref,
              _("Written reminder: “%(title)s” was due at %(due)s and is still open.") % ref,
              _("Red card: “%(title)s” was due at %(due)s; it is now under supervision.") % ref]
    off = ladder_offsets()
    cur.execute(HAND_SQL, {
        "now": NOW, "off0": off[0], "off1": off[1], "off2": off[2], "labels": [str(STEP_LABELS[s]) for s in (1, 2, 3)],
        "titles": titles, "bodies": bodies, "hook": hook.pk, "hook_url": hook.url,
        "next": NOW + timedelta(seconds=settings.HUOYAN_DELIVERY_GRACE_SECONDS),
    })


def _make_more_due(extra: int) -> None:
    """Make `extra` more alerts due, with the same spread of deadlines as the loaded ones."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE alerts_alert a SET due_at = %(now)s - "
            + DUE_SPREAD_SQL.format(f="((x.n * 7919) %% 9973) / 9973.0", j="x.n %% 60")
            + " FROM (SELECT id, row_number() OVER (ORDER BY due_at, id) AS n FROM alerts_alert"
            "       WHERE NOT (status = 'closed') AND due_at > %(now)s ORDER BY due_at, id LIMIT %(extra)s) x"
            " WHERE a.id = x.id",
            {"now": NOW, "extra": extra},
        )


def _restore_not_due() -> None:
    """Undo `_make_more_due`: the loaded deadlines of the alerts beyond the first DUE_SMALL."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE alerts_alert SET due_at = %(now)s + interval '3 days'"
            " + (substr(dedup_key, 7)::int %% 40000) * interval '1 minute'"
            " WHERE NOT (status = 'closed') AND due_at <= %(now)s AND substr(dedup_key, 7)::int > %(due)s",
            {"now": NOW, "due": DUE_SMALL},
        )


def _written(cur) -> dict[str, int]:  # noqa: ANN001
    counts = {}
    for table in ("workflow_escalationstep", "cases_timelineentry", "workflow_notification", "workflow_delivery"):
        cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        counts[table] = cur.fetchone()[0]
    cur.execute("SELECT escalation_level, supervised, count(*) FROM alerts_alert WHERE escalation_level > 0"
                " GROUP BY 1, 2 ORDER BY 1, 2")
    counts["levels"] = cur.fetchall()
    return counts


def _samples(extra_due: int, out: Callable[[str], None]) -> tuple[float, float, float, int]:
    """Medians of (sweep ms, hand SQL ms, bare select ms) and the steps recorded, sampled in
    turn (sweep, baseline, sweep, …) with a VACUUM ANALYZE after each, every sample in a
    rolled-back transaction. Checks that both wrote the same rows."""
    from django.db import connection

    from workflow.sweep import sweep

    sweeps, hands, selects = [], [], []
    box: dict = {}

    def sweep_body() -> float:
        started = time.perf_counter()
        report = sweep(now=NOW, deliveries=False)
        ms = (time.perf_counter() - started) * 1000
        box["steps"] = sum(report.steps.values()) + report.approaching
        with connection.cursor() as cur:
            box["sweep"] = _written(cur)
        selects.append(_bare_select_ms())
        return ms

    def hand_body() -> float:
        with connection.cursor() as cur:
            started = time.perf_counter()
            _hand_sql(cur)
            ms = (time.perf_counter() - started) * 1000
            box["hand"] = _written(cur)
        return ms

    if extra_due:
        # Committed, then analysed: due rows pile up over time in production, and the planner
        # knows of them by then; only the sweeps' writes are rolled back.
        _make_more_due(extra_due)
    try:
        _vacuum()
        for _ in range(REPEAT):
            sweeps.append(_in_rolled_back_transaction(sweep_body))
            _vacuum()
            hands.append(_in_rolled_back_transaction(hand_body))
            _vacuum()
    finally:
        if extra_due:
            _restore_not_due()
            _vacuum()
    if box["sweep"] != box["hand"]:
        out(f"!! the baseline's writes differ from the sweep's: sweep {box['sweep']} hand {box['hand']}")
    else:
        out(f"same writes ({extra_due + DUE_SMALL:,} due): {box['sweep']}")
    return statistics.median(sweeps), statistics.median(hands), statistics.median(selects), int(box["steps"])


def _idle_ms() -> float:
    from workflow.sweep import sweep

    def body() -> float:
        sweep(now=NOW, deliveries=False)  # escalate first; then time a sweep with nothing to do
        return _time(lambda: sweep(now=NOW, deliveries=False))

    samples = []
    for _ in range(REPEAT):
        samples.append(_in_rolled_back_transaction(body))
        _vacuum()
    return statistics.median(samples)


def run(out: Callable[[str], None] | None = None) -> list[dict]:
    out = out or (lambda s: print(s, file=sys.stderr))
    setup_django()
    from django.conf import settings

    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 24, 72]
    use_database(DB_NAME)
    ensure_loaded(out)

    rows: list[dict] = []

    def row(name: str, value: float, unit: str, baseline: float, *, context: bool = False) -> None:
        # context=True: the baseline is a floor (a bare SELECT that writes nothing), shown to prove
        # the cost follows the due rows, not a target the sweep could meet.
        rows.append({"name": name, "value": round(value, 2), "unit": unit, "baseline": round(baseline, 2),
                     "ratio": round(value / baseline, 2) if baseline else None, "context": context})

    small, small_hand, small_sel, small_steps = _samples(0, out)
    large, large_hand, large_sel, large_steps = _samples(DUE_LARGE - DUE_SMALL, out)
    row(f"sweep: {DUE_SMALL:,} due of {TOTAL:,} open ({small_steps} steps) vs bare SELECT of the due rows",
        small, "ms", small_sel, context=True)
    row(f"sweep: {DUE_LARGE:,} due of {TOTAL:,} open ({large_steps} steps) vs bare SELECT of the due rows",
        large, "ms", large_sel, context=True)
    idle_sel = _bare_select_ms()
    row(f"idle sweep: {DUE_SMALL:,} overdue already escalated", _idle_ms(), "ms", idle_sel)
    row(f"sweep: {DUE_SMALL:,} due, vs hand-written SQL doing the same writes", small, "ms", small_hand)
    row(f"sweep: {DUE_LARGE:,} due, vs hand-written SQL doing the same writes", large, "ms", large_hand)
    row(f"sweep ms per due alert ({DUE_SMALL:,} due)", small / DUE_SMALL, "ms", small_sel / DUE_SMALL, context=True)
    row(f"cost growth {DUE_SMALL:,}→{DUE_LARGE:,} due (open fixed at {TOTAL:,}; baseline = 10x rows)",
        large / small, "x", DUE_LARGE / DUE_SMALL)
    return rows


if __name__ == "__main__":
    print_table(run())
