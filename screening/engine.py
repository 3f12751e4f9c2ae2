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
from screening.spec import EMIT_INPUT_TABLE, EVIDENCE_COLUMN, Compiled, Emit, SpecError, render_title

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


def max_hits() -> int:
    """The most hits one run may raise (settings.HUOYAN_SCREENING_MAX_HITS)."""
    return int(settings.HUOYAN_SCREENING_MAX_HITS)


def too_many_hits_message(count: int | None, cap: int) -> str:
    if count is None:
        return _("The rule is too broad: it finds more than %(max)s hits, the most one run may raise, so "
                 "nothing was raised. Tighten it (a higher threshold, a shorter time window or more "
                 "conditions) and run it again.") % {"max": f"{cap:,}"}
    return _("The rule is too broad: it finds %(n)s hits, more than the %(max)s one run may raise, so "
             "nothing was raised. Tighten it (a higher threshold, a shorter time window or more "
             "conditions) and run it again.") % {"n": f"{count:,}", "max": f"{cap:,}"}


class TooManyHits(LimitExceeded):
    """The rule finds more hits than a run may raise (counted before any evidence is collected)."""

    def __init__(self, count: int | None, cap: int) -> None:
        super().__init__(too_many_hits_message(count, cap))
        self.count, self.cap = count, cap


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
        # Every run orders its result explicitly, so DuckDB need not keep rows in insertion order
        # (which costs memory); a preview's samples (`LIMIT` on a source) do rely on it.
        return _run_bounded(compiled, lim, connect(read=paths, workdir=spill, threads=lim.threads,
                                                   memory_limit=lim.memory_limit,
                                                   preserve_order=kind != "run"))


def _run_bounded(compiled: Compiled, lim: Limits, con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[str], int]:
    done = threading.Event()
    watchdog = threading.Thread(target=_interrupt_after, args=(con, lim.timeout_seconds, done), daemon=True)
    watchdog.start()
    try:
        t0 = time.perf_counter()
        _check_joins(con, compiled, lim)
        staged = compiled.staged
        if staged is not None and compiled.cap is not None:
            # The rule's hits are counted before its evidence is collected: an over-broad rule
            # fails after the work that finds its hits, not after building every one of them.
            con.execute(f"CREATE TEMP TABLE {qi(EMIT_INPUT_TABLE)} AS {staged.input_sql}",
                        _params_of(staged.input_sql, compiled.params))
            (count,) = con.execute(staged.count_sql).fetchone()
            if count > compiled.cap:
                raise TooManyHits(int(count), compiled.cap)
            cur = con.execute(staged.final_sql, _params_of(staged.final_sql, compiled.params))
        else:
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


def _query(compiled: Compiled, *, kind: str = "run") -> tuple[list[tuple], list[str], int]:
    """`run_query`, with a database error turned into a SpecError a person can act on (the
    compiler's checks should have caught it; this is the net below them, never a raw trace)."""
    try:
        return run_query(compiled, kind=kind)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise SpecError(_("the rule could not be run on this data (%(kind)s: %(err)s); check the step settings")
                        % {"kind": type(exc).__name__, "err": first}) from None


def execute(compiled: Compiled, *, code: str) -> tuple[list[HitData], int]:
    rows, names, ms = _query(compiled)
    return hits_from(compiled, rows, names, code=code), ms


def preview_rows(compiled: Compiled) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows of a factory preview, within the preview limits (compile it with
    `sample=limits("preview").sample_rows`)."""
    rows, names, _ms = _query(compiled, kind="preview")
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        if "_hit" in rec:  # the emit step: show the hit's fields
            hit = {k: v for k, v in rec.pop("_hit").items() if k != EVIDENCE_COLUMN}
            rec = {**hit, **{k: v for k, v in rec.items() if k != "_rows"}}
        out.append(json_safe(rec))
    cols = list(out[0].keys()) if out else [n for n in names if n != "_rows"]
    return cols, out
