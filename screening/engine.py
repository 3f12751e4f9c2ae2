"""Running a compiled spec on DuckDB and turning its result rows into hits (plain data)."""

from __future__ import annotations

import decimal
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
from django.utils.translation import gettext as _

from screening.importing import ROW_COLUMN, connect, json_safe
from screening.spec import EVIDENCE_COLUMN, Compiled, Emit, SpecError, render_title

# Evidence arrives as JSON text; decimals stay exact strings (as `json_safe` makes them).
_EVIDENCE = json.JSONDecoder(parse_float=str)
METRIC_KEYS = ("_window_count", "_window_sum", "_window_start", "_peer_value", "_peer_count", "_ratio",
               "_spread_pct", "_group_count")


@dataclass
class HitData:
    group_key: list[Any]
    dedup_key: str
    title: str
    subject: str
    amount: decimal.Decimal | None
    rows: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    subject_id_number: str = ""
    subject_credit_code: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _money(value: Any) -> decimal.Decimal | None:
    if value is None:
        return None
    try:
        return decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01"))
    except decimal.InvalidOperation:
        return None


def _key(code: str, parts: list[Any]) -> str:
    text = "|".join("" if p is None else str(p) for p in parts)
    if len(text) + len(code) > 200:
        text = "h:" + hashlib.sha1(text.encode()).hexdigest()
    return f"{code}:{text}"


def run_query(compiled: Compiled) -> tuple[list[tuple], list[str], int]:
    con = connect()
    try:
        t0 = time.perf_counter()
        cur = con.execute(compiled.sql, compiled.params)
        rows = cur.fetchall()
        names = [d[0] for d in cur.description]
        return rows, names, int((time.perf_counter() - t0) * 1000)
    finally:
        con.close()


def evidence_tables(emit: Emit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence rows split into one table per dataset they came from, with the dataset's own
    headers: a join's repeated left row shows once, its partners each once; `_` columns dropped."""
    tables: dict[str, dict[str, Any]] = {}
    origins = emit.origins
    for row in rows:
        per: dict[str, dict[str, Any]] = {}
        for col, value in row.items():
            if col[:1] == "_":
                continue
            role, header = origins.get(col) or ("", col)
            per.setdefault(role, {})[header] = value
        for role, values in per.items():
            t = tables.get(role)
            if t is None:
                t = tables[role] = {"dataset": emit.dataset_names.get(role, role), "role": role,
                                    "columns": list(values), "rows": [], "seen": set()}
            elif len(values) != len(t["columns"]) or any(h not in values for h in t["columns"]):
                t["columns"] += [h for h in values if h not in t["columns"]]
            key = tuple(v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for v in values.values())
            if key not in t["seen"]:
                t["seen"].add(key)
                t["rows"].append(values)
    return [{"dataset": t["dataset"], "role": t["role"], "columns": t["columns"],
             "rows": [[r.get(c) for c in t["columns"]] for r in t["rows"]]} for t in tables.values()]


def row_fingerprints(rows: list[dict[str, Any]]) -> list[str]:
    """Content hashes of evidence rows (without `_row`): a hit whose evidence has a fingerprint
    its dismissed alert did not have brings new evidence."""
    return sorted({hashlib.sha1(json.dumps({k: v for k, v in r.items() if not k.startswith("_")},
                                           ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()[:16]
                   for r in rows if isinstance(r, dict)})


def hits_from(compiled: Compiled, rows: list[tuple], names: list[str], *, code: str) -> list[HitData]:
    emit = compiled.emit
    assert emit is not None
    hits: list[HitData] = []
    for raw in rows:
        rec = dict(zip(names, raw, strict=True))
        best = rec["_hit"]
        metrics = {k: best[k] for k in (*METRIC_KEYS, *emit.metric_fields) if k in best and best[k] is not None}
        evidence = _EVIDENCE.raw_decode(rec["_rows"])[0] if rec.get("_rows") else []
        if emit.group_by:
            group = [rec[g] for g in emit.group_by]
            dedup = _key(code, group)
        else:
            group = [best[ROW_COLUMN]]
            content = json.dumps([json_safe(best.get(c)) for c in emit.base_columns], ensure_ascii=False)
            dedup = _key(code, ["r", hashlib.sha1(content.encode()).hexdigest()[:20]])
        amount = _money(rec["_amount"])
        subject = best.get(emit.subject_field) if emit.subject_field else None
        values = {**best, "subject": subject, "amount": amount, "count": rec["_n"],
                  "first_date": rec.get("_first"), "last_date": rec.get("_last"),
                  "ratio": best.get("_ratio"), "peer_value": best.get("_peer_value"),
                  "spread_pct": best.get("_spread_pct")}
        if emit.windowed:
            metrics["window_count"] = rec["_n"]
            metrics["first_date"], metrics["last_date"] = rec["_first"], rec["_last"]
        elif rec["_n"] and rec["_n"] > 1:
            metrics["count"] = rec["_n"]
        title = render_title(emit.title, values) if emit.title else " / ".join(str(g) for g in group)
        reason = render_title(emit.reason, values, limit=2000) if emit.reason else ""
        id_number = best.get(emit.subject_id_field) if emit.subject_id_field else None
        credit = best.get(emit.subject_credit_code_field) if emit.subject_credit_code_field else None
        hits.append(HitData(
            group_key=json_safe(group), dedup_key=dedup, title=title or code,
            subject="" if subject is None else str(subject)[:255], amount=amount,
            rows=evidence, metrics=json_safe(metrics), reason=reason,
            subject_id_number="" if id_number is None else str(id_number).strip()[:32],
            subject_credit_code="" if credit is None else str(credit).strip()[:32],
            evidence=evidence_tables(emit, evidence),
        ))
    return hits


def _query(compiled: Compiled) -> tuple[list[tuple], list[str], int]:
    """`run_query`, with a database error turned into a SpecError a person can act on (the
    compiler's checks should have caught it; this is the net below them, never a raw trace)."""
    try:
        return run_query(compiled)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise SpecError(_("the rule could not be run on this data (%(kind)s: %(err)s); check the step settings")
                        % {"kind": type(exc).__name__, "err": first}) from None


def execute(compiled: Compiled, *, code: str) -> tuple[list[HitData], int]:
    rows, names, ms = _query(compiled)
    return hits_from(compiled, rows, names, code=code), ms


def preview_rows(compiled: Compiled) -> tuple[list[str], list[dict[str, Any]]]:
    rows, names, _ms = _query(compiled)
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        if "_hit" in rec:  # the emit step: show the hit's fields
            hit = {k: v for k, v in rec.pop("_hit").items() if k != EVIDENCE_COLUMN}
            rec = {**hit, **{k: v for k, v in rec.items() if k != "_rows"}}
        out.append(json_safe(rec))
    cols = list(out[0].keys()) if out else [n for n in names if n != "_rows"]
    return cols, out
