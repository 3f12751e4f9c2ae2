"""Benchmark: every screen at ten times Suzhou's load (500,000 alerts, 2,300 models), as server
time through the real views (Django's test client, whole middleware stack, session and all),
median of 7, with the do-nothing page measured alongside as the floor, plus the query count.

    python -m bench.screens                  # prints a table
    HUOYAN_BENCH_SCALE_ALERTS=50000 python -m bench.screens   # a smaller city for a quick look
    HUOYAN_BENCH_ONLY=detail,model python -m bench.screens     # some screens (and the floor)

It uses its own database (huoyan_bench_scale; override with HUOYAN_BENCH_SCALE_DB), loaded once
by `seed_scale` (idempotent) and reused by later runs. Screens only read, so runs are repeatable.
Screens another issue adds (subject page, ledger, assessment, project page, inbox) are measured
when their URL exists.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import make_row, print_table, setup_django, use_database

DB_NAME = os.environ.get("HUOYAN_BENCH_SCALE_DB", "huoyan_bench_scale")
ALERTS = int(os.environ.get("HUOYAN_BENCH_SCALE_ALERTS", "500000"))
MODELS = int(os.environ.get("HUOYAN_BENCH_SCALE_MODELS", "2300"))
REPEAT = 7
# A screen slower than this is measured 3 times instead of 7 (the "before" numbers run to minutes).
SLOW_MS = 3000
VERY_SLOW_MS = 20_000  # measured once (a screen this slow is measured to show how slow, not to 1 %)
EXPORT_ROWS = 50_000


def _consume(response: Any) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def _measure(client: Any, url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int, int]:
    """(median ms, queries of one request, response bytes, repeats)."""
    from django.db import connection

    queries: list[str] = []

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        queries.append(sql)
        return execute(sql, params, many, context)

    def once() -> tuple[float, int]:
        started = time.perf_counter()
        response = client.get(url, **(headers or {}))
        size = _consume(response)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        return elapsed, size

    # The first request of a session refreshes its expiry; the count is of a steady-state request.
    first, size = once()
    if first <= VERY_SLOW_MS:
        with connection.execute_wrapper(count):
            once()
    else:
        queries.append("(not counted)")
    if first > VERY_SLOW_MS:
        return first, len(queries), size, 1
    repeat = 3 if first > SLOW_MS else REPEAT
    samples = [once()[0] for _ in range(repeat)]
    return statistics.median(samples), len(queries), size, repeat


def _export_from(rows: int) -> str:
    """The creation date from which the city's newest `rows` alerts were raised."""
    from django.utils import timezone

    from alerts.models import Alert

    at = Alert.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[rows - 1]
    return timezone.localtime(at).date().isoformat()


