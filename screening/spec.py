"""Rule specs: a JSON pipeline of steps, validated against the datasets' columns and compiled to
ONE parameterised DuckDB query.

Every identifier in the SQL is a column name the compiler has checked against the columns the
step's input really has, and is quoted; every value is a bound named parameter (`$p0`, `$p1`, …).
Nothing from a spec is ever pasted into the SQL text.

A spec::

    {"steps": [
        {"id": "src", "type": "source", "dataset": "awards"},
        {"id": "win", "type": "window", "input": "src", "partition_by": ["buyer", "winner"],
         "date_field": "date", "window_days": 30},
        {"id": "thr", "type": "threshold", "input": "win",
         "conditions": [{"field": "_window_count", "op": ">=", "value": 3}]},
        {"id": "out", "type": "emit", "input": "thr", "group_by": ["buyer", "winner"],
         "subject_field": "winner", "title": "{winner} won {count} times from {buyer}"}
    ]}

Step types: source, filter, keyword, join, window, threshold, peer, compute, aggregate, dedupe,
spread, emit (see docs/screening.md). A key a step does not use, or an option its operator
ignores, is refused naming the step and the key: a rule never silently does less than it says.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from screening.importing import ROW_COLUMN, coerce, qi

STEP_TYPES = ("source", "filter", "keyword", "join", "window", "threshold", "peer", "compute", "aggregate",
              "dedupe", "spread", "emit")
COMPARE_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
LIST_OPS = ("in", "not_in")
OTHER_OPS = ("between", "is_null", "not_null", "contains")
NUMERIC = ("integer", "decimal", "double")
MAX_STEPS = 40
MAX_WINDOW_DAYS = 3660
EVIDENCE_LIMIT = 200
EVIDENCE_COLUMN = "_evidence"
RISK_LEVELS = ("red", "orange", "yellow", "blue")
PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")
TITLE_EXTRA = ("subject", "amount", "count", "first_date", "last_date", "ratio", "peer_value", "spread_pct")
AMOUNT_AGGS = ("sum", "max", "first")
MATCHES = ("exact", "normalized", "similarity")
COMPUTE_OPS = {"add": 2, "sub": 2, "mul": 2, "div": 2, "date_diff_days": 2, "year": 1, "month": 1, "quarter": 1}
AGG_FNS = ("count", "count_distinct", "sum", "min", "max", "avg", "median")
NAME_RE = re.compile(r"[^_\x00-\x1f\"][^\x00-\x1f\"]{0,63}")
# Company-name endings dropped by `match: normalized` (longest first, applied twice: 甲公司项目部).
NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "项目部", "公司")

COMMON_KEYS = {"id", "type", "note"}
STEP_KEYS: dict[str, set[str]] = {
    "source": {"dataset"},
    "filter": {"input", "conditions"},
    "threshold": {"input", "conditions"},
    "keyword": {"input", "conditions", "field", "any_of", "all_of"},
    "join": {"left", "right", "on", "how", "prefix", "match", "min_similarity", "aliases"},
    "window": {"input", "partition_by", "date_field", "window_days", "value_field"},
    "peer": {"input", "value_field", "group_by", "stat", "factor", "direction", "min_group_size"},
    "compute": {"input", "columns"},
    "aggregate": {"input", "group_by", "metrics", "having"},
    "dedupe": {"input", "keys", "keep", "order_by"},
    "spread": {"input", "group_by", "value_field", "max_spread_pct", "min_count"},
    "emit": {"input", "group_by", "subject_field", "subject_id_field", "subject_credit_code_field", "amount_field",
             "amount_agg", "title", "reason", "risk_level", "best_by"},
}
CONDITION_KEYS = {"compare": {"value"}, "other": {"other_field"}, "list": {"values"}, "between": {"from", "to"},
                  "null": set(), "contains": {"value"}}


class SpecError(Exception):
    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(f"{step}: {message}" if step else message)
        self.message, self.step = message, step


@dataclass
class DatasetRef:
    path: str
    columns: list[dict[str, str]]
    name: str = ""


@dataclass
class Emit:
    group_by: list[str]
    subject_field: str | None
    amount_field: str | None
    title: str
    risk_level: str | None
    base_columns: list[str]
    windowed: bool
    subject_id_field: str | None = None
    subject_credit_code_field: str | None = None
    reason: str = ""
    # column of an evidence row → [dataset role, the dataset's own header]; roles → dataset names
    origins: dict[str, list[str]] = field(default_factory=dict)
    dataset_names: dict[str, str] = field(default_factory=dict)
    metric_fields: list[str] = field(default_factory=list)


# The table a capped run stores the emit step's input in (see `Staged`); no step id can name it.
EMIT_INPUT_TABLE = "_huoyan_emit_input"


@dataclass
class Staged:
    """A capped run in three statements, so an over-broad rule is refused before its evidence is
    collected: `input_sql` stores the emit step's input rows (the expensive part: windows, joins,
    peers) in EMIT_INPUT_TABLE; `count_sql` counts the hits they make (one per group, or per source
    row); `final_sql` is the emit (evidence rows, amounts, LIMIT cap + 1) reading that table."""
    input_sql: str
    count_sql: str
    final_sql: str


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]
    emit: Emit | None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # step id → {column: type}
    # (step id, step type, the step's SELECT) in order, so the engine can bound each join's output
    ctes: list[tuple[str, str, str]] = field(default_factory=list)
    cap: int | None = None  # at most this many hits; more fail the run (HUOYAN_SCREENING_MAX_HITS)
    staged: Staged | None = None  # set when `cap` is


def _types_compatible(a: str, b: str) -> bool:
    return a == b or (a in NUMERIC and b in NUMERIC)


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def normalized_sql(expr: str) -> str:
    """DuckDB expression: a name as `match: normalized` compares it: full-width letters, digits and
    signs made half-width (only for the rare names that have any: `translate` is slow), bracketed
    text and whitespace dropped, common endings (NAME_SUFFIXES, repeated) dropped, case-folded."""
    full = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
    half = ("".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " ").replace("'", "''")
    x = f"CAST({expr} AS VARCHAR)"
    x = (f"CASE WHEN regexp_matches({x}, '[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\u3000]') "
         f"THEN translate({x}, '{full}', '{half}') ELSE {x} END")
    x = f"regexp_replace({x}, '[(（\\[【][^)）\\]】]*[)）\\]】]|\\s+', '', 'g')"
    x = f"regexp_replace({x}, '({'|'.join(NAME_SUFFIXES)})+$', '')"
    return f"lower({x})"


class _Compiler:
    def __init__(self, spec: Any, datasets: dict[str, DatasetRef], *, sample: int | None = None) -> None:
        self.spec, self.datasets, self.sample = spec, datasets, sample
        self.params: dict[str, Any] = {}
        self.ctes: list[tuple[str, str]] = []
        self.cols: dict[str, dict[str, str]] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.base: dict[str, list[str]] = {}  # step → the left-most source's columns
        self.window_of: dict[str, dict[str, Any] | None] = {}  # step → nearest upstream window step
        self.origin: dict[str, dict[str, list[str]]] = {}  # step → {column: [role, header]}
        self.metrics: dict[str, list[str]] = {}  # step → aggregate metric columns it carries
        self.evidence_of: dict[str, str] = {}  # aggregate step → the step whose rows are its evidence
        self.repeats: dict[str, bool] = {}  # step → may hold a source row more than once (an inner join)
        self.hit_count: tuple[str, list[str], bool] | None = None  # emit input step, its hits' keys, repeats?

    # ----- helpers -----
    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def cte(self, step_id: str) -> str:
        return qi("s_" + step_id)

    def col(self, step: dict[str, Any], key: str, source: str, *, types: tuple[str, ...] | None = None,
            required: bool = True, data_only: bool = False) -> str | None:
        name = step.get(key)
        if name in (None, "") and not required:
            return None
        if not isinstance(name, str) or not name:
            raise SpecError(_("choose a column for '%(key)s'") % {"key": key}, step=step["id"])
        known = self.cols[source]
        if name not in known or name == EVIDENCE_COLUMN:
            raise SpecError(_("unknown column '%(name)s'") % {"name": name}, step=step["id"])
        if data_only and name.startswith("_"):
            raise SpecError(_("'%(key)s' needs a data column, not the computed column '%(name)s'")
                            % {"key": key, "name": name}, step=step["id"])
        if types and known[name] not in types:
            raise SpecError(
                _("column '%(name)s' is %(type)s; this needs %(need)s")
                % {"name": name, "type": known[name], "need": " / ".join(types)}, step=step["id"])
        return name

    def col_list(self, step: dict[str, Any], key: str, source: str, *, allow_empty: bool = False) -> list[str]:
        names = step.get(key) or []
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or (not names and not allow_empty):
            raise SpecError(_("choose at least one column for '%(key)s'") % {"key": key}, step=step["id"])
        return [self.col({"id": step["id"], key: n}, key, source) for n in names]

    def input_of(self, step: dict[str, Any], key: str = "input") -> str:
        ref = step.get(key)
        if ref not in self.cols:
            raise SpecError(_("'%(key)s' must name an earlier step") % {"key": key}, step=step["id"])
        return ref

    def typed_value(self, step_id: str, value: Any, kind: str) -> Any:
        if kind == "double":
            kind = "decimal"
        try:
            return coerce(value, kind)
        except ValueError as exc:
            raise SpecError(_("value %(v)r: %(err)s") % {"v": value, "err": exc}, step=step_id) from None

    def number(self, s: dict[str, Any], key: str, *, lo: float = 0, hi: float = 1e12, default: Any = None,
               whole: bool = False) -> float:
        value = s.get(key, default)
        bad = isinstance(value, bool) or not isinstance(value, (int, float, str))
        try:
            out = float(value) if not bad else None
        except ValueError:
            out = None
        if out is None or not lo <= out <= hi or (whole and not out.is_integer()):
            raise SpecError(_("'%(key)s' must be a number from %(lo)s to %(hi)s")
                            % {"key": key, "lo": f"{lo:g}", "hi": f"{hi:g}"}, step=s["id"])
        return int(out) if whole else out

    def _passthrough(self, s: dict[str, Any], src: str, extra: dict[str, str] | None = None) -> None:
        self.cols[s["id"]] = {**self.cols[src], **(extra or {})}
        self.base[s["id"]] = self.base[src]
        self.window_of[s["id"]] = self.window_of[src]
        self.origin[s["id"]] = dict(self.origin[src])
        self.metrics[s["id"]] = list(self.metrics[src])
        self.repeats[s["id"]] = self.repeats[src]
        if src in self.evidence_of:
            self.evidence_of[s["id"]] = self.evidence_of[src]

    def new_name(self, s: dict[str, Any], name: Any, taken: dict[str, str]) -> str:
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise SpecError(_("a new column needs a name of 1 to 64 characters, not starting with '_'"),
                            step=s["id"])
        if name in taken:
            raise SpecError(_("column '%(n)s' already exists; choose another name") % {"n": name}, step=s["id"])
        return name

    # ----- conditions (filter, threshold, aggregate's having) -----
    def condition(self, step_id: str, cond: Any, source: str, depth: int = 0) -> str:
        if not isinstance(cond, dict):
            raise SpecError(_("each condition must be an object"), step=step_id)
        if set(cond) in ({"any"}, {"all"}):
            # A group of conditions: any (OR) or all (AND) of them.
            key = next(iter(cond))
            inner = cond[key]
            if not isinstance(inner, list) or not inner or len(inner) > 50 or depth > 4:
                raise SpecError(_("'%(k)s' holds a list of 1 to 50 conditions") % {"k": key}, step=step_id)
            joiner = " OR " if key == "any" else " AND "
            return "(" + joiner.join(self.condition(step_id, c, source, depth + 1) for c in inner) + ")"
        name = self.col({"id": step_id, "field": cond.get("field")}, "field", source)
        kind = self.cols[source][name]
        c = qi(name)
        op = cond.get("op", "=")
        if "other_field" in cond and cond.get("other_field") not in (None, ""):
            group = "other"
        elif op in COMPARE_OPS:
            group = "compare"
        elif op in LIST_OPS:
            group = "list"
        elif op == "between":
            group = "between"
        elif op in ("is_null", "not_null"):
            group = "null"
        elif op == "contains":
            group = "contains"
        else:
            raise SpecError(_("unknown operator %(op)r") % {"op": op}, step=step_id)
        for key, value in cond.items():
            if key in ("field", "op") or key in CONDITION_KEYS[group] or not _present(value):
                continue
            raise SpecError(_("condition on '%(f)s': the option '%(k)s' is not used by the operator %(op)s")
                            % {"f": name, "k": key, "op": op}, step=step_id)
        if group == "other":
            other = self.col({"id": step_id, "other_field": cond.get("other_field")}, "other_field", source)
            if op not in COMPARE_OPS or not _types_compatible(kind, self.cols[source][other]):
                raise SpecError(_("cannot compare '%(a)s' with '%(b)s' using %(op)s")
                                % {"a": name, "b": other, "op": op}, step=step_id)
            return f"({c} {COMPARE_OPS[op]} {qi(other)})"
        if group == "compare":
            value = self.typed_value(step_id, cond.get("value"), kind)
            if value is None:
                raise SpecError(_("condition on '%(name)s' needs a value") % {"name": name}, step=step_id)
            return f"({c} {COMPARE_OPS[op]} {self.bind(value)})"
        if group == "list":
            values = cond.get("values")
            if not isinstance(values, list) or not values or len(values) > 1000:
                raise SpecError(_("'%(op)s' needs a list of 1 to 1000 values") % {"op": op}, step=step_id)
            binds = ", ".join(self.bind(self.typed_value(step_id, v, kind)) for v in values)
            return f"({c} {'NOT ' if op == 'not_in' else ''}IN ({binds}))"
        if group == "between":
            lo, hi = cond.get("from"), cond.get("to")
            parts = []
            if lo not in (None, ""):
                parts.append(f"{c} >= {self.bind(self.typed_value(step_id, lo, kind))}")
            if hi not in (None, ""):
                parts.append(f"{c} <= {self.bind(self.typed_value(step_id, hi, kind))}")
            if not parts:
                raise SpecError(_("a range needs 'from', 'to' or both"), step=step_id)
            return "(" + " AND ".join(parts) + ")"
        if op == "is_null":
            return f"({c} IS NULL)"
        if op == "not_null":
            return f"({c} IS NOT NULL)"
        if kind != "text":
            raise SpecError(_("'contains' needs a text column"), step=step_id)
        return f"contains({c}, {self.bind(str(cond.get('value') or ''))})"

    def conditions(self, s: dict[str, Any], key: str, src: str) -> str:
        conds = s.get(key)
        if not isinstance(conds, list) or not conds:
            raise SpecError(_("add at least one condition"), step=s["id"])
        return " AND ".join(self.condition(s["id"], c, src) for c in conds)

    # ----- steps -----
    def step_source(self, s: dict[str, Any]) -> str:
        role = s.get("dataset")
        if not isinstance(role, str) or role not in self.datasets:
            raise SpecError(_("no dataset is bound to the role '%(role)s'") % {"role": role}, step=s["id"])
        ds = self.datasets[role]
        self.cols[s["id"]] = {ROW_COLUMN: "integer", **{c["name"]: c["type"] for c in ds.columns}}
        self.base[s["id"]] = [c["name"] for c in ds.columns]
        self.window_of[s["id"]] = None
        self.origin[s["id"]] = {c["name"]: [role, c["name"]] for c in ds.columns}
        self.metrics[s["id"]] = []
        self.repeats[s["id"]] = False
        sql = f"SELECT * FROM read_parquet({self.bind(ds.path)})"
        if self.sample:
            sql += f" LIMIT {int(self.sample)}"
        return sql

    def step_filter(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        where = self.conditions(s, "conditions", src)
        self._passthrough(s, src)
        return f"SELECT * FROM {self.cte(src)} WHERE {where}"

    step_threshold = step_filter

    def step_keyword(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        conds = s.get("conditions")
        if conds is None and s.get("field"):
            conds = [{k: s[k] for k in ("field", "any_of", "all_of") if k in s}]
        elif conds is not None and any(_present(s.get(k)) for k in ("field", "any_of", "all_of")):
            raise SpecError(_("give either 'conditions' or one 'field' with its words, not both"), step=s["id"])
        if not isinstance(conds, list) or not conds:
            raise SpecError(_("add at least one keyword condition"), step=s["id"])
        parts = []
        for cond in conds:
            if not isinstance(cond, dict):
                raise SpecError(_("each condition must be an object"), step=s["id"])
            extra = [k for k in cond if k not in ("field", "any_of", "all_of")]
            if extra:
                raise SpecError(_("a keyword condition has no option '%(k)s'") % {"k": extra[0]}, step=s["id"])
            name = self.col({"id": s["id"], "field": cond.get("field")}, "field", src, types=("text",))
            if _present(cond.get("all_of")) and _present(cond.get("any_of")):
                raise SpecError(_("give 'any_of' or 'all_of' for '%(name)s', not both") % {"name": name},
                                step=s["id"])
            mode = "all_of" if cond.get("all_of") else "any_of"
            raw = cond.get(mode)
            words = [w for w in raw if isinstance(w, str) and w.strip()] if isinstance(raw, list) else []
            if not words or len(words) > 200:
                raise SpecError(_("give 1 to 200 words for '%(name)s'") % {"name": name}, step=s["id"])
            joiner = " AND " if mode == "all_of" else " OR "
            parts.append("(" + joiner.join(f"contains({qi(name)}, {self.bind(w.strip())})" for w in words) + ")")
        self._passthrough(s, src)
        return f"SELECT * FROM {self.cte(src)} WHERE {' AND '.join(parts)}"

    def _alias_cte(self, s: dict[str, Any]) -> str | None:
        aliases = s.get("aliases")
        if not _present(aliases):
            return None
        if not isinstance(aliases, dict) or set(aliases) - {"dataset", "short", "full"}:
            raise SpecError(_("aliases is {dataset, short, full}"), step=s["id"])
        role = aliases.get("dataset")
        if not isinstance(role, str) or role not in self.datasets:
            raise SpecError(_("no dataset is bound to the role '%(role)s'") % {"role": role}, step=s["id"])
        cols = {c["name"]: c["type"] for c in self.datasets[role].columns}
        for key in ("short", "full"):
            if aliases.get(key) not in cols or cols[aliases[key]] != "text":
                raise SpecError(_("aliases: '%(key)s' must be a text column of the role '%(role)s'")
                                % {"key": key, "role": role}, step=s["id"])
        name = f"{s['id']}__aliases"
        path = self.bind(self.datasets[role].path)
        short, full = qi(aliases["short"]), qi(aliases["full"])
        self.ctes.append((name, f"SELECT {normalized_sql(short)} AS k, min({full}) AS v FROM read_parquet({path}) "
                                f"WHERE {short} IS NOT NULL AND {full} IS NOT NULL GROUP BY 1"))
        return name

    def step_join(self, s: dict[str, Any]) -> str:
        left, right = self.input_of(s, "left"), self.input_of(s, "right")
        how = s.get("how", "inner")
        if how not in ("inner", "semi", "anti"):
            raise SpecError(_("a join is inner, semi or anti"), step=s["id"])
        match = s.get("match") or "exact"
        if match not in MATCHES:
            raise SpecError(_("match is exact, normalized or similarity"), step=s["id"])
        if match != "similarity" and _present(s.get("min_similarity")):
            raise SpecError(_("the option 'min_similarity' is only used with match: similarity"), step=s["id"])
        min_sim = self.number(s, "min_similarity", lo=0, hi=1) if match == "similarity" else None
        if how != "inner" and _present(s.get("prefix")):
            raise SpecError(_("the option 'prefix' is only used by an inner join"), step=s["id"])
        alias = self._alias_cte(s)
        on = s.get("on")
        if not isinstance(on, list) or not on:
            raise SpecError(_("a join needs at least one pair of key columns"), step=s["id"])
        lsel, rsel, conds, keys = [], [], [], []
        for i, pair in enumerate(on):
            if not isinstance(pair, dict) or set(pair) - {"left", "right"}:
                raise SpecError(_("each join key is {left, right}"), step=s["id"])
            lname = self.col({"id": s["id"], "left": pair.get("left")}, "left", left)
            rname = self.col({"id": s["id"], "right": pair.get("right")}, "right", right)
            lt, rt = self.cols[left][lname], self.cols[right][rname]
            if not _types_compatible(lt, rt):
                raise SpecError(_("'%(l)s' is %(lt)s and '%(r)s' is %(rt)s: they can never be equal; "
                                  "upload one of them with the other's column type")
                                % {"l": lname, "r": rname, "lt": lt, "rt": rt}, step=s["id"])
            if (match != "exact" or alias) and lt != "text":
                raise SpecError(_("match %(m)s and aliases compare names: '%(l)s' must be text")
                                % {"m": match, "l": lname}, step=s["id"])
            lexp, rexp = qi(lname), qi(rname)
            if alias:
                a = self.cte(alias)
                lexp = f"coalesce((SELECT v FROM {a} WHERE k = {normalized_sql(lexp)}), {lexp})"
                rexp = f"coalesce((SELECT v FROM {a} WHERE k = {normalized_sql(rexp)}), {rexp})"
            if match != "exact" or alias:
                lexp, rexp = normalized_sql(lexp), normalized_sql(rexp)
            k = f"_jk{i}"
            keys.append(k)
            lsel.append(f"{lexp} AS {k}")
            rsel.append(f"{rexp} AS {k}")
            if match == "similarity":
                conds.append(f"jaro_winkler_similarity(l.{k}, r.{k}) >= {self.bind(min_sim)}")
            else:
                conds.append(f"l.{k} = r.{k}")
        on_sql = " AND ".join(conds)
        drop = ", ".join(keys)
        lq = f"(SELECT *, {', '.join(lsel)} FROM {self.cte(left)})"
        rq = f"(SELECT *, {', '.join(rsel)} FROM {self.cte(right)})"
        self.base[s["id"]] = self.base[left]
        self.window_of[s["id"]] = self.window_of[left]
        self.origin[s["id"]] = dict(self.origin[left])
        self.metrics[s["id"]] = list(self.metrics[left])
        self.repeats[s["id"]] = self.repeats[left] or how == "inner"
        if left in self.evidence_of:
            self.evidence_of[s["id"]] = self.evidence_of[left]
        if how in ("semi", "anti"):
            self.cols[s["id"]] = dict(self.cols[left])
            return f"SELECT l.* EXCLUDE ({drop}) FROM {lq} l {how.upper()} JOIN {rq} r ON {on_sql}"
        prefix = s.get("prefix") or "r."
        if not isinstance(prefix, str) or len(prefix) > 16:
            raise SpecError(_("invalid column prefix"), step=s["id"])
        out = dict(self.cols[left])
        extra = []
        for name, kind in self.cols[right].items():
            if name == ROW_COLUMN or name == EVIDENCE_COLUMN:
                continue
            new = prefix + name
            if new in out:
                raise SpecError(_("column '%(n)s' would appear twice; choose another prefix") % {"n": new},
                                step=s["id"])
            out[new] = kind
            if name in self.origin[right]:
                self.origin[s["id"]][new] = self.origin[right][name]
            extra.append(f"r.{qi(name)} AS {qi(new)}")
        self.cols[s["id"]] = out
        select = ", ".join([f"l.* EXCLUDE ({drop})", *extra])
        return f"SELECT {select} FROM {lq} l JOIN {rq} r ON {on_sql}"

    def _window_days(self, s: dict[str, Any]) -> int:
        days = s.get("window_days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
            raise SpecError(_("window_days must be a whole number from 1 to %(max)d") % {"max": MAX_WINDOW_DAYS},
                            step=s["id"])
        return days

    def step_window(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        parts = self.col_list(s, "partition_by", src)
        date = self.col(s, "date_field", src, types=("date",))
        value = self.col(s, "value_field", src, types=NUMERIC, required=False)
        days = self.bind(self._window_days(s))
        span = f"to_days(CAST({days} AS INTEGER) - 1)"
        not_null = " AND ".join(f"{qi(p)} IS NOT NULL" for p in [*parts, date])
        win = (f"(PARTITION BY {', '.join(qi(p) for p in parts)} ORDER BY {qi(date)} "
               f"RANGE BETWEEN {span} PRECEDING AND CURRENT ROW)")
        sel = [f"count(*) OVER {win} AS _window_count", f"CAST({qi(date)} - {span} AS DATE) AS _window_start"]
        extra = {"_window_count": "integer", "_window_start": "date"}
        if value:
            sel.append(f"sum({qi(value)}) OVER {win} AS _window_sum")
            extra["_window_sum"] = self.cols[src][value] if self.cols[src][value] != "integer" else "integer"
        self._passthrough(s, src, extra)
        self.window_of[s["id"]] = {"source": src, "partition_by": parts, "date_field": date, "value_field": value}
        return f"SELECT *, {', '.join(sel)} FROM {self.cte(src)} WHERE {not_null}"

    def step_peer(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        value = self.col(s, "value_field", src, types=NUMERIC)
        groups = self.col_list(s, "group_by", src)
        stat = s.get("stat", "median")
        if stat not in ("median", "mean"):
            raise SpecError(_("compare with the group's median or mean"), step=s["id"])
        direction = s.get("direction") or "above"
        if direction not in ("above", "below", "both"):
            raise SpecError(_("direction is above, below or both"), step=s["id"])
        factor = self.number(s, "factor", lo=1e-9, hi=1e9)
        min_group = self.number(s, "min_group_size", lo=1, hi=1e9, default=1, whole=True)
        fn = "median" if stat == "median" else "avg"
        v = f"CAST({qi(value)} AS DOUBLE)"
        part = ", ".join(qi(g) for g in groups)
        not_null = " AND ".join(f"{qi(g)} IS NOT NULL" for g in groups)
        f = self.bind(factor)
        above, below = f"{v} > {f} * _peer_value", f"{v} * {f} < _peer_value"
        test = {"above": above, "below": below, "both": f"({above} OR {below})"}[direction]
        self._passthrough(s, src, {"_peer_value": "double", "_ratio": "double", "_peer_count": "integer"})
        return (
            f"SELECT *, {v} / NULLIF(_peer_value, 0) AS _ratio FROM ("
            f"SELECT *, {fn}({v}) OVER (PARTITION BY {part}) AS _peer_value, "
            f"count({qi(value)}) OVER (PARTITION BY {part}) AS _peer_count "
            f"FROM {self.cte(src)} WHERE {not_null}) "
            f"WHERE {test} AND _peer_count >= {self.bind(min_group)}"
        )

    def expr(self, s: dict[str, Any], e: Any, src: str, depth: int = 0) -> tuple[str, str]:
        """A compute expression → (SQL, type)."""
        if not isinstance(e, dict) or depth > 8:
            raise SpecError(_("an expression is {op, args}, {field} or {value}"), step=s["id"])
        if set(e) == {"field"}:
            name = self.col({"id": s["id"], "field": e["field"]}, "field", src)
            return qi(name), self.cols[src][name]
        if set(e) == {"value"}:
            v = e["value"]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                try:
                    return self.bind(coerce(v, "date")), "date"
                except ValueError:
                    raise SpecError(_("a constant is a number or a date"), step=s["id"]) from None
            return f"CAST({self.bind(float(v))} AS DOUBLE)", "double"
        if set(e) - {"op", "args"}:
            raise SpecError(_("an expression has no option '%(k)s'") % {"k": sorted(set(e) - {"op", "args"})[0]},
                            step=s["id"])
        op, args = e.get("op"), e.get("args")
        if op not in COMPUTE_OPS:
            raise SpecError(_("unknown operation %(op)r") % {"op": op}, step=s["id"])
        if not isinstance(args, list) or len(args) != COMPUTE_OPS[op]:
            raise SpecError(_("%(op)s takes %(n)d arguments") % {"op": op, "n": COMPUTE_OPS[op]}, step=s["id"])
        parts = [self.expr(s, a, src, depth + 1) for a in args]
        if op in ("date_diff_days", "year", "month", "quarter"):
            if any(t != "date" for _sql, t in parts):
                raise SpecError(_("%(op)s needs dates") % {"op": op}, step=s["id"])
            if op == "date_diff_days":
                return f"date_diff('day', {parts[1][0]}, {parts[0][0]})", "integer"
            return f"{op}({parts[0][0]})", "integer"
        if any(t not in NUMERIC for _sql, t in parts):
            raise SpecError(_("%(op)s needs numbers") % {"op": op}, step=s["id"])
        a, b = (f"CAST({p} AS DOUBLE)" for p, _t in parts)
        sql = {"add": f"({a} + {b})", "sub": f"({a} - {b})", "mul": f"({a} * {b})",
               "div": f"({a} / NULLIF({b}, 0))"}[op]
        return sql, "double"

    def step_compute(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        columns = s.get("columns")
        if not isinstance(columns, list) or not columns or len(columns) > 50:
            raise SpecError(_("add 1 to 50 computed columns"), step=s["id"])
        out = dict(self.cols[src])
        sel = []
        for c in columns:
            if not isinstance(c, dict) or set(c) - {"name", "expr", "digits"}:
                raise SpecError(_("a computed column is {name, expr, digits}"), step=s["id"])
            name = self.new_name(s, c.get("name"), out)
            sql, kind = self.expr(s, c.get("expr"), src)
            if _present(c.get("digits")):
                if kind != "double":
                    raise SpecError(_("'digits' rounds a number; '%(n)s' is not one") % {"n": name}, step=s["id"])
                digits = self.number({"id": s["id"], "digits": c["digits"]}, "digits", lo=0, hi=10, whole=True)
                sql = f"round({sql}, {int(digits)})"
            sel.append(f"{sql} AS {qi(name)}")
            out[name] = kind
        self._passthrough(s, src, {k: v for k, v in out.items() if k not in self.cols[src]})
        for c in columns:
            self.origin[s["id"]][c["name"]] = ["", c["name"]]
        return f"SELECT *, {', '.join(sel)} FROM {self.cte(src)}"

    def evidence(self, step_id: str, alias: str = "e") -> str:
        """The evidence row of alias `e` as a struct of `_row` and the data columns (no computed `_` ones)."""
        names = [ROW_COLUMN] + [n for n in self.cols[step_id] if not n.startswith("_")]
        return "struct_pack(" + ", ".join(f"{qi(n)} := {alias}.{qi(n)}" for n in names) + ")"

    def step_aggregate(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        groups = self.col_list(s, "group_by", src)
        metrics = s.get("metrics")
        if not isinstance(metrics, list) or not metrics or len(metrics) > 20:
            raise SpecError(_("add 1 to 20 metrics"), step=s["id"])
        out = {ROW_COLUMN: "integer", **{g: self.cols[src][g] for g in groups}}
        sel = []
        for m in metrics:
            if not isinstance(m, dict) or set(m) - {"fn", "field", "name"}:
                raise SpecError(_("a metric is {fn, field, name}"), step=s["id"])
            fn = m.get("fn")
            if fn not in AGG_FNS:
                raise SpecError(_("unknown metric function %(fn)r") % {"fn": fn}, step=s["id"])
            name = self.new_name(s, m.get("name"), out)
            if fn == "count" and not _present(m.get("field")):
                sel.append(f"count(*) AS {qi(name)}")
                out[name] = "integer"
                continue
            need = NUMERIC if fn in ("sum", "avg", "median") else None
            fld = self.col({"id": s["id"], "field": m.get("field")}, "field", src, types=need)
            f = f"e.{qi(fld)}"
            if fn == "count_distinct":
                sel.append(f"count(DISTINCT {f}) AS {qi(name)}")
                out[name] = "integer"
            elif fn == "count":
                sel.append(f"count({f}) AS {qi(name)}")
                out[name] = "integer"
            elif fn in ("avg", "median"):
                sel.append(f"{fn}(CAST({f} AS DOUBLE)) AS {qi(name)}")
                out[name] = "double"
            else:
                # A sum counts each source row once, however often a join repeated it.
                expr = (f"list_sum(list_transform(list_distinct(list(struct_pack(r := e.{qi(ROW_COLUMN)}, "
                        f"a := {f}))), lambda x: x.a))") if fn == "sum" else f"{fn}({f})"
                sel.append(f"{expr} AS {qi(name)}")
                out[name] = self.cols[src][fld] if fn != "sum" else (
                    "integer" if self.cols[src][fld] == "integer" else "decimal")
        gsql = ", ".join(f"e.{qi(g)}" for g in groups)
        not_null = " AND ".join(f"e.{qi(g)} IS NOT NULL" for g in groups)
        if EVIDENCE_COLUMN in self.cols[src]:
            ev = f"flatten(list(e.{EVIDENCE_COLUMN} ORDER BY e.{qi(ROW_COLUMN)}))[1:{EVIDENCE_LIMIT}]"
            self.evidence_of[s["id"]] = self.evidence_of.get(src, src)
        else:
            ev = f"list({self.evidence(src)} ORDER BY e.{qi(ROW_COLUMN)})[1:{EVIDENCE_LIMIT}]"
            self.evidence_of[s["id"]] = src
        out[EVIDENCE_COLUMN] = "evidence"
        self.cols[s["id"]] = out
        self.base[s["id"]] = [*groups, *[n for n in out if n not in groups and not n.startswith("_")]]
        self.window_of[s["id"]] = None
        self.origin[s["id"]] = {g: self.origin[src][g] for g in groups if g in self.origin[src]}
        self.metrics[s["id"]] = [n for n in out if n not in groups and not n.startswith("_")]
        self.repeats[s["id"]] = False
        sql = (f"SELECT min(e.{qi(ROW_COLUMN)}) AS {qi(ROW_COLUMN)}, {gsql}, {', '.join(sel)}, {ev} AS "
               f"{EVIDENCE_COLUMN} FROM {self.cte(src)} e WHERE {not_null} GROUP BY {gsql}")
        if _present(s.get("having")):
            where = self.conditions(s, "having", s["id"])
            sql = f"SELECT * FROM ({sql}) WHERE {where}"
        return sql

    def step_dedupe(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        keys = self.col_list(s, "keys", src)
        keep = s.get("keep") or "first"
        if keep not in ("first", "last"):
            raise SpecError(_("keep is first or last"), step=s["id"])
        order = self.col_list(s, "order_by", src, allow_empty=True)
        direction = " DESC" if keep == "last" else ""
        by = ", ".join([*(f"{qi(o)}{direction} NULLS LAST" for o in order), f"{qi(ROW_COLUMN)}{direction}"])
        self._passthrough(s, src)
        return (f"SELECT * FROM {self.cte(src)} QUALIFY row_number() OVER "
                f"(PARTITION BY {', '.join(qi(k) for k in keys)} ORDER BY {by}) = 1")

    def step_spread(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        groups = self.col_list(s, "group_by", src)
        value = self.col(s, "value_field", src, types=NUMERIC)
        pct = self.number(s, "max_spread_pct", lo=0, hi=1e6)
        min_count = self.number(s, "min_count", lo=2, hi=1e9, default=2, whole=True)
        part = ", ".join(qi(g) for g in groups)
        v = f"CAST({qi(value)} AS DOUBLE)"
        not_null = " AND ".join(f"{qi(g)} IS NOT NULL" for g in [*groups, value])
        self._passthrough(s, src, {"_spread_pct": "double", "_group_count": "integer"})
        return (
            f"SELECT * FROM (SELECT *, (max({v}) OVER w - min({v}) OVER w) * 100.0 / NULLIF(min({v}) OVER w, 0) "
            f"AS _spread_pct, count(*) OVER w AS _group_count FROM {self.cte(src)} WHERE {not_null} "
            f"WINDOW w AS (PARTITION BY {part})) "
            f"WHERE _spread_pct <= {self.bind(pct)} AND _group_count >= {self.bind(min_count)}"
        )

    def _amount_sql(self, amount: str | None, agg: str, repeats: bool = True) -> str:
        if not amount:
            return "NULL"
        a, r = f"e.{qi(amount)}", f"e.{qi(ROW_COLUMN)}"
        if agg == "max":
            return f"max({a})"
        if agg == "first":
            return f"arg_min({a}, {r})"
        if not repeats:
            return f"sum({a})"
        return f"list_sum(list_transform(list_distinct(list(struct_pack(r := {r}, a := {a}))), lambda x: x.a))"

    def step_emit(self, s: dict[str, Any]) -> tuple[str, Emit]:
        src = self.input_of(s)
        groups = self.col_list(s, "group_by", src, allow_empty=True)
        subject = self.col(s, "subject_field", src, required=False, data_only=True)
        id_field = self.col(s, "subject_id_field", src, required=False, data_only=True, types=("text",))
        credit_field = self.col(s, "subject_credit_code_field", src, required=False, data_only=True,
                                types=("text",))
        amount = self.col(s, "amount_field", src, types=NUMERIC, required=False, data_only=True)
        agg = s.get("amount_agg") or "sum"
        if agg not in AMOUNT_AGGS:
            raise SpecError(_("amount_agg is sum, max or first"), step=s["id"])
        if _present(s.get("amount_agg")) and not amount:
            raise SpecError(_("the option 'amount_agg' needs an amount_field"), step=s["id"])
        risk = s.get("risk_level") or None
        if risk is not None and risk not in RISK_LEVELS:
            raise SpecError(_("unknown risk level %(r)r") % {"r": risk}, step=s["id"])
        cols = self.cols[src]
        texts = {}
        for key, limit in (("title", 200), ("reason", 1000)):
            text = s.get(key) or ""
            if not isinstance(text, str) or len(text) > limit:
                raise SpecError(_("the %(key)s template must be text of at most %(n)d characters")
                                % {"key": key, "n": limit}, step=s["id"])
            for ph in PLACEHOLDER_RE.findall(text):
                if (ph not in cols or ph == EVIDENCE_COLUMN) and ph not in TITLE_EXTRA:
                    raise SpecError(_("the %(key)s uses an unknown field {%(f)s}") % {"key": key, "f": ph},
                                    step=s["id"])
            texts[key] = text
        window = self.window_of[src]
        aggregated = EVIDENCE_COLUMN in cols
        ev_step = self.evidence_of.get(src, src) if aggregated else src
        emit = Emit(groups, subject, amount, texts["title"], risk, self.base[src], False,
                    subject_id_field=id_field, subject_credit_code_field=credit_field, reason=texts["reason"],
                    dataset_names={r: d.name for r, d in self.datasets.items()},
                    metric_fields=list(self.metrics[src]))
        windowed = bool(groups and window and set(groups) == set(window["partition_by"]) and not aggregated)
        if _present(s.get("best_by")) and not windowed:
            raise SpecError(_("the option 'best_by' is only used when grouping by a window's partition"),
                            step=s["id"])
        r = f"e.{qi(ROW_COLUMN)}"
        self.hit_count = (src, groups, self.repeats[src])  # what one hit is, for the hit cap's count
        # Rows a join may have repeated are counted once; without such a join plain aggregates do.
        repeats = self.repeats[window["source"] if windowed else src]
        amount_sql = self._amount_sql(amount, agg, repeats)
        n_sql = f"count(DISTINCT {r})" if repeats else "count(*)"
        if aggregated:
            rows_sql = f"to_json(flatten(list(e.{EVIDENCE_COLUMN} ORDER BY {r}))[1:{EVIDENCE_LIMIT}])"
            self.origin_for_emit(emit, ev_step)
        if not groups:
            if not self.repeats[src]:
                # One hit per row, and no row is there twice: no grouping needed.
                if not aggregated:
                    rows_sql = f"to_json([{self.evidence(src)}])"
                    self.origin_for_emit(emit, src)
                else:
                    rows_sql = f"to_json(e.{EVIDENCE_COLUMN})"
                amount_one = f"e.{qi(amount)}" if amount else "NULL"
                return (f"SELECT e AS _hit, {rows_sql} AS _rows, {amount_one} AS _amount, 1 AS _n, NULL AS _first, "
                        f"NULL AS _last FROM {self.cte(src)} e ORDER BY {r}"), emit
            # One hit per source row; a join may have repeated it: its partners are all evidence.
            if not aggregated:
                rows_sql = f"to_json(list({self.evidence(src)} ORDER BY {r})[1:{EVIDENCE_LIMIT}])"
                self.origin_for_emit(emit, src)
            sql = (f"SELECT first(e ORDER BY {r}) AS _hit, {rows_sql} AS _rows, {amount_sql} AS _amount, "
                   f"1 AS _n, NULL AS _first, NULL AS _last FROM {self.cte(src)} e GROUP BY {r} ORDER BY {r}")
            return sql, emit
        keys = ", ".join(f"b.{qi(g)}" for g in groups)
        if windowed:
            # The best window of each group: most rows (or largest sum), earliest; its rows are the evidence.
            best_by = s.get("best_by") or "_window_count"
            if best_by not in ("_window_count", "_window_sum") or best_by not in cols:
                raise SpecError(_("best_by is _window_count or _window_sum"), step=s["id"])
            emit.windowed = True
            self.origin_for_emit(emit, window["source"])
            date = qi(window["date_field"])
            part = ", ".join(qi(g) for g in groups)
            best = (f"SELECT * FROM {self.cte(src)} QUALIFY row_number() OVER (PARTITION BY {part} "
                    f"ORDER BY {qi(best_by)} DESC, {date}, {qi(ROW_COLUMN)}) = 1")
            join = " AND ".join(f"e.{qi(g)} = b.{qi(g)}" for g in groups)
            sql = (
                f"SELECT {keys}, any_value(b) AS _hit, "
                f"to_json(list({self.evidence(window['source'])} ORDER BY e.{date}, {r})"
                f"[1:{EVIDENCE_LIMIT}]) AS _rows, "
                f"{amount_sql} AS _amount, {n_sql} AS _n, min(e.{date}) AS _first, "
                f"max(e.{date}) AS _last "
                f"FROM ({best}) b JOIN {self.cte(window['source'])} e ON {join} "
                f"AND e.{date} BETWEEN b._window_start AND b.{date} "
                f"GROUP BY {keys} ORDER BY {keys}"
            )
            return sql, emit
        gkeys = ", ".join(f"e.{qi(g)}" for g in groups)
        not_null = " AND ".join(f"e.{qi(g)} IS NOT NULL" for g in groups)
        if not aggregated:
            rows_sql = f"to_json(list({self.evidence(src)} ORDER BY {r})[1:{EVIDENCE_LIMIT}])"
            self.origin_for_emit(emit, src)
        sql = (
            f"SELECT {gkeys}, first(e ORDER BY {r}) AS _hit, {rows_sql} AS _rows, "
            f"{amount_sql} AS _amount, {n_sql} AS _n, NULL AS _first, NULL AS _last "
            f"FROM {self.cte(src)} e WHERE {not_null} GROUP BY {gkeys} ORDER BY {gkeys}"
        )
        return sql, emit

    def origin_for_emit(self, emit: Emit, step_id: str) -> None:
        base_role = next((o[0] for o in self.origin[step_id].values() if o[0]), "")
        emit.origins = {c: [o[0] or base_role, o[1]] for c, o in self.origin[step_id].items()}

    # ----- driver -----
    def check_keys(self, s: dict[str, Any], kind: str) -> None:
        unknown = sorted(set(s) - COMMON_KEYS - STEP_KEYS[kind])
        if unknown:
            raise SpecError(_("a %(type)s step has no option '%(key)s'") % {"type": kind, "key": unknown[0]},
                            step=s["id"])

    def compile(self, upto: str | None = None, limit: int | None = None, cap: int | None = None) -> Compiled:
        spec = self.spec
        if not isinstance(spec, dict) or not isinstance(spec.get("steps"), list) or not spec["steps"]:
            raise SpecError(_("a spec is an object with a non-empty list of steps"))
        steps = spec["steps"]
        if len(steps) > MAX_STEPS:
            raise SpecError(_("at most %(n)d steps") % {"n": MAX_STEPS})
        emit: Emit | None = None
        final = None
        for i, s in enumerate(steps):
            if not isinstance(s, dict):
                raise SpecError(_("step %(i)d is not an object") % {"i": i + 1})
            sid = s.get("id")
            if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", sid):
                raise SpecError(_("step %(i)d needs an id of letters, digits, '-' or '_'") % {"i": i + 1})
            if sid in self.steps:
                raise SpecError(_("two steps share the id '%(id)s'") % {"id": sid})
            kind = s.get("type")
            if kind not in STEP_TYPES:
                raise SpecError(_("unknown step type %(t)r") % {"t": kind}, step=sid)
            self.check_keys(s, kind)
            if kind == "emit":
                if i != len(steps) - 1:
                    raise SpecError(_("emit must be the last step"), step=sid)
                if upto is not None and upto != sid:
                    break
                final, emit = self.step_emit(s)
                emit.reason = emit.reason or generated_reason(spec)
                self.steps[sid] = s
                break
            self.ctes.append((sid, getattr(self, f"step_{kind}")(s)))
            self.steps[sid] = s
            if upto == sid:
                break
        if upto is not None and emit is None:
            if upto not in self.cols:
                raise SpecError(_("no step '%(id)s' to preview") % {"id": upto})
            shown = [n for n in self.cols[upto] if n != EVIDENCE_COLUMN]
            final = (f"SELECT {', '.join(qi(n) for n in shown)} FROM {self.cte(upto)} "
                     f"LIMIT {self.bind(int(limit or 50))}")
        elif emit is None:
            raise SpecError(_("the last step must be emit"))
        elif upto is not None:
            final = f"SELECT * FROM ({final}) LIMIT {self.bind(int(limit or 50))}"
        elif cap is not None:
            # The hit cap is enforced in the query too: whatever happens, at most cap + 1 hits come back.
            # (Appended to the emit's own ORDER BY, not around it: a run does not preserve insertion order.)
            final = f"{final} LIMIT {self.bind(int(cap) + 1)}"
        # NOT MATERIALIZED: a source read twice (a window's evidence rows) is scanned twice with
        # projection pushdown, which is cheaper than copying every column of every row once.
        with_sql = ", ".join(f"{self.cte(sid)} AS NOT MATERIALIZED ({sql})" for sid, sql in self.ctes)
        sql = (f"WITH {with_sql} " if with_sql else "") + final
        staged = None
        if cap is not None and emit is not None and upto is None and self.hit_count is not None:
            src, groups, repeats = self.hit_count
            table = qi(EMIT_INPUT_TABLE)
            if groups:  # one hit per group (null keys make none), else one per source row
                nn = " AND ".join(f"{qi(g)} IS NOT NULL" for g in groups)
                count = (f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(qi(g) for g in groups)} "
                         f"FROM {table} WHERE {nn})")
            else:
                what = f"DISTINCT {qi(ROW_COLUMN)}" if repeats else "*"
                count = f"SELECT count({what}) FROM {table}"
            stored = ", ".join(f"{self.cte(sid)} AS NOT MATERIALIZED ("
                               + (f"SELECT * FROM {table}" if sid == src else q) + ")" for sid, q in self.ctes)
            staged = Staged(input_sql=f"WITH {with_sql} SELECT * FROM {self.cte(src)}",
                            count_sql=count, final_sql=f"WITH {stored} {final}")
        return Compiled(sql=sql, params=self.params, emit=emit,
                        columns={k: {n: t for n, t in v.items() if n != EVIDENCE_COLUMN}
                                 for k, v in self.cols.items()},
                        ctes=[(sid, self.steps.get(sid, {}).get("type", ""), q) for sid, q in self.ctes],
                        cap=None if cap is None else int(cap), staged=staged)


def compile_spec(spec: Any, datasets: dict[str, DatasetRef], *, upto: str | None = None,
                 limit: int | None = None, sample: int | None = None, cap: int | None = None) -> Compiled:
    """Validate `spec` against the datasets' columns and compile it (raises SpecError).
    `cap`: the query returns at most cap + 1 hits, and `staged` lets the engine refuse more than
    `cap` hits before collecting any evidence."""
    if upto is not None and not isinstance(upto, str):
        raise SpecError(_("no step '%(id)s' to preview") % {"id": upto})
    try:
        return _Compiler(spec, datasets, sample=sample).compile(upto=upto, limit=limit, cap=cap)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # A value of the wrong JSON type somewhere the checks above did not expect it.
        raise SpecError(_("the spec is malformed (%(err)s)") % {"err": type(exc).__name__}) from None


def roles_of(spec: Any) -> list[str]:
    if not isinstance(spec, dict) or not isinstance(spec.get("steps"), list):
        return []
    roles = set()
    for s in spec["steps"]:
        if not isinstance(s, dict):
            continue
        if s.get("type") == "source" and isinstance(s.get("dataset"), str):
            roles.add(s["dataset"])
        aliases = s.get("aliases") if s.get("type") == "join" else None
        if isinstance(aliases, dict) and isinstance(aliases.get("dataset"), str):
            roles.add(aliases["dataset"])
    return sorted(roles)


def format_value(v: Any) -> str:
    """A value as a person reads it: numbers rounded to 2 places (no trailing zeros), dates ISO."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v == v else ""
    if isinstance(v, decimal.Decimal):
        return format_value(float(v)) if v.as_tuple().exponent < -2 else str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def render_title(template: str, values: dict[str, Any], *, limit: int = 255) -> str:
    def sub(m: re.Match) -> str:
        v = values.get(m.group(1))
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    return tidy_chinese_spacing(PLACEHOLDER_RE.sub(sub, template))[:limit]


