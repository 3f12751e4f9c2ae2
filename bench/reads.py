"""Benchmark: the alert list and the leadership overview at 1,000,000 alerts, each against the
hand-written SQL it needs, measured in the same run, plus the number of queries per request.

    python -m bench.reads

Reuses the 1,000,000-alert database of `bench.sweep` (loaded once, never modified here).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.common import make_row, median_ms, print_table, setup_django, use_database

REPEAT = 7


def _hand_list(unit_path: str) -> Callable[[], None]:
    from django.db import connection

    def run() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM alerts_alert a JOIN accounts_orgunit u ON u.id = a.org_unit_id"
                " WHERE u.path LIKE %s", [unit_path + "%"])
            cur.fetchone()
            cur.execute(
                "SELECT a.*, u.code, u.name, s.code, s.name FROM alerts_alert a"
                " JOIN accounts_orgunit u ON u.id = a.org_unit_id JOIN alerts_sourcesystem s ON s.id = a.source_id"
                " LEFT JOIN accounts_user p ON p.id = a.assignee_id"
                " WHERE u.path LIKE %s ORDER BY a.created_at DESC, a.id DESC LIMIT 50", [unit_path + "%"])
            cur.fetchall()

    return run


def _hand_overview(unit_path: str) -> Callable[[], None]:
    from django.db import connection

    def run() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT a.status, count(*) FROM alerts_alert a JOIN accounts_orgunit u ON u.id = a.org_unit_id"
                " WHERE u.path LIKE %s GROUP BY a.status", [unit_path + "%"])
            cur.fetchall()
            cur.execute(
                "SELECT u.path, count(*), count(*) FILTER (WHERE a.status = 'closed') FROM alerts_alert a"
                " JOIN accounts_orgunit u ON u.id = a.org_unit_id WHERE u.path LIKE %s GROUP BY u.path",
                [unit_path + "%"])
            cur.fetchall()

    return run


def run(out: Callable[[str], None] | None = None) -> list[dict]:
    out = out or (lambda s: print(s, file=sys.stderr))
    setup_django()
    from bench import sweep

    use_database(sweep.DB_NAME)
    sweep.ensure_loaded(out)

    from django.db import connection
    from django.test import Client

    from accounts.models import OrgUnit, Role, User

    city = OrgUnit.objects.get(code="bench")
    county = OrgUnit.objects.get(code="bench-0")
    leader, _ = User.objects.get_or_create(username="bench-city-leader",
                                           defaults={"role": Role.LEADER, "org_unit": city})
    supervisor = User.objects.get(username=f"bench-{Role.SUPERVISOR}-0")
    rows: list[dict] = []
    cases = [
        ("alert list, page of 50, city scope (1,000,000)", leader, "/api/v1/alerts/", _hand_list(city.path)),
        ("alert list, page of 50, one county (50,000)", supervisor, "/api/v1/alerts/", _hand_list(county.path)),
        ("leadership overview, city scope", leader, "/api/v1/stats/overview/", _hand_overview(city.path)),
        ("leadership overview, one county", supervisor, "/api/v1/stats/overview/", _hand_overview(county.path)),
    ]
    for name, user, url, hand in cases:
        client = Client(HTTP_ACCEPT="application/json")
        client.force_login(user)

        def request(client: Client = client, url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.content[:200]

        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):  # noqa: ANN001, ANN202
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            request()
        api_ms = median_ms(request, REPEAT)
        hand_ms = median_ms(hand, REPEAT)
        rows.append(make_row(name, api_ms, "ms", hand_ms))
        # Session and user look-ups are part of every request; report them with the rest.
        rows.append(make_row(f"  queries per request: {name}", len(queries), "queries", None))
    return rows


if __name__ == "__main__":
    print_table(run())
