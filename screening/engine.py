"""Running a compiled spec on DuckDB and turning its result rows into hits (plain data)."""

from __future__ import annotations

import decimal
import hashlib
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
from django.conf import settings
from django.utils.translation import gettext as _

from screening.importing import ROW_COLUMN, connect, json_safe, qi
from screening.spec import Compiled, SpecError, render_title

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


# ----- limits: every query runs bounded (settings.HUOYAN_SCREENING_LIMITS) -----

@dataclass(frozen=True)
class Limits:
    timeout_seconds: float  # the whole query, join checks included; enforced by interrupting it
    memory_limit: str  # DuckDB's memory_limit (it spills to the query's own temp directory first)
    threads: int
    max_join_rows: int  # rows any one join step may produce
    max_rows: int  # rows the query may return
    sample_rows: int | None  # previews read at most this many rows of each dataset


def limits(kind: str) -> Limits:
    """The limits of a `preview` (web request) or a `run` (worker)."""
    return Limits(**settings.HUOYAN_SCREENING_LIMITS[kind])


class LimitExceeded(SpecError):
    """The query went over one of its limits; the message says which, in the user's words."""

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.step = step


_PATH_PARAM = re.compile(r"read_parquet\(\$(p\d+)\)")
_PARAM = re.compile(r"\$(p\d+)\b")


def _params_of(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    used = set(_PARAM.findall(sql))
    return {k: v for k, v in params.items() if k in used}


def _check_joins(con: duckdb.DuckDBPyConnection, compiled: Compiled, lim: Limits) -> None:
    """Refuse a join that would produce more than `max_join_rows` rows before the query runs.
    Joins are checked in order, each reading inputs already known to be within the cap, and each
    check stops after cap + 1 rows, so a fan-out that would run for minutes is refused quickly."""
    for i, (sid, kind, _sql) in enumerate(compiled.ctes):
        if kind != "join":
            continue
        with_sql = ", ".join(f"{qi('s_' + s)} AS NOT MATERIALIZED ({q})" for s, _k, q in compiled.ctes[:i + 1])
        probe = (f"WITH {with_sql} SELECT count(*) FROM "
                 f"(SELECT 1 FROM {qi('s_' + sid)} LIMIT {int(lim.max_join_rows) + 1})")
        (n,) = con.execute(probe, _params_of(probe, compiled.params)).fetchone()
        if n > lim.max_join_rows:
            raise LimitExceeded(
                _("step '%(step)s' joins into more than %(max)s rows; join on more specific columns "
                  "or filter the inputs first") % {"step": sid, "max": f"{lim.max_join_rows:,}"}, step=sid)


def _interrupt_after(con: duckdb.DuckDBPyConnection, seconds: float, done: threading.Event) -> None:
    """The statement timeout: once `seconds` have passed, interrupt the connection (again every
    50 ms, since an interrupt between two statements is lost) until the query gives up."""
    if done.wait(seconds):
        return
    while not done.is_set():
        con.interrupt()
        done.wait(0.05)


def run_query(compiled: Compiled, *, kind: str = "run") -> tuple[list[tuple], list[str], int]:
    """Run `compiled` on a connection that may read only the spec's datasets, within the limits of
    `kind`; raise LimitExceeded (a SpecError) when a limit is hit."""
    lim = limits(kind)
    paths = [compiled.params[name] for name in _PATH_PARAM.findall(compiled.sql)]
    with tempfile.TemporaryDirectory(prefix="huoyan-q-") as spill:  # DuckDB's own, empty, deleted after
        return _run_bounded(compiled, lim, connect(read=paths, workdir=spill, threads=lim.threads,
                                                   memory_limit=lim.memory_limit))


def _run_bounded(compiled: Compiled, lim: Limits, con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[str], int]:
    done = threading.Event()
    watchdog = threading.Thread(target=_interrupt_after, args=(con, lim.timeout_seconds, done), daemon=True)
    watchdog.start()
    try:
        t0 = time.perf_counter()
        _check_joins(con, compiled, lim)
        cur = con.execute(compiled.sql, compiled.params)
        rows = cur.fetchmany(lim.max_rows + 1)
        if len(rows) > lim.max_rows:
            raise LimitExceeded(_("the result has more than %(max)s rows") % {"max": f"{lim.max_rows:,}"})
        names = [d[0] for d in cur.description]
        return rows, names, int((time.perf_counter() - t0) * 1000)
    except duckdb.InterruptException:
        raise LimitExceeded(_("the query took longer than %(s)s seconds")
                            % {"s": f"{lim.timeout_seconds:g}"}) from None
    except duckdb.OutOfMemoryException:
        raise LimitExceeded(_("the query needed more than %(mem)s of memory") % {"mem": lim.memory_limit}) from None
    finally:
        done.set()
        watchdog.join()
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
    """The rows of a factory preview, within the preview limits (compile it with
    `sample=limits("preview").sample_rows`)."""
    rows, names, _ms = run_query(compiled, kind="preview")
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        if "_hit" in rec:  # the emit step: show the hit's fields
            rec = {**rec.pop("_hit"), **{k: v for k, v in rec.items() if k != "_rows"}}
        out.append(json_safe(rec))
    cols = list(out[0].keys()) if out else [n for n in names if n != "_rows"]
    return cols, out