# ----- a reason in plain words, generated from the spec when the emit gives none -----

_OP_WORDS = {"=": "等于", "!=": "不等于", ">": "大于", ">=": "不少于", "<": "小于", "<=": "不超过"}
_INTERNAL_WORDS = {"_window_count": "期间次数", "_window_sum": "期间合计", "_ratio": "倍数",
                   "_peer_value": "同组基准值", "_peer_count": "同组数量", "_spread_pct": "报价差异（%）",
                   "_group_count": "组内数量"}


def _field_words(name: Any) -> str:
    return _INTERNAL_WORDS.get(name, f"「{name}」")


def _cond_words(c: dict[str, Any]) -> str:
    if set(c) in ({"any"}, {"all"}):
        inner = [_cond_words(x) for x in next(iter(c.values())) or [] if isinstance(x, dict)]
        return ("或" if "any" in c else "且").join(inner)
    f, op = _field_words(c.get("field")), c.get("op", "=")
    if c.get("other_field"):
        return f"{f}{_OP_WORDS.get(op, op)}{_field_words(c['other_field'])}"
    if op in _OP_WORDS:
        return f"{f}{_OP_WORDS[op]} {c.get('value')}"
    if op in LIST_OPS:
        return f"{f}{'不' if op == 'not_in' else ''}属于 {'、'.join(str(v) for v in c.get('values') or [])}"
    if op == "between":
        return f"{f}在 {c.get('from') or '…'} 至 {c.get('to') or '…'} 之间"
    if op == "is_null":
        return f"{f}为空"
    if op == "not_null":
        return f"{f}不为空"
    return f"{f}包含“{c.get('value')}”"