def _hand_export(since: str, fmt: str) -> Callable[[], None]:
    """The floor for an export: a hand-written loop over the same rows and columns, the results
    columns included (one SQL query with lateral joins, plain tuples, the labels from dicts built
    once, dates converted to local time by PostgreSQL), streamed from a server-side cursor like
    the app's, writing the same file: csv.writer into a buffer, or openpyxl's write-only sheet
    with the same widths, bold frozen header, autofilter and number formats (one reused styled
    cell per typed column). No masking, no formula check."""
    import csv
    import io

    from django.db import connection, transaction
    from django.utils import timezone
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from alerts.models import Domain, RiskLevel
    from alerts.states import Conclusion, Outcome, Status

    tz = timezone.get_current_timezone_name()
    sql = (
        "SELECT a.id, a.title, a.status, a.risk_level,"
        " CASE WHEN a.status IN ('closed', 'merged') OR a.due_at IS NULL THEN 'In time'"
        "  WHEN a.due_at <= now() THEN 'Overdue' WHEN a.due_at <= now() + interval '1 day' THEN 'Due soon'"
        "  ELSE 'In time' END,"
        " u.name, a.domain, s.name, a.rule_code, a.subject_name, NULLIF(a.subject_id_number, ''), a.amount,"
        " COALESCE(NULLIF(p.full_name, ''), p.username), NULLIF(a.conclusion, ''), a.created_at AT TIME ZONE %s,"
        " a.due_at AT TIME ZONE %s, a.closed_at AT TIME ZONE %s,"
        " d.outcome, d.f1, d.f2, d.f3, d.f4, d.cf, d.det, d.tr, CASE WHEN d.case_filed THEN 'yes' END,"
        " d.amount_recovered, d.amount_confiscated, n.notices"
        " FROM alerts_alert a JOIN accounts_orgunit u ON u.id = a.org_unit_id"
        " JOIN alerts_sourcesystem s ON s.id = a.source_id LEFT JOIN accounts_user p ON p.id = a.assignee_id"
        " LEFT JOIN LATERAL (SELECT d.outcome, d.case_filed, d.amount_recovered, d.amount_confiscated,"
        "  pc.f1, pc.f2, pc.f3, pc.f4, pc.cf, pc.det, pc.tr FROM cases_disposition d"
        "  LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE form = 'form_1') f1,"
        "   count(*) FILTER (WHERE form = 'form_2') f2,"
        "   count(*) FILTER (WHERE form = 'form_3') f3, count(*) FILTER (WHERE form = 'form_4') f4,"
        "   count(*) FILTER (WHERE case_filed) cf, count(*) FILTER (WHERE detained) det,"
        "   count(*) FILTER (WHERE transferred) tr FROM cases_dispositionperson WHERE disposition_id = d.id) pc ON true"
        "  WHERE d.alert_id = a.id ORDER BY d.created_at DESC, d.id DESC LIMIT 1) d ON true"
        " LEFT JOIN LATERAL (SELECT string_agg(COALESCE(NULLIF(r.doc_number, ''), r.kind)"
        "  || '（' || r.recipient || '）', '；' ORDER BY r.id) notices"
        "  FROM cases_resultaction r WHERE r.alert_id = a.id AND r.state = 'issued') n ON true"
        " WHERE a.created_at >= %s::date ORDER BY a.created_at DESC, a.id DESC LIMIT 100000"
    )
    labels = {**dict(Status.choices), **dict(RiskLevel.choices), **dict(Domain.choices), **dict(Conclusion.choices),
              **dict(Outcome.choices)}
    labels = {k: str(v) for k, v in labels.items()}
    coded = (2, 3, 6, 13, 17)
    widths = [8, 40, 12, 8, 8, 14, 12, 18, 14, 20, 20, 16, 10, 10, 17, 17, 17, 14, 8, 8, 8, 8, 8, 8, 8, 8, 16, 16, 40]
    formats = {0: "0", 11: "#,##0.00", 14: "yyyy-mm-dd hh:mm", 15: "yyyy-mm-dd hh:mm", 16: "yyyy-mm-dd hh:mm",
               **{i: "0" for i in range(18, 25)}, 26: "#,##0.00", 27: "#,##0.00"}

    def fetched() -> Any:
        # Streamed from a server-side cursor like the app's: holding 50,000 rows in memory would
        # slow the loop down (the garbage collector walks them), flattering the app.
        with transaction.atomic(), connection.chunked_cursor() as cur:
            cur.execute(sql, [tz, tz, tz, since])
            while block := cur.fetchmany(2000):
                yield from block

    def run() -> None:
        rows = fetched()
        if fmt == "csv":
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow([f"h{i}" for i in range(len(widths))])
            for r in rows:
                r = list(r)
                for i in coded:
                    r[i] = labels.get(r[i], r[i])
                for i in (14, 15, 16):
                    if r[i] is not None:
                        r[i] = f"{r[i]:%Y-%m-%d %H:%M}"
                writer.writerow(r)
            buf.getvalue().encode("utf-8")
            return
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("x")
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        head = []
        for i in range(len(widths)):
            cell = WriteOnlyCell(ws, value=f"h{i}")
            cell.font = bold
            head.append(cell)
        ws.append(head)
        styled = []
        for i, f in formats.items():
            cell = WriteOnlyCell(ws)
            cell.number_format = f
            styled.append((i, cell))
        n = 0
        for r in rows:
            r = list(r)
            for i in coded:
                r[i] = labels.get(r[i], r[i])
            for i, cell in styled:
                if r[i] is not None:
                    cell.value = r[i]
                    r[i] = cell
            ws.append(r)
            n += 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{n + 1}"
        wb.save(io.BytesIO())

    return run


