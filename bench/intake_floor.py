"""The intake benchmark's floor: the same writes as `POST /api/v1/intake/alerts/`, by hand.

Served under `bench/urls.py` through the same middleware as the real endpoint, so a request
costs the same HTTP and middleware work on both sides. Per request, like the project: the API
key is looked up by its prefix and its SHA-256 compared in constant time; the unit must exist
and lie inside the source's unit; the deadline comes from the deadline policy and the
working-day calendar; then in one transaction the alert upsert (same partial unique index, same
occurrence count), and for a new alert its rollup rows (day and month grain), its timeline entry and one audit row.

What the floor leaves out on purpose: field-by-field validation beyond the unit and the risk
level (it trusts the benchmark's well-formed payload), throttling, subjects (the payload has
none), and error reporting. Those are the project's own costs, and the ratio shows them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from alerts.models import RISK_RANK, RiskLevel
from workflow import deadlines
from workflow.rollups import local_day

_ALERT_INSERT = (
    "INSERT INTO alerts_alert (title, domain, risk_level, risk_rank, org_unit_id, source_id, rule_code, subject_name,"
    " subject_id_number, subject_credit_code, details, tags, dedup_key, occurrence_count, last_occurred_at, status,"
    " conclusion, stage_entered_at, stage_seq, due_at, escalation_level, supervised, merged_from_status, created_at,"
    " updated_at)"
    " SELECT t, 'other', r, rk, u, %(source)s, '', '', '', '', '{{}}'::jsonb, '[]'::jsonb, k, 1, %(now)s,"
    " 'warning', '', %(now)s, 1, d, 0, false, '', %(now)s, %(now)s FROM {rows}"
    " ON CONFLICT (source_id, dedup_key) WHERE NOT (status = 'closed')"
    " DO UPDATE SET occurrence_count = alerts_alert.occurrence_count + EXCLUDED.occurrence_count,"
    " last_occurred_at = EXCLUDED.last_occurred_at, updated_at = EXCLUDED.updated_at"
    " RETURNING id, dedup_key, occurrence_count"
)
_ONE = _ALERT_INSERT.format(
    rows="(VALUES (%(t)s::varchar, %(r)s::varchar, %(rk)s::smallint, %(u)s::bigint, %(k)s::varchar,"
         " %(d)s::timestamptz)) AS v(t, r, rk, u, k, d)")
_MANY = _ALERT_INSERT.format(
    rows="unnest(%(t)s::varchar[], %(r)s::varchar[], %(rk)s::smallint[], %(u)s::bigint[], %(k)s::varchar[],"
         " %(d)s::timestamptz[]) AS v(t, r, rk, u, k, d)")
_ROLLUP = (
    "INSERT INTO workflow_alertrollup (dim, org_unit_id, day, key, n, closed, concluded, substantiated, filed,"
    " amount, seconds, working_days) SELECT d, u, dy, k, n, 0, 0, 0, 0, 0, 0, 0"
    " FROM unnest(%s::text[], %s::bigint[], %s::date[], %s::text[], %s::bigint[]) AS r(d, u, dy, k, n)"
    " ON CONFLICT (dim, org_unit_id, day, key) DO UPDATE SET n = workflow_alertrollup.n + EXCLUDED.n"
)
_TIMELINE = (
    "INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)"
    " SELECT a, %s, 'created', '', '', 'warning', %s, %s::jsonb FROM unnest(%s::bigint[]) AS t(a)"
)
_AUDIT = (
    "INSERT INTO audit_auditevent (at, actor, action, object_type, object_id, data)"
    " VALUES (%s, %s, 'alerts_raised', 'source_system', %s, %s::jsonb)"
)


def _refused() -> HttpResponse:
    return JsonResponse({"detail": "refused"}, status=401)


def _source(request: HttpRequest) -> tuple[Any, ...] | None:
    """(id, code, name, unit path) of the active source owning the request's key, or None."""
    parts = request.headers.get("Authorization", "").split()
    if len(parts) != 2 or parts[0].lower() != "api-key":
        return None
    key = parts[1]
    bits = key.split("_")
    prefix = bits[1][:16] if len(bits) >= 3 and bits[0] == "hy" else key[:8]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT s.id, s.code, s.name, u.path, s.key_hash FROM alerts_sourcesystem s"
            " JOIN accounts_orgunit u ON u.id = s.org_unit_id WHERE s.key_prefix = %s AND s.is_active",
            [prefix],
        )
        row = cur.fetchone()
    if row is None or not hmac.compare_digest(row[4], hashlib.sha256(key.encode()).hexdigest()):
        return None
    return row


