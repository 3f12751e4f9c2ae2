"""Benchmark: intake throughput against baselines measured in the same run.

- single-alert POSTs per second through /api/v1/intake/alerts/ vs a bare DRF create on the same
  table (no key check, dedup, scope check or timeline);
- batch intake (1,000 alerts a request) alerts per second vs psycopg `executemany` of the same rows.

    python -m bench.intake
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from bench.common import make_row, print_table, setup_django, use_database

DB_NAME = "huoyan_bench_intake"
SINGLE = 400
BATCHES = 10
BATCH = 1000
KEY = "hy_benchkey_0123456789abcdefghijklmnop"


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE alerts_alert, cases_timelineentry, audit_auditevent, workflow_notification,"
                    " workflow_delivery CASCADE")


def _world() -> tuple[int, int]:
    from accounts.services import org_unit_upsert
    from alerts.models import SourceSystem
    from alerts.sources import source_key_assign

    city = org_unit_upsert(code="bench", name="Bench", level="city")
    county = org_unit_upsert(code="bench-county", name="County", level="county", parent=city)
    source = SourceSystem.objects.filter(code="bench-intake").first() or SourceSystem(
        code="bench-intake", name="Bench", org_unit=city)
    source_key_assign(source, KEY)
    return county.pk, source.pk


def _item(i: int, prefix: str) -> dict:
    return {"dedup_key": f"{prefix}-{i}", "title": f"bench {i}", "risk_level": "orange", "org_unit": "bench-county"}


def run(out: Callable[[str], None] | None = None) -> list[dict]:
    out = out or (lambda s: print(s, file=sys.stderr))
    setup_django()
    use_database(DB_NAME)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import clear_url_caches

    call_command("migrate", verbosity=0, interactive=False)
    settings.ROOT_URLCONF = "bench.urls"
    clear_url_caches()
    unit_id, source_id = _world()
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {KEY}"}
    rows: list[dict] = []

    # --- single POSTs ---
    _reset()
    started = time.perf_counter()
    for i in range(SINGLE):
        r = client.post("/api/v1/intake/alerts/", json.dumps(_item(i, "s")), content_type="application/json", **auth)
        assert r.status_code == 201, r.content
    ours = SINGLE / (time.perf_counter() - started)
    _reset()
    started = time.perf_counter()
    for i in range(SINGLE):
        body = {"title": f"bench {i}", "risk_level": "orange", "org_unit": unit_id, "source": source_id,
                "dedup_key": f"b-{i}"}
        r = client.post("/bench/bare-create/", json.dumps(body), content_type="application/json")
        assert r.status_code == 201, r.content
    bare = SINGLE / (time.perf_counter() - started)
    rows.append(make_row(f"intake: single-alert POSTs ({SINGLE})", ours, "alerts/s", bare, higher_is_better=True))

    # --- batches ---
    _reset()
    started = time.perf_counter()
    for b in range(BATCHES):
        payload = json.dumps([_item(i, f"batch{b}") for i in range(BATCH)])
        r = client.post("/api/v1/intake/alerts/", payload, content_type="application/json", **auth)
        assert r.status_code == 201, r.content[:300]
    ours_batch = BATCHES * BATCH / (time.perf_counter() - started)
    _reset()
    from django.utils import timezone

    now = timezone.now()
    columns = ("title", "domain", "risk_level", "risk_rank", "org_unit_id", "source_id", "rule_code",
               "subject_name", "subject_id_number", "subject_credit_code", "details", "dedup_key",
               "occurrence_count", "status", "conclusion", "stage_entered_at", "stage_seq", "escalation_level",
               "supervised", "created_at", "updated_at", "last_occurred_at")
    sql = (f"INSERT INTO alerts_alert ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})")
    started = time.perf_counter()
    for b in range(BATCHES):
        values = [(f"bench {i}", "other", "orange", 1, unit_id, source_id, "", "", "", "", "{}", f"x{b}-{i}", 1,
                   "warning", "", now, 1, 0, False, now, now, now) for i in range(BATCH)]
        with connection.cursor() as cur:
            cur.executemany(sql, values)
    raw_batch = BATCHES * BATCH / (time.perf_counter() - started)
    rows.append(make_row(f"intake: batches of {BATCH:,} ({BATCHES * BATCH:,} alerts)", ours_batch, "alerts/s",
                         raw_batch, higher_is_better=True))
    _reset()
    return rows


if __name__ == "__main__":
    print_table(run())