def cases() -> list[tuple[str, str, str]]:
    """(name, username, url) for every screen, the do-nothing page first."""
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from alerts.models import Alert
    from cases.models import TimelineEntry
    from screening.models import ScreeningModel, SpecialProject

    # The seed gives a few alerts 2,000-entry timelines; their comments are 10 minutes apart.
    long_id = (TimelineEntry.objects.filter(kind="comment", text__startswith="第1999次")
               .order_by("alert_id").values_list("alert_id", flat=True).first())
    model = ScreeningModel.objects.get(code="scale-m00001")
    busiest_subject = (Alert.objects.filter(dedup_key__startswith="scale-", subject__isnull=False)
                       .values("subject_id").annotate(n=Count("id")).order_by("-n")
                       .values_list("subject_id", flat=True).first())
    project = SpecialProject.objects.filter(name__startswith="scale-").values_list("pk", flat=True).first()
    since = _export_from(EXPORT_ROWS)
    city_leader, county_leader = "scale-city-leader0", "scale-ks-leader0"
    city_sup, county_sup, verifier = "scale-city-supervisor0", "scale-zjg-supervisor0", "scale-zjg-verifier0"
    out = [
        ("do-nothing page (floor)", city_leader, "/bench/nothing/"),
        ("dashboard, city leader (365 days)", city_leader, "/dashboard/"),
        ("dashboard, city leader (all time)", city_leader, "/dashboard/?period=all"),
        ("dashboard, county leader (365 days)", county_leader, "/dashboard/"),
        ("dashboard, county leader (all time)", county_leader, "/dashboard/?period=all"),
        ("stats overview API, city leader", city_leader, "/api/v1/stats/overview/"),
        (f"CSV export, {EXPORT_ROWS:,} rows", city_leader, f"/alerts/export.csv?created_from={since}"),
        (f"xlsx export, {EXPORT_ROWS:,} rows", city_leader, f"/alerts/export.xlsx?created_from={since}"),
        ("alert detail, 2,000 timeline entries", city_sup, f"/alerts/{long_id}/"),
        ("all alerts, q=化工", city_leader, "/alerts/?q=%E5%8C%96%E5%B7%A5"),
        ("all alerts, page 1", city_leader, "/alerts/"),
        ("all alerts with filters, page 200", city_leader, "/alerts/?state=closed&page=200"),
        ("model card, busiest model", city_sup, f"/screening/models/{model.pk}/"),
        ("dispatch board, page 1", county_sup, "/dispatch/"),
        ("dispatch board, page 200", city_sup, "/dispatch/?page=200"),
        ("disposal board", county_sup, "/disposal/"),
        ("my work", verifier, "/my-work/"),
        ("evaluation queue", city_leader, "/evaluation/"),
        ("warehouse", city_sup, "/screening/"),
        ("subject page, busiest subject", city_sup, f"/subjects/{busiest_subject}/"),
        ("subject list", city_sup, "/subjects/"),
        ("special project page", city_leader, f"/screening/projects/{project}/"),
    ]
    # Screens other issues add: measured when they exist.
    for name, who, view in [("notifications", verifier, "web:notifications"),
                            ("inbox", verifier, "web:inbox"),
                            ("rectification ledger", city_sup, "web:ledger"),
                            ("assessment", city_leader, "web:assessment")]:
        try:
            out.append((name, who, reverse(view)))
        except NoReverseMatch:
            pass
    # The assessment's longest period: a whole year (its default is the current quarter).
    out.append(("assessment, whole year", city_leader, f"/assessment/?period={timezone.localdate().year}"))
    return out


def run(out: Callable[[str], None] | None = None) -> list[dict]:
    out = out or (lambda s: print(s, file=sys.stderr))
    setup_django()
    use_database(DB_NAME)
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import clear_url_caches

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_scale", alerts=ALERTS, models=MODELS, stdout=sys.stderr)
    settings.ROOT_URLCONF = "bench.urls"
    # The exports are measured as direct downloads (what the worker runs for a large one too).
    settings.HUOYAN_EXPORT_BACKGROUND_ROWS = 10**9
    settings.ALLOWED_HOSTS = ["*"]
    clear_url_caches()
    setup_test_environment()
    from accounts.models import User

    rows: list[dict] = []
    floor = None
    only = [w for w in os.environ.get("HUOYAN_BENCH_ONLY", "").split(",") if w]
    for name, username, url in cases():
        if only and floor is not None and not any(w in name for w in only):
            continue
        client = Client()
        client.force_login(User.objects.get(username=username))
        ms, queries, size, repeat = _measure(client, url)
        if floor is None:
            floor = ms
        out(f"{name}: {ms:,.1f} ms, {queries} queries, {size / 1024:,.0f} KB (median of {repeat})")
        row = make_row(name, ms, "ms", floor)
        row["context"] = True
        rows.append(row)
        rows.append(make_row(f"  queries: {name}", queries, "queries", None))
        if "export" in name:
            since = url.split("created_from=")[1]
            fmt = "csv" if "csv" in url else "xlsx"
            hand = statistics.median(_time(_hand_export(since, fmt)) for _ in range(3))
            out(f"  hand-written {fmt} loop over the same rows: {hand:,.1f} ms")
            rows.append(make_row(f"  {name} vs a hand-written loop", ms, "ms", hand))
    return rows


def _time(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    print_table(run())