def _units(codes: set[str], inside: str) -> dict[str, int] | None:
    """Unit ids by code; None when one is unknown or outside the source's unit."""
    with connection.cursor() as cur:
        cur.execute("SELECT code, id, path FROM accounts_orgunit WHERE code = ANY(%s)", [list(codes)])
        found = {code: (pk, path) for code, pk, path in cur.fetchall()}
    if set(found) != codes or any(not path.startswith(inside) for _pk, path in found.values()):
        return None
    return {code: pk for code, (pk, _path) in found.items()}


def _columns(items: list[dict[str, Any]], units: dict[str, int], now: datetime) -> dict[str, list[Any]]:
    """The varying columns, one list each; the deadline once per risk level."""
    due: dict[str, datetime | None] = {}
    cols: dict[str, list[Any]] = {"t": [], "r": [], "rk": [], "u": [], "k": [], "d": []}
    for item in items:
        risk = item["risk_level"]
        if risk not in due:
            due[risk] = deadlines.stage_due_at(stage="warning", risk_level=risk, domain="other", entered_at=now)
        cols["t"].append(item["title"])
        cols["r"].append(risk)
        cols["rk"].append(RISK_RANK[RiskLevel(risk)])
        cols["u"].append(units[item["org_unit"]])
        cols["k"].append(item["dedup_key"])
        cols["d"].append(due[risk])
    return cols


def _write(cols: dict[str, list[Any]], source: tuple[Any, ...], now: datetime, received: int) -> list[tuple]:
    """One transaction: the upsert, then for the new alerts their rollups, timeline and audit."""
    source_id, code, name = source[0], source[1], source[2]
    one = len(cols["k"]) == 1
    params: dict[str, Any] = {k: (v[0] if one else v) for k, v in cols.items()}
    params.update(source=source_id, now=now)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_ONE if one else _MANY, params)
        out = cur.fetchall()
        created = [pk for pk, _key, count in out if count == 1]
        if created:
            unit_of = dict(zip(cols["k"], cols["u"], strict=True))
            # Day rows and their month-grain rows ("@m", the 1st), as rollups.apply writes them.
            day = local_day(now)
            counts: dict[tuple[str, int, Any, str], int] = {}
            for _pk, key, count in out:
                if count == 1:
                    for dim, k in (("status", "warning"), ("domain", "other"), ("source", str(source_id))):
                        for row in ((dim, unit_of[key], day, k), (dim + "@m", unit_of[key], day.replace(day=1), k)):
                            counts[row] = counts.get(row, 0) + 1
            keys = sorted(counts)
            cur.execute(_ROLLUP, [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                                  [k[3] for k in keys], [counts[k] for k in keys]])
            cur.execute(_TIMELINE, [now, name, json.dumps({"source": code}), created])
            cur.execute(_AUDIT, [now, f"source:{code}", str(source_id),
                                 json.dumps({"created": len(created), "received": received,
                                             "first_id": min(created)})])
    return out


@csrf_exempt
def intake_floor(request: HttpRequest) -> HttpResponse:
    """One alert or a list, stored with the project's writes and nothing else."""
    source = _source(request)
    if source is None:
        return _refused()
    payload = json.loads(request.body)
    items = payload if isinstance(payload, list) else [payload]
    units = _units({i["org_unit"] for i in items}, source[3])
    if units is None or any(i["risk_level"] not in RISK_RANK for i in items):
        return JsonResponse({"detail": "invalid"}, status=400)
    now = timezone.now()
    out = _write(_columns(items, units, now), source, now, len(items))
    return JsonResponse({"results": [{"id": pk, "dedup_key": key, "created": count == 1} for pk, key, count in out]},
                        status=201)