def generated_reason(spec: Any) -> str:
    """One Chinese sentence saying why a row was hit, from the spec's steps (placeholders as the
    title's, filled per hit)."""
    parts: list[str] = []
    steps = spec.get("steps", []) if isinstance(spec, dict) else []
    for s in steps:
        if not isinstance(s, dict):
            continue
        t = s.get("type")
        if t in ("filter", "threshold"):
            parts.extend(_cond_words(c) for c in s.get("conditions") or [] if isinstance(c, dict))
        elif t == "keyword":
            for c in s.get("conditions") or [s]:
                if isinstance(c, dict) and c.get("field"):
                    words = c.get("any_of") or c.get("all_of") or []
                    joiner = "全部" if c.get("all_of") else "之一"
                    parts.append(f"「{c['field']}」含有“{'”“'.join(str(w) for w in words)}”{joiner}")
        elif t == "join":
            how = {"semi": "在对照名单中有匹配", "anti": "在对照名单中没有匹配"}.get(s.get("how"), "与对照数据匹配")
            match = {"normalized": "（名称规范化后比对）", "similarity": "（名称相似比对）"}.get(s.get("match"), "")
            parts.append(how + match)
        elif t == "window":
            parts.append(f"按{'、'.join(_field_words(p) for p in s.get('partition_by') or [])}在 "
                         f"{s.get('window_days')} 天内出现 {{count}} 次")
        elif t == "peer":
            dirn = {"below": "低于", "both": "偏离"}.get(s.get("direction"), "高于")
            parts.append(f"{_field_words(s.get('value_field'))}{dirn}同组（{'、'.join(s.get('group_by') or [])}）"
                         f"{'平均值' if s.get('stat') == 'mean' else '中位数'}的 {s.get('factor')} 倍，为 {{ratio}} 倍")
        elif t == "aggregate":
            having = "，".join(_cond_words(c) for c in s.get("having") or [] if isinstance(c, dict))
            parts.append(f"按{'、'.join(_field_words(g) for g in s.get('group_by') or [])}汇总"
                         + (f"后{having}" if having else ""))
        elif t == "spread":
            parts.append(f"同一{'、'.join(_field_words(g) for g in s.get('group_by') or [])}的"
                         f"{_field_words(s.get('value_field'))}相差不超过 {s.get('max_spread_pct')}%")
        elif t == "dedupe":
            continue
    emit = steps[-1] if steps and isinstance(steps[-1], dict) else {}
    if emit.get("amount_field"):
        parts.append("涉及金额 {amount} 元")
    return ("命中条件：" + "；".join(p for p in parts if p) + "。") if parts else ""


# Chinese text takes no spaces between its characters, its numbers and its punctuation:
# "{A} 与 {B} {count} 份合同" renders "甲 与 乙 3 份合同" otherwise; Latin words keep their spaces.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9.])\s+(?=[{_CJK}])")


def tidy_chinese_spacing(text: str) -> str:
    """Drop the spaces a title template leaves next to Chinese characters, and collapse the rest."""
    return _CJK_SPACE_RE.sub("", re.sub(r"\s+", " ", text)).strip()
