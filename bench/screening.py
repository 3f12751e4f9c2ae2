"""Screening benchmark (not a test): 1,000,000 generated awards and contracts.

    python -m bench.screening            # prints a table, writes bench/results/screening.{json,md}
    python -m bench.screening steps big  # only the new steps at 1M rows / the 10M-row memory and cap runs

Environment: HUOYAN_BENCH_ROWS (rows of the 1M runs and steps, default 1,000,000),
HUOYAN_BENCH_REPEATS (best-of rounds, default 7), HUOYAN_BENCH_BIG_ROWS (the big run's size,
default 10,000,000; it is compared with 1,000,000 rows), HUOYAN_BENCH_BIG_ROUNDS (rounds of the
capped run and its hand-written SQL at that size, default 3; medians are reported),
HUOYAN_BENCH_CAP (its hit cap, default 50,000). The memory and thread limits are the app's own
(HUOYAN_IMPORT_MEMORY_LIMIT, HUOYAN_RUN_MEMORY_LIMIT, …). Only the sections run are replaced in
bench/results/screening.md; the others stay.

Figures, all measured in the same run on the same files:
- import: the project's CSV → typed Parquet path vs DuckDB's own `read_csv` → Parquet;
- `repeat_winner` and `contract_splitting`: the project's run (compile the spec with the hit cap
  as a run does, store the emit's input and count its hits, one emit query, build the hits with
  their evidence rows) vs the same logic written by hand in DuckDB SQL vs a straightforward
  pandas version;
- peak memory (max RSS) of each variant, each run in a fresh process;
- the richer steps (`compute`+`peer`, `aggregate`, `join` with `match: normalized`, `spread`), each
  vs hand-written DuckDB SQL returning the same rows (the hits with their evidence), interleaved;
- peak memory (max RSS) of importing and running `repeat_winner` in one fresh process at 1,000,000
  and at 10,000,000 rows, under the app's DuckDB memory limits;
- the hit cap on an over-broad `contract_splitting` at 10,000,000 rows: the time until the run
  fails vs hand-written DuckDB SQL computing the same hits with `LIMIT cap + 1`, and vs the same
  run uncapped (hits built with their evidence).

`run()` returns rows `{name, value, unit, baseline, ratio}` for the `python -m bench` runner.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

N_ROWS = int(os.environ.get("HUOYAN_BENCH_ROWS", "1000000"))
REPEATS = int(os.environ.get("HUOYAN_BENCH_REPEATS", "7"))
BIG_ROWS = int(os.environ.get("HUOYAN_BENCH_BIG_ROWS", "10000000"))
BIG_ROUNDS = int(os.environ.get("HUOYAN_BENCH_BIG_ROUNDS", "3"))
BIG_CAP = int(os.environ.get("HUOYAN_BENCH_CAP", "50000"))  # the hit cap of the over-broad run
MAX_ROWS = 100_000_000  # the bench measures the engine, not the upload row cap
RESULTS = Path(__file__).resolve().parent / "results"

RW = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 90, "min_count": 5}
CS = {"buyer_field": "采购人", "supplier_field": "供应商", "date_field": "签订日期", "amount_field": "金额",
      "threshold": 1000000, "window_days": 90}


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _generate(workdir: Path) -> dict[str, Path]:
    """1M awards and 1M contracts as CSV: 2,000 buyers; one company in ten is the buyer's favourite."""
    import duckdb

    con = duckdb.connect()
    awards, contracts = workdir / "awards.csv", workdir / "contracts.csv"
    con.execute(f"""
        COPY (SELECT
            '采购单位' || lpad(CAST(b AS VARCHAR), 4, '0') AS 采购人,
            '公司' || lpad(CAST(CASE WHEN h % 10 = 0 THEN (b * 7919) % 20000 ELSE (h // 10) % 20000 END
                                AS VARCHAR), 5, '0') AS 中标人,
            strftime(DATE '2022-01-01' + CAST((h // 7) % 1095 AS INTEGER), '%Y-%m-%d') AS 中标日期,
            CAST(round(((h // 13) % 2000000) / 100.0 + 1000, 2) AS DECIMAL(12,2)) AS 金额
        FROM (SELECT i, i % 2000 AS b, hash(i) AS h FROM range({N_ROWS}) t(i)))
        TO '{awards}' (HEADER, DELIMITER ',')""")
    con.execute(f"""
        COPY (SELECT
            '采购单位' || lpad(CAST(b AS VARCHAR), 4, '0') AS 采购人,
            '供应商' || lpad(CAST(CASE WHEN h % 10 = 0 THEN (b * 7919) % 20000 ELSE (h // 10) % 20000 END
                                 AS VARCHAR), 5, '0') AS 供应商,
            strftime(DATE '2022-01-01' + CAST((h // 7) % 1095 AS INTEGER), '%Y/%m/%d') AS 签订日期,
            CAST(round(((h // 13) % 120000000) / 100.0 + 50000, 2) AS DECIMAL(14,2)) AS 金额
        FROM (SELECT i, i % 2000 AS b, hash(i + 7) AS h FROM range({N_ROWS}) t(i)))
        TO '{contracts}' (HEADER, DELIMITER ',')""")
    con.close()
    return {"awards": awards, "contracts": contracts}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(fn: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ----- variants (each runs in a fresh process: its max RSS is its own) -----

def v_import_project(csv: str, workdir: str) -> dict[str, Any]:
    _setup()
    from screening.importing import import_file

    def go() -> Any:
        out = Path(tempfile.mkdtemp(dir=workdir))
        return import_file(Path(csv), Path(csv).name, out, max_rows=MAX_ROWS)

    secs, result = _best(go, 1)
    return {"seconds": secs, "peak_mb": _peak_mb(), "path": str(result.path), "rows": result.row_count,
            "columns": result.columns}


def v_import_duckdb(csv: str, workdir: str) -> dict[str, Any]:
    import duckdb

    def go() -> None:
        con = duckdb.connect()
        out = Path(tempfile.mkdtemp(dir=workdir)) / "plain.parquet"
        con.execute("COPY (SELECT * FROM read_csv(?, header=true)) TO ? (FORMAT parquet, COMPRESSION zstd)",
                    [csv, str(out)])
        con.close()

    secs, _ = _best(go, 1)
    return {"seconds": secs, "peak_mb": _peak_mb()}


def v_project(template: str, role: str, path: str, columns: list[dict[str, str]], params: dict,
              repeats: int = REPEATS) -> dict[str, Any]:
    _setup()
    from screening import engine
    from screening.spec import DatasetRef, compile_spec
    from screening.templates import expand

    def go() -> Any:
        compiled = compile_spec(expand(template, params), {role: DatasetRef(path, columns)}, cap=engine.max_hits())
        return engine.execute(compiled, code=template)[0]

    secs, hits = _best(go, repeats)
    return {"seconds": secs, "peak_mb": _peak_mb(), "hits": len(hits)}


HAND_SQL = {
    "repeat_winner": """
        SELECT 采购人, 中标人, max(n) AS n FROM (
            SELECT 采购人, 中标人, count(*) OVER (PARTITION BY 采购人, 中标人 ORDER BY 中标日期
                   RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW) AS n
            FROM read_parquet(?) WHERE 中标日期 IS NOT NULL)
        GROUP BY 采购人, 中标人 HAVING max(n) >= 5""",
    "contract_splitting": """
        SELECT 采购人, 供应商, max(s) AS s FROM (
            SELECT 采购人, 供应商,
                   count(*) OVER w AS n, sum(金额) OVER w AS s
            FROM read_parquet(?) WHERE 金额 < 1000000 AND 签订日期 IS NOT NULL
            WINDOW w AS (PARTITION BY 采购人, 供应商 ORDER BY 签订日期
                         RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW))
        WHERE n >= 2 AND s >= 1000000 GROUP BY 采购人, 供应商""",
}


# The same logic with the same output as the project's run: one row per group with the rows of its
# best window as evidence (a like-for-like baseline; HAND_SQL above is the minimal query).
HAND_SQL_EVIDENCE = {
    "repeat_winner": """
        WITH w AS (
            SELECT *, count(*) OVER (PARTITION BY 采购人, 中标人 ORDER BY 中标日期
                   RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW) AS n
            FROM read_parquet($p) WHERE 采购人 IS NOT NULL AND 中标人 IS NOT NULL AND 中标日期 IS NOT NULL),
        best AS (SELECT 采购人, 中标人, arg_max(中标日期, n) AS d_end FROM w GROUP BY ALL HAVING max(n) >= 5)
        SELECT b.采购人, b.中标人, to_json(list(a ORDER BY a.中标日期, a._row)) AS evidence
        FROM best b JOIN read_parquet($p) a ON a.采购人 = b.采购人 AND a.中标人 = b.中标人
             AND a.中标日期 BETWEEN CAST(b.d_end - INTERVAL 89 DAYS AS DATE) AND b.d_end
        GROUP BY ALL""",
    "contract_splitting": """
        WITH c AS (SELECT * FROM read_parquet($p) WHERE 金额 < 1000000),
        w AS (
            SELECT *, count(*) OVER win AS n, sum(金额) OVER win AS s FROM c
            WHERE 采购人 IS NOT NULL AND 供应商 IS NOT NULL AND 签订日期 IS NOT NULL
            WINDOW win AS (PARTITION BY 采购人, 供应商 ORDER BY 签订日期
                           RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)),
        best AS (SELECT 采购人, 供应商, arg_max(签订日期, s) AS d_end FROM w
                 WHERE n >= 2 AND s >= 1000000 GROUP BY ALL)
        SELECT b.采购人, b.供应商, sum(a.金额) AS amount, to_json(list(a ORDER BY a.签订日期, a._row)) AS evidence
        FROM best b JOIN c a ON a.采购人 = b.采购人 AND a.供应商 = b.供应商
             AND a.签订日期 BETWEEN CAST(b.d_end - INTERVAL 89 DAYS AS DATE) AND b.d_end
        GROUP BY ALL""",
}


def v_hand_evidence(template: str, path: str, repeats: int = REPEATS) -> dict[str, Any]:
    _setup()
    from screening.importing import connect

    def go() -> Any:
        con = connect(read=[path])
        rows = con.execute(HAND_SQL_EVIDENCE[template], {"p": path}).fetchall()
        con.close()
        return rows

    secs, rows = _best(go, repeats)
    return {"seconds": secs, "peak_mb": _peak_mb(), "hits": len(rows)}


def v_hand(template: str, path: str, repeats: int = REPEATS) -> dict[str, Any]:
    _setup()
    from screening.importing import connect  # same DuckDB settings as the project

    def go() -> Any:
        con = connect(read=[path])
        rows = con.execute(HAND_SQL[template], [path]).fetchall()
        con.close()
        return rows

    secs, rows = _best(go, repeats)
    return {"seconds": secs, "peak_mb": _peak_mb(), "hits": len(rows)}


def v_pandas(template: str, path: str) -> dict[str, Any]:
    import pandas as pd

    def repeat_winner() -> Any:
        df = pd.read_parquet(path, columns=["采购人", "中标人", "中标日期"]).dropna()
        df["中标日期"] = pd.to_datetime(df["中标日期"])
        df = df.sort_values(["采购人", "中标人", "中标日期"])
        df["one"] = 1
        counts = (df.groupby(["采购人", "中标人"]).rolling("90D", on="中标日期")["one"].sum())
        best = counts.groupby(level=[0, 1]).max()
        return best[best >= 5]

    def contract_splitting() -> Any:
        df = pd.read_parquet(path, columns=["采购人", "供应商", "签订日期", "金额"]).dropna()
        df["金额"] = df["金额"].astype(float)
        df = df[df["金额"] < 1_000_000].copy()
        df["签订日期"] = pd.to_datetime(df["签订日期"])
        df = df.sort_values(["采购人", "供应商", "签订日期"])
        df["one"] = 1
        roll = df.groupby(["采购人", "供应商"]).rolling("90D", on="签订日期")[["one", "金额"]].sum()
        hits = roll[(roll["one"] >= 2) & (roll["金额"] >= 1_000_000)]
        return hits.groupby(level=[0, 1]).size()

    fn = repeat_winner if template == "repeat_winner" else contract_splitting
    secs, out = _best(fn, 1)
    return {"seconds": secs, "peak_mb": _peak_mb(), "hits": len(out)}


def v_interleaved(template: str, role: str, path: str, columns: list[dict[str, str]], params: dict,
                  rounds: int) -> dict[str, float]:
    """Best-of-`rounds` times of the project, the minimal hand query and the hand query with
    evidence, run in turn in one process, so a load spike on a shared machine hits all three alike."""
    _setup()
    from screening import engine
    from screening.importing import connect
    from screening.spec import DatasetRef, compile_spec
    from screening.templates import expand

    def project() -> Any:
        compiled = compile_spec(expand(template, params), {role: DatasetRef(path, columns)}, cap=engine.max_hits())
        return engine.execute(compiled, code=template)[0]

    run = engine.limits("run")  # the hand-written SQL gets the same threads and memory as a run

    def hand() -> Any:
        con = connect(read=[path], threads=run.threads, memory_limit=run.memory_limit)
        try:
            return con.execute(HAND_SQL[template], [path]).fetchall()
        finally:
            con.close()

    def hand_evidence() -> Any:
        con = connect(read=[path], threads=run.threads, memory_limit=run.memory_limit)
        try:
            return con.execute(HAND_SQL_EVIDENCE[template], {"p": path}).fetchall()
        finally:
            con.close()

    best = {"project": float("inf"), "hand": float("inf"), "hand_evidence": float("inf")}
    for _ in range(rounds):
        for name, fn in (("project", project), ("hand", hand), ("hand_evidence", hand_evidence)):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _in_fresh_process(fn: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _row(name: str, value: float, unit: str, baseline: float, *, context: bool = False) -> dict[str, Any]:
    # context=True: the project is the baseline (pandas vs project), so a high ratio is pandas' cost.
    return {"name": name, "value": round(value, 3), "unit": unit, "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 2) if baseline else None, "context": context}


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="huoyan-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        files = _generate(work)
        print(f"generated 2 × {N_ROWS:,} rows in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        for template, role, params in (("repeat_winner", "awards", RW), ("contract_splitting", "contracts", CS)):
            csv = str(files[role])
            imp = _in_fresh_process(v_import_project, csv, tmp)
            plain = _in_fresh_process(v_import_duckdb, csv, tmp)
            rows.append(_row(f"screening: import {N_ROWS:,} {role} (project vs plain DuckDB CSV→Parquet)",
                             imp["seconds"], "s", plain["seconds"]))
            # Peak memory (and hit counts) from one run of each variant in a fresh process …
            proj = _in_fresh_process(v_project, template, role, imp["path"], imp["columns"], params, 1)
            hand = _in_fresh_process(v_hand, template, imp["path"], 1)
            hand_ev = _in_fresh_process(v_hand_evidence, template, imp["path"], 1)
            pand = _in_fresh_process(v_pandas, template, imp["path"])
            # … times from the three DuckDB variants interleaved in one process.
            times = _in_fresh_process(v_interleaved, template, role, imp["path"], imp["columns"], params, REPEATS)
            proj["seconds"], hand["seconds"], hand_ev["seconds"] = (
                times["project"], times["hand"], times["hand_evidence"])
            if len({proj["hits"], hand["hits"], hand_ev["hits"], pand["hits"]}) != 1:
                print(f"WARNING {template}: hits differ: project {proj['hits']}, hand {hand['hits']}, "
                      f"hand+evidence {hand_ev['hits']}, pandas {pand['hits']}", file=sys.stderr)
            rows += [
                _row(f"screening: {template} run, project vs hand-written DuckDB SQL ({proj['hits']} hits)",
                     proj["seconds"], "s", hand["seconds"]),
                _row(f"screening: {template} run, project vs hand-written SQL that also returns the evidence rows",
                     proj["seconds"], "s", hand_ev["seconds"]),
                _row(f"screening: {template} run, pandas vs project", pand["seconds"], "s", proj["seconds"],
                     context=True),
                _row(f"screening: {template} peak memory, project vs hand SQL", proj["peak_mb"], "MB",
                     hand["peak_mb"]),
                _row(f"screening: {template} peak memory, pandas vs project", pand["peak_mb"], "MB",
                     proj["peak_mb"], context=True),
                _row(f"screening: import {role} peak memory, project vs plain DuckDB", imp["peak_mb"], "MB",
                     plain["peak_mb"]),
            ]
    return rows


# ----- the richer steps at N_ROWS rows, each vs hand-written DuckDB SQL returning the same rows -----

def _generate_steps(workdir: Path) -> dict[str, str]:
    """Typed Parquet files (with `_row`) for the new steps: pond electricity, awards with company
    names in many spellings and a relations list of short names, tender bids."""
    import duckdb

    con = duckdb.connect()
    out = {k: str(workdir / f"{k}.parquet") for k in ("ponds", "awards", "relations", "bids")}
    con.execute(f"""
        COPY (SELECT i + 1 AS _row, '户' || CAST(i AS VARCHAR) AS 户主, '村' || CAST(i % 5000 AS VARCHAR) AS 村,
                     CAST(CASE WHEN hash(i) % 2000 = 0 THEN 40000 + hash(i) % 5000 ELSE 1000 + hash(i) % 2000 END
                          AS DECIMAL(12,2)) AS 用电量,
                     CAST(10 + hash(i + 1) % 3 AS DECIMAL(8,2)) AS 面积
              FROM range({N_ROWS}) t(i)) TO '{out["ponds"]}' (FORMAT parquet)""")
    con.execute(f"""
        COPY (SELECT i + 1 AS _row, '项目' || CAST(i AS VARCHAR) AS 项目,
                     '单位' || CAST(i % 2000 AS VARCHAR) AS 采购人,
                     '企业' || CAST(hash(i) % 200000 AS VARCHAR) ||
                         ['有限公司', '（苏州）有限公司', '有限责任公司', '', '分公司'][1 + i % 5] AS 中标人
              FROM range({N_ROWS}) t(i)) TO '{out["awards"]}' (FORMAT parquet)""")
    con.execute(f"""
        COPY (SELECT i + 1 AS _row, '企业' || CAST(i * 97 AS VARCHAR) || '公司' AS 企业
              FROM range(200) t(i)) TO '{out["relations"]}' (FORMAT parquet)""")
    con.execute(f"""
        COPY (SELECT i + 1 AS _row, '标段' || CAST(i // 5 AS VARCHAR) AS 标段, '投标人' || CAST(hash(i) % 50000
                     AS VARCHAR) AS 投标人,
                     CAST(CASE WHEN (i // 5) % 1000 = 0 THEN 100000 + i % 5 * 100
                               ELSE 100000 + hash(i) % 50000 END AS DECIMAL(12,2)) AS 报价
              FROM range({N_ROWS}) t(i)) TO '{out["bids"]}' (FORMAT parquet)""")
    con.close()
    return out


STEP_COLUMNS = {
    "ponds": [{"name": "户主", "type": "text"}, {"name": "村", "type": "text"}, {"name": "用电量", "type": "decimal"},
              {"name": "面积", "type": "decimal"}],
    "awards": [{"name": "项目", "type": "text"}, {"name": "采购人", "type": "text"},
               {"name": "中标人", "type": "text"}],
    "relations": [{"name": "企业", "type": "text"}],
    "bids": [{"name": "标段", "type": "text"}, {"name": "投标人", "type": "text"}, {"name": "报价", "type": "decimal"}],
}

STEP_SPECS: dict[str, dict[str, Any]] = {
    "compute+peer": {"steps": [
        {"id": "s", "type": "source", "dataset": "ponds"},
        {"id": "c", "type": "compute", "input": "s", "columns": [
            {"name": "每亩", "expr": {"op": "div", "args": [{"field": "用电量"}, {"field": "面积"}]}}]},
        {"id": "p", "type": "peer", "input": "c", "value_field": "每亩", "group_by": ["村"], "factor": 3},
        {"id": "o", "type": "emit", "input": "p", "subject_field": "户主"}]},
    "aggregate": {"steps": [
        {"id": "s", "type": "source", "dataset": "ponds"},
        {"id": "a", "type": "aggregate", "input": "s", "group_by": ["村"],
         "metrics": [{"fn": "count", "name": "户数"}, {"fn": "max", "field": "用电量", "name": "最高"}],
         "having": [{"field": "最高", "op": ">=", "value": 44000}]},
        {"id": "o", "type": "emit", "input": "a", "group_by": ["村"]}]},
    "join normalized": {"steps": [
        {"id": "s", "type": "source", "dataset": "awards"},
        {"id": "r", "type": "source", "dataset": "relations"},
        {"id": "j", "type": "join", "left": "s", "right": "r", "how": "semi", "match": "normalized",
         "on": [{"left": "中标人", "right": "企业"}]},
        {"id": "o", "type": "emit", "input": "j", "subject_field": "中标人"}]},
    "spread": {"steps": [
        {"id": "s", "type": "source", "dataset": "bids"},
        {"id": "sp", "type": "spread", "input": "s", "group_by": ["标段"], "value_field": "报价",
         "max_spread_pct": 1, "min_count": 3},
        {"id": "o", "type": "emit", "input": "sp", "group_by": ["标段"]}]},
}

_SUFFIX = "'(股份有限公司|有限责任公司|有限公司|分公司|项目部|公司)$'"
_NORM = ("lower(regexp_replace(regexp_replace(regexp_replace({x}, '[(（][^)）]*[)）]', '', 'g'), "
         + _SUFFIX + ", ''), " + _SUFFIX + ", ''))")

# Hand-written DuckDB SQL returning the same rows as the project: the hits, each with its evidence rows.
STEP_HAND_SQL = {
    "compute+peer": """
        WITH c AS (SELECT *, CAST(用电量 AS DOUBLE) / NULLIF(CAST(面积 AS DOUBLE), 0) AS 每亩
                   FROM read_parquet($ponds)),
        p AS (SELECT *, median(每亩) OVER (PARTITION BY 村) AS med FROM c WHERE 村 IS NOT NULL)
        SELECT _row, 户主, to_json([{'户主': 户主, '村': 村, '用电量': 用电量, '面积': 面积, '每亩': 每亩}])
        FROM p WHERE 每亩 > 3 * med ORDER BY _row""",
    "aggregate": """
        SELECT 村, count(*) AS 户数, max(用电量) AS 最高,
               to_json(list({'_row': _row, '户主': 户主, '村': 村, '用电量': 用电量, '面积': 面积}
                            ORDER BY _row)[1:200])
        FROM read_parquet($ponds) WHERE 村 IS NOT NULL GROUP BY 村 HAVING max(用电量) >= 44000 ORDER BY 村""",
    "join normalized": f"""
        SELECT a._row, a.中标人, to_json([{{'项目': a.项目, '采购人': a.采购人, '中标人': a.中标人}}])
        FROM read_parquet($awards) a SEMI JOIN read_parquet($relations) r
          ON {_NORM.format(x='a.中标人')} = {_NORM.format(x='r.企业')} ORDER BY a._row""",
    "spread": """
        WITH w AS (SELECT *, (max(报价) OVER g - min(报价) OVER g) * 100.0 / min(报价) OVER g AS pct,
                          count(*) OVER g AS n FROM read_parquet($bids) WINDOW g AS (PARTITION BY 标段))
        SELECT 标段, to_json(list({'_row': _row, '标段': 标段, '投标人': 投标人, '报价': 报价}
                                ORDER BY _row))
        FROM w WHERE pct <= 1 AND n >= 3 GROUP BY 标段 ORDER BY 标段""",
}


def v_steps_interleaved(files: dict[str, str], rounds: int) -> dict[str, dict[str, Any]]:
    """Each new step: the project's run (compile, one query, hits with evidence) vs the hand SQL,
    interleaved best-of-`rounds` in one process."""
    _setup()
    from screening import engine
    from screening.importing import connect
    from screening.spec import DatasetRef, compile_spec

    refs = {role: DatasetRef(path, STEP_COLUMNS[role], role) for role, path in files.items()}
    out = {}
    for name, spec in STEP_SPECS.items():
        sql = STEP_HAND_SQL[name]
        params = {k: v for k, v in files.items() if f"${k}" in sql}

        def project(spec: dict[str, Any] = spec) -> Any:
            return engine.execute(compile_spec(spec, refs, cap=engine.max_hits()), code="bench")[0]

        def hand(sql: str = sql, params: dict[str, str] = params) -> Any:
            con = connect()
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.close()

        best = {"project": float("inf"), "hand": float("inf")}
        counts = {}
        for _ in range(rounds):
            for label, fn in (("project", project), ("hand", hand)):
                t0 = time.perf_counter()
                result = fn()
                best[label] = min(best[label], time.perf_counter() - t0)
                counts[label] = len(result)
        out[name] = {**best, "hits": counts}
    return out


def v_big_repeat_winner(csv: str, workdir: str) -> dict[str, Any]:
    """Import and run repeat_winner in this (fresh) process, as one worker would: its peak memory
    after the import and after the run."""
    _setup()
    from screening import engine
    from screening.importing import import_file
    from screening.spec import DatasetRef, compile_spec
    from screening.templates import expand

    t0 = time.perf_counter()
    imported = import_file(Path(csv), "awards.csv", Path(tempfile.mkdtemp(dir=workdir)), max_rows=MAX_ROWS)
    import_seconds, after_import = time.perf_counter() - t0, _peak_mb()
    t0 = time.perf_counter()
    refs = {"awards": DatasetRef(str(imported.path), imported.columns)}
    compiled = compile_spec(expand("repeat_winner", RW), refs, cap=engine.max_hits())
    hits, _ms = engine.execute(compiled, code="bench")
    return {"seconds": time.perf_counter() - t0, "import_seconds": import_seconds, "peak_mb": _peak_mb(),
            "import_peak_mb": after_import, "hits": len(hits), "rows": imported.row_count}


def v_cap(path: str, columns: list[dict[str, str]], cap: int, rounds: int) -> dict[str, Any]:
    """An over-broad model (contract_splitting) with the hit cap: the time until it fails, vs
    hand-written SQL computing the same hits with LIMIT cap + 1 (same threads and memory), in turn
    `rounds` times; then the same run uncapped once (every hit built with its evidence)."""
    _setup()
    from screening import engine
    from screening.importing import connect
    from screening.spec import DatasetRef, compile_spec
    from screening.templates import expand

    refs = {"contracts": DatasetRef(path, columns)}
    lim = engine.limits("run")
    failed: dict[str, Any] = {}

    def capped() -> None:
        try:
            engine.execute(compile_spec(expand("contract_splitting", CS), refs, cap=cap), code="bench")
        except engine.TooManyHits as exc:
            failed.update(count=exc.count, message=str(exc))
        else:
            raise AssertionError("the over-broad rule did not fail")

    def hand() -> int:
        with tempfile.TemporaryDirectory(prefix="huoyan-bench-q-") as spill:
            con = connect(read=[path], workdir=spill, threads=lim.threads, memory_limit=lim.memory_limit,
                          preserve_order=False)
            try:
                return len(con.execute(HAND_SQL["contract_splitting"] + f" LIMIT {cap + 1}", [path]).fetchall())
            finally:
                con.close()

    times: dict[str, list[float]] = {"capped": [], "hand": []}
    hand_rows = 0
    for _ in range(rounds):
        for name, fn in (("hand", hand), ("capped", capped)):
            t0 = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - t0)
            hand_rows = out if name == "hand" else hand_rows
    t0 = time.perf_counter()
    full = engine.execute(compile_spec(expand("contract_splitting", CS), refs), code="bench")[0]
    return {"capped_seconds": statistics.median(times["capped"]), "hand_seconds": statistics.median(times["hand"]),
            "capped_all": times["capped"], "hand_all": times["hand"], "hand_rows": hand_rows,
            "full_seconds": time.perf_counter() - t0, "full_hits": len(full), "peak_mb": _peak_mb(), **failed}


def run_steps() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="huoyan-bench-steps-") as tmp:
        files = _generate_steps(Path(tmp))
        result = _in_fresh_process(v_steps_interleaved, files, REPEATS)
        for name, r in result.items():
            if r["hits"]["project"] != r["hits"]["hand"]:
                print(f"WARNING {name}: project {r['hits']['project']} hits, hand SQL {r['hits']['hand']}",
                      file=sys.stderr)
            rows.append(_row(f"screening: {name} on {N_ROWS:,} rows, project vs hand-written DuckDB SQL "
                             f"({r['hits']['project']} hits, same rows)", r["project"], "s", r["hand"]))
    return rows


def run_big(n_rows: int = BIG_ROWS, small: int = 1_000_000) -> list[dict[str, Any]]:
    """Peak memory of import + repeat_winner at `small` and at `n_rows` rows (each in a fresh
    process, under the app's memory limits), and the hit cap failing fast on contract_splitting."""
    global N_ROWS
    rows: list[dict[str, Any]] = []
    saved = N_ROWS
    _setup()
    from screening.engine import limits
    from screening.importing import import_limits

    mem = f"DuckDB memory_limit: import {import_limits()['memory_limit']}, run {limits('run').memory_limit}"
    try:
        peaks = {}
        for n in (small, n_rows):
            N_ROWS = n
            with tempfile.TemporaryDirectory(prefix="huoyan-bench-big-") as tmp:
                files = _generate(Path(tmp))
                peaks[n] = _in_fresh_process(v_big_repeat_winner, str(files["awards"]), tmp)
                print(f"{n:,} rows: {peaks[n]}", file=sys.stderr)
                if n != n_rows:
                    continue
                imp = _in_fresh_process(v_import_project, str(files["contracts"]), tmp)
                cap = _in_fresh_process(v_cap, imp["path"], imp["columns"], BIG_CAP, BIG_ROUNDS)
                print(f"cap: {cap}", file=sys.stderr)
        big, base = peaks[n_rows], peaks[small]
        rows += [
            _row(f"screening: repeat_winner import + run in one process, peak RSS at {n_rows:,} vs {small:,} rows "
                 f"({mem}; {big['hits']} hits; import {big['import_seconds']:.1f} s, run {big['seconds']:.1f} s)",
                 big["peak_mb"], "MB", base["peak_mb"]),
            _row(f"screening: import alone, peak RSS at {n_rows:,} vs {small:,} rows", big["import_peak_mb"], "MB",
                 base["import_peak_mb"]),
            _row(f"screening: contract_splitting on {n_rows:,} rows over the hit cap of {BIG_CAP:,} "
                 f"({cap['count']:,} hits): time to the failure vs hand-written DuckDB SQL with LIMIT cap + 1 "
                 f"(median of {BIG_ROUNDS})", cap["capped_seconds"], "s", cap["hand_seconds"]),
            _row(f"screening: contract_splitting on {n_rows:,} rows: time to the cap failure vs the same run "
                 f"uncapped ({cap['full_hits']:,} hits built with their evidence)", cap["capped_seconds"], "s",
                 cap["full_seconds"], context=True),
        ]
    finally:
        N_ROWS = saved
    return rows


def _markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| benchmark | value | unit | baseline | ratio |", "|---|---:|---|---:|---:|"]
    lines += [f"| {r['name']} | {r['value']} | {r['unit']} | {r['baseline']} | {r['ratio']} |" for r in rows]
    return "\n".join(lines) + "\n"


SECTIONS = {"runs": "repeat_winner and contract_splitting at 1,000,000 rows",
            "steps": "the richer steps at 1,000,000 rows",
            "big": "peak memory at 1,000,000 and 10,000,000 rows; the hit cap at 10,000,000 rows"}
_MARK = "<!-- section: "


def _sections(text: str) -> dict[str, str]:
    """The sections of an earlier results file (`<!-- section: key -->` … up to the next one)."""
    out: dict[str, str] = {}
    for part in text.split(_MARK)[1:]:
        key, _, body = part.partition(" -->\n")
        out[key] = _MARK + key + " -->\n" + body.rstrip() + "\n"
    return out


def write_results(parts: dict[str, list[dict[str, Any]]]) -> str:
    """bench/results/screening.md with the sections just measured replaced and the others kept."""
    path = RESULTS / "screening.md"
    kept = _sections(path.read_text(encoding="utf-8")) if path.exists() else {}
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for key, rows in parts.items():
        kept[key] = f"{_MARK}{key} -->\n## {SECTIONS[key]} (measured {when})\n\n{_markdown(rows)}"
    text = "# Screening benchmark (python -m bench.screening)\n\n" + "\n".join(
        kept[k] for k in SECTIONS if k in kept)
    RESULTS.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    which = sys.argv[1:] or ["all"]
    parts: dict[str, list[dict[str, Any]]] = {}
    for key, fn in (("runs", run), ("steps", run_steps), ("big", run_big)):
        if "all" in which or key in which:
            parts[key] = fn()
    rows = [r for part in parts.values() for r in part]
    print(_markdown(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "screening.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    write_results(parts)


if __name__ == "__main__":
    main()
