"""Shared plumbing for the benchmarks: Django set-up on a benchmark database, timing, rows.

Every benchmark module exposes `run(out) -> list[dict]` returning rows
`{name, value, unit, baseline, ratio}`, where the baseline is measured in the same run.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/huoyan")
    import django

    django.setup()


def use_database(name: str) -> None:
    """Point the default connection at database `name` on the configured server, creating it."""
    import psycopg
    from django.conf import settings
    from django.db import connections

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("the benchmarks need PostgreSQL (set DATABASE_URL)")
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
        password=db["PASSWORD"] or None, dbname="postgres", autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    connections["default"].close()
    db["NAME"] = name


def time_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def median_ms(fn: Callable[[], object], repeat: int, warm: int = 1) -> float:
    for _ in range(warm):
        fn()
    return statistics.median(time_ms(fn) for _ in range(repeat))


def make_row(name: str, value: float, unit: str, baseline: float | None, *, higher_is_better: bool = False) -> dict:
    """`ratio` is always "how many times worse than the baseline" (1.0 = as good)."""
    ratio = None
    if baseline and value:
        ratio = round(baseline / value if higher_is_better else value / baseline, 2)
    return {"name": name, "value": round(value, 2), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 2), "ratio": ratio}


def print_table(rows: list[dict]) -> None:
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>12}  {'unit':<9}  {'baseline':>12}  {'ratio':>7}")
    for r in rows:
        baseline = "" if r["baseline"] is None else f"{r['baseline']:>12.2f}"
        print(f"{r['name']:<{width}}  {r['value']:>12.2f}  {r['unit']:<9}  {baseline:>12}  {str(r['ratio']):>7}")
