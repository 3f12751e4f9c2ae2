"""Benchmark: intake against a floor that does the same writes by hand, measured in the same run.

- single-alert POSTs to /api/v1/intake/alerts/ vs /bench/intake-floor/ (bench/intake_floor.py:
  key check comparing the hash, unit check, deadline, upsert, rollups, timeline entry, audit row,
  one transaction), both through the same middleware;
- batches of 1,000 through the same two URLs (the floor writes them with one `unnest` upsert).

Single POSTs alternate one by one (so both sides meet the same load on a shared machine); batches
alternate which side goes first. Each round starts from empty tables. Figures are medians: of
every single POST's time, and of the rounds' batch times.

    python -m bench.intake          (DATABASE_URL names the server; the database is its own,
                                     huoyan_bench_intake, or HUOYAN_BENCH_INTAKE_DB)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable

from bench.common import make_row, print_table, setup_django, use_database

DB_NAME = os.environ.get("HUOYAN_BENCH_INTAKE_DB", "huoyan_bench_intake")
ROUNDS = 7
SINGLE = 80
BATCH = 1000
KEY = "hy_benchkey_0123456789abcdefghijklmnop"
PROJECT = "/api/v1/intake/alerts/"
FLOOR = "/bench/intake-floor/"


def _reset() -> None:
    from django.db import connection, transaction

    # The audit log refuses TRUNCATE (audit migration 0005); the benchmark's superuser empties
    # its own database with triggers off for this one statement, as the test suite does.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("TRUNCATE alerts_alert, cases_timelineentry, audit_auditevent, workflow_alertrollup,"
                    " workflow_notification, workflow_delivery CASCADE")


def _world() -> None:
    from accounts.services import org_unit_upsert
    from alerts.models import SourceSystem
    from alerts.sources import source_key_assign

    city = org_unit_upsert(code="bench", name="Bench", level="city")
    org_unit_upsert(code="bench-county", name="County", level="county", parent=city)
    source = SourceSystem.objects.filter(code="bench-intake").first() or SourceSystem(
        code="bench-intake", name="Bench", org_unit=city)
    source_key_assign(source, KEY)


def _item(i: int, prefix: str) -> dict:
    return {"dedup_key": f"{prefix}-{i}", "title": f"bench {i}", "risk_level": "orange", "org_unit": "bench-county"}


def _post(client: object, url: str, body: object) -> None:
    r = client.post(url, json.dumps(body), content_type="application/json",  # type: ignore[attr-defined]
                    HTTP_AUTHORIZATION=f"Api-Key {KEY}")
    assert r.status_code == 201, r.content[:300]


def _queries(client: object, url: str, body: object) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen:
        _post(client, url, body)
    return len(seen)


def run(out: Callable[[str], None] | None = None) -> list[dict]:
    out = out or (lambda s: print(s, file=sys.stderr))
    setup_django()
    use_database(DB_NAME)
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import clear_url_caches

    call_command("migrate", verbosity=0, interactive=False)
    settings.ROOT_URLCONF = "bench.urls"
    clear_url_caches()
    _world()
    client = Client()
    sides = {"project": PROJECT, "floor": FLOOR}

    _reset()
    for name, url in sides.items():  # warm both paths (imports, caches, prepared plans)
        for i in range(5):
            _post(client, url, _item(i, f"warm-{name}"))
        _post(client, url, [_item(i, f"warmb-{name}") for i in range(BATCH)])
        out(f"  {name}: {_queries(client, url, _item(0, f'q-{name}'))} queries for one POST")

    single: dict[str, list[float]] = {k: [] for k in sides}
    single_cpu: dict[str, list[float]] = {k: [] for k in sides}
    batch: dict[str, list[float]] = {k: [] for k in sides}
    batch_cpu: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(ROUNDS):
        _reset()
        # One POST each in turn, so both sides see the same moment of a shared machine's load.
        for i in range(SINGLE):
            order = list(sides) if (r + i) % 2 == 0 else list(reversed(sides))
            for name in order:
                body = _item(i, f"s{r}-{name}")
                started, cpu = time.perf_counter(), time.process_time()
                _post(client, sides[name], body)
                single[name].append((time.perf_counter() - started) * 1000)
                single_cpu[name].append((time.process_time() - cpu) * 1000)
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            payload = [_item(i, f"b{r}-{name}") for i in range(BATCH)]
            started, cpu = time.perf_counter(), time.process_time()
            _post(client, sides[name], payload)
            batch[name].append((time.perf_counter() - started) * 1000)
            batch_cpu[name].append((time.process_time() - cpu) * 1000)
        last = slice(-SINGLE, None)
        out(f"  round {r + 1}: single {statistics.median(single['project'][last]):.2f} /"
            f" {statistics.median(single['floor'][last]):.2f} ms, batch {batch['project'][-1]:.0f} /"
            f" {batch['floor'][-1]:.0f} ms (project / floor)")
    # Time this process spent on the CPU (the database's work not included): what load hides least.
    out(f"  Python CPU per single POST (median): project {statistics.median(single_cpu['project']):.2f} ms,"
        f" floor {statistics.median(single_cpu['floor']):.2f} ms; per batch: project"
        f" {statistics.median(batch_cpu['project']):.0f} ms, floor {statistics.median(batch_cpu['floor']):.0f} ms")
    _reset()
    median = statistics.median
    return [
        make_row(f"intake: one alert a POST (ms, median of {ROUNDS * SINGLE}) vs same writes by hand",
                 median(single["project"]), "ms", median(single["floor"])),
        make_row(f"intake: {BATCH:,} alerts a POST (ms, median of {ROUNDS}) vs hand unnest upsert",
                 median(batch["project"]), "ms", median(batch["floor"])),
    ]


if __name__ == "__main__":
    print_table(run())
