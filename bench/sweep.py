"""Benchmark: one deadline sweep over 1,000,000 open alerts, against the bare indexed SELECT of
the due rows measured in the same run.

    python -m bench.sweep            # prints a table
    from bench.sweep import run      # rows {name, value, unit, baseline, ratio} for `python -m bench`

It uses its own database (huoyan_bench_sweep on the configured PostgreSQL server; override with
HUOYAN_BENCH_SWEEP_DB), bulk-loaded once with generate_series and reused by later runs. Every
measured sweep runs inside a transaction that is rolled back, so runs are repeatable.
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
REPEAT = 3
DB_NAME = os.environ.get("HUOYAN_BENCH_SWEEP_DB", "huoyan_bench_sweep")
COUNTIES = 20


def ensure_loaded(out: Callable[[str], None]) -> None:
    """Migrate the bench database and load the 1,000,000 alerts once (reused by later runs)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM alerts_alert")
        if cur.fetchone()[0] == TOTAL:
            out(f"reusing {TOTAL:,} alerts in {DB_NAME}")
            return
    out(f"loading {TOTAL:,} open alerts into {DB_NAME} …")
    started = time.perf_counter()
    from accounts.models import OrgUnit, Role, User
    from alerts.models import SourceSystem

    with connection.cursor() as cur:
        cur.execute("TRUNCATE alerts_alert, workflow_escalationstep, workflow_notification, workflow_delivery,"
                    " cases_timelineentry CASCADE")
    city, _ = OrgUnit.objects.get_or_create(code="bench", defaults={"name": "Bench city", "level": "city",
                                                                    "path": "bench/"})
    units = []
    for i in range(COUNTIES):
        unit, _ = OrgUnit.objects.get_or_create(
            code=f"bench-{i}", defaults={"name": f"County {i}", "level": "county", "parent": city,
                                         "path": f"bench/bench-{i}/"})
        units.append(unit)
        for role in (Role.SUPERVISOR, Role.LEADER):
            User.objects.get_or_create(username=f"bench-{role}-{i}", defaults={"role": role, "org_unit": unit})
    source, _ = SourceSystem.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "org_unit": city, "key_prefix": "benchkey", "key_hash": "0" * 64})
    unit_ids = [u.pk for u in units]
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO alerts_alert (
                title, domain, risk_level, risk_rank, rule_code, subject_name, subject_id_number,
                subject_credit_code, details, dedup_key, occurrence_count, status, conclusion,
                stage_entered_at, stage_seq, due_at, escalation_level, supervised, created_at, updated_at,
                org_unit_id, source_id)
            SELECT 'bench alert ' || g, 'other', 'orange', 1, '', '', '', '', '{}'::jsonb, 'bench-' || g, 1,
                   (ARRAY['warning','disposing','applying','evaluating'])[1 + g %% 4], '',
                   %(now)s - interval '1 day', 1,
                   CASE WHEN g <= %(due)s THEN %(now)s - interval '30 minutes'
                        ELSE %(now)s + interval '3 days' + (g %% 40000) * interval '1 minute' END,
                   0, false, %(now)s, %(now)s,
                   (%(units)s::bigint[])[1 + g %% %(n_units)s], %(source)s
            FROM generate_series(1, %(total)s) AS g
            """,
            {"now": NOW, "due": DUE_SMALL, "units": unit_ids, "n_units": len(unit_ids), "source": source.pk,
             "total": TOTAL},
        )
    with connection.cursor() as cur:
        # VACUUM as autovacuum would soon after such a load: it sets the visibility map, so
        # counts can use index-only scans, as they do on a settled production table.
        cur.execute("VACUUM ANALYZE alerts_alert")
    out(f"loaded in {time.perf_counter() - started:.1f} s")


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


def _hand_sql_escalation_ms(extra_due: int = 0) -> float:
    """The floor for the same writes: one hand-written statement that claims the due rows and
    records step 1, its timeline entry and one inbox row per alert, and bumps the level."""
    from django.db import connection

    def body() -> float:
        if extra_due:
            _make_more_due(extra_due)
        with connection.cursor() as cur:
            cur.execute("SELECT id FROM accounts_user WHERE role = 'supervisor' ORDER BY id LIMIT 1")
            user_id = cur.fetchone()[0]
            started = time.perf_counter()
            cur.execute(
                """
                WITH due AS (
                    SELECT id, stage_seq, status, due_at FROM alerts_alert
                    WHERE NOT (status = 'closed') AND due_at <= %(now)s AND escalation_level = 0
                    FOR UPDATE SKIP LOCKED),
                steps AS (
                    INSERT INTO workflow_escalationstep (alert_id, stage_seq, stage, step, due_at, at)
                    SELECT id, stage_seq, status, 1, due_at, %(now)s FROM due),
                timeline AS (
                    INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)
                    SELECT id, %(now)s, 'escalation', 'step_1', status, status, 'Reminder', '{}'::jsonb FROM due),
                inbox AS (
                    INSERT INTO workflow_notification (recipient_id, alert_id, kind, title, body, key, created_at)
                    SELECT %(user)s, id, 'overdue', 'Reminder', '', '', %(now)s FROM due)
                UPDATE alerts_alert a SET escalation_level = 1 FROM due WHERE a.id = due.id
                """,
                {"now": NOW, "user": user_id},
            )
            return (time.perf_counter() - started) * 1000

    return statistics.median(_in_rolled_back_transaction(body) for _ in range(REPEAT))


def _make_more_due(extra: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE alerts_alert SET due_at = %s WHERE id IN ("
            " SELECT id FROM alerts_alert WHERE NOT (status = 'closed') AND due_at > %s ORDER BY due_at LIMIT %s)",
            [NOW - timedelta(minutes=30), NOW, extra],
        )


def _sweep_ms(*, extra_due: int = 0, idle: bool = False) -> tuple[float, float, int]:
    """(sweep ms, bare select ms, steps recorded), inside a rolled-back transaction."""
    from workflow.sweep import sweep

    box: dict[str, float] = {}

    def body() -> float:
        if extra_due:
            _make_more_due(extra_due)
        if idle:
            sweep(now=NOW, deliveries=False)  # escalate first; then time a sweep with nothing to do
        started = time.perf_counter()
        report = sweep(now=NOW, deliveries=False)
        box["ms"] = (time.perf_counter() - started) * 1000
        box["steps"] = sum(report.steps.values()) + report.approaching
        box["select"] = _bare_select_ms()
        return box["ms"]

    samples = []
    selects = []
    for _ in range(REPEAT):
        _in_rolled_back_transaction(body)
        samples.append(box["ms"])
        selects.append(box["select"])
    return statistics.median(samples), statistics.median(selects), int(box["steps"])


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

    small, small_sel, small_steps = _sweep_ms()
    row(f"sweep: {DUE_SMALL:,} due of {TOTAL:,} open ({small_steps} steps) vs bare SELECT of the due rows",
        small, "ms", small_sel, context=True)
    large, large_sel, large_steps = _sweep_ms(extra_due=DUE_LARGE - DUE_SMALL)
    row(f"sweep: {DUE_LARGE:,} due of {TOTAL:,} open ({large_steps} steps) vs bare SELECT of the due rows",
        large, "ms", large_sel, context=True)
    idle, idle_sel, _ = _sweep_ms(idle=True)
    row(f"idle sweep: {DUE_SMALL:,} overdue already escalated", idle, "ms", idle_sel)
    row(f"sweep: {DUE_SMALL:,} due, vs hand-written SQL doing the same writes", small, "ms",
        _hand_sql_escalation_ms())
    row(f"sweep: {DUE_LARGE:,} due, vs hand-written SQL doing the same writes", large, "ms",
        _hand_sql_escalation_ms(DUE_LARGE - DUE_SMALL))
    row(f"sweep ms per due alert ({DUE_SMALL:,} due)", small / DUE_SMALL, "ms", small_sel / DUE_SMALL, context=True)
    row(f"cost growth {DUE_SMALL:,}→{DUE_LARGE:,} due (open fixed at {TOTAL:,}; baseline = 10x rows)",
        large / small, "x", DUE_LARGE / DUE_SMALL)
    return rows


if __name__ == "__main__":
    print_table(run())
