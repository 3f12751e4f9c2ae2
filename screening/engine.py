"""Running a compiled spec on DuckDB and turning its result rows into hits (plain data)."""

from __future__ import annotations

import decimal
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from screening.importing import ROW_COLUMN, connect, json_safe
from screening.spec import Compiled, render_title

# Evidence arrives as JSON text; decimals stay exact strings (as `json_safe` makes them).
_EVIDENCE = json.JSONDecoder(parse_float=str)
METRIC_KEYS = ("_window_count", "_window_sum", "_window_start", "_peer_value", "_peer_count", "_ratio")


@dataclass
class HitData:
    group_key: list[Any]
    dedup_key: str
    title: str
    subject: str
    amount: decimal.Decimal | None
    rows: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_") or k == ROW_COLUMN}


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


def hits_from(compiled: Compiled, rows: list[tuple], names: list[str], *, code: str) -> list[HitData]:
    emit = compiled.emit
    assert emit is not None
    hits: list[HitData] = []
    for raw in rows:
        rec = dict(zip(names, raw, strict=True))
        best = rec["_hit"]
        metrics = {k: best[k] for k in METRIC_KEYS if k in best and best[k] is not None}
        if emit.group_by:
            group = [rec[g] for g in emit.group_by]
            evidence = _EVIDENCE.raw_decode(rec["_rows"])[0]  # already only `_row` + data columns
            dedup = _key(code, group)
        else:
            group = [best[ROW_COLUMN]]
            evidence = [_clean(best)]
            content = json.dumps([json_safe(best.get(c)) for c in emit.base_columns], ensure_ascii=False)
            dedup = _key(code, ["r", hashlib.sha1(content.encode()).hexdigest()[:20]])
        amount = _money(rec["_amount"])
        subject = best.get(emit.subject_field) if emit.subject_field else None
        values = {**best, "subject": subject, "amount": amount, "count": rec["_n"],
                  "first_date": rec.get("_first"), "last_date": rec.get("_last"),
                  "ratio": best.get("_ratio"), "peer_value": best.get("_peer_value")}
        if emit.windowed:
            metrics["window_count"] = rec["_n"]
            metrics["first_date"], metrics["last_date"] = rec["_first"], rec["_last"]
        title = render_title(emit.title, values) if emit.title else " / ".join(str(g) for g in group)
        hits.append(HitData(
            group_key=json_safe(group), dedup_key=dedup, title=title or code,
            subject="" if subject is None else str(subject)[:255], amount=amount,
            rows=evidence if emit.group_by else json_safe(evidence), metrics=json_safe(metrics),
        ))
    return hits


def execute(compiled: Compiled, *, code: str) -> tuple[list[HitData], int]:
    rows, names, ms = run_query(compiled)
    return hits_from(compiled, rows, names, code=code), ms


def preview_rows(compiled: Compiled) -> tuple[list[str], list[dict[str, Any]]]:
    rows, names, _ = run_query(compiled)
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        if "_hit" in rec:  # the emit step: show the hit's fields
            rec = {**rec.pop("_hit"), **{k: v for k, v in rec.items() if k != "_rows"}}
        out.append(json_safe(rec))
    cols = list(out[0].keys()) if out else [n for n in names if n != "_rows"]
    return cols, out
