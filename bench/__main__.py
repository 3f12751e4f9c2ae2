"""`python -m bench` (or `make bench`): every benchmark, one table, written to bench/results/.

Each module measures its own baseline in the same run; `ratio` is how many times worse than
that baseline (1.0 = as good; lower is better). Needs PostgreSQL (DATABASE_URL); each module
works in its own database so the numbers do not disturb one another or the app's data.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import print_table

MODULES = ["bench.screens", "bench.intake", "bench.reads", "bench.sweep", "bench.screening"]
RESULTS = Path(__file__).resolve().parent / "results"


def _markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Huoyan benchmarks",
        "",
        f"Run {meta['at']} on {meta['machine']} ({meta['seconds']:.0f} s). Ratio = times worse than the "
        "baseline measured in the same run (lower is better).",
        "",
        "| benchmark | value | unit | baseline | ratio |",
        "|---|---:|---|---:|---:|",
    ]
    for r in rows:
        baseline = "" if r["baseline"] is None else f"{r['baseline']:,.2f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        mark = " *" if r.get("context") else ""
        lines.append(f"| {r['name'].strip()}{mark} | {r['value']:,.2f} | {r['unit']} | {baseline} | {ratio} |")
    lines += ["", "Rows marked * are context: their baseline is a floor (a bare SELECT that writes nothing) or"
              " the project itself (pandas vs project); they are not targets."]
    targets = [r for r in rows if r["ratio"] and not r.get("context")]
    worst = max(targets, key=lambda r: r["ratio"], default=None)
    if worst:
        lines += ["", f"Slowest ratio against a like-for-like baseline: **{worst['name'].strip()}**"
                      f" ({worst['ratio']:.2f}x) — the next thing to improve."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    wanted = [m for m in MODULES if not argv or any(a in m for a in argv)]
    started = time.perf_counter()
    rows: list[dict] = []
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            print(f"skipping {name}: not present", file=sys.stderr)
            continue
        print(f"== {name}", file=sys.stderr)
        for row in module.run():
            rows.append({**row, "module": name})
    meta = {"at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "seconds": time.perf_counter() - started,
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"}
    print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, indent=2))
    (RESULTS / "latest.md").write_text(_markdown(rows, meta))
    print(f"\nwritten: {RESULTS / 'latest.md'} and latest.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
