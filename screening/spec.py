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

Step types: source, filter, keyword, join, window, threshold, peer, emit (see docs/screening.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from screening.importing import ROW_COLUMN, coerce, qi

STEP_TYPES = ("source", "filter", "keyword", "join", "window", "threshold", "peer", "emit")
COMPARE_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
LIST_OPS = ("in", "not_in")
OTHER_OPS = ("between", "is_null", "not_null", "contains")
NUMERIC = ("integer", "decimal", "double")
MAX_STEPS = 40
MAX_WINDOW_DAYS = 3660
EVIDENCE_LIMIT = 200
RISK_LEVELS = ("red", "orange", "yellow", "blue")
PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")
TITLE_EXTRA = ("subject", "amount", "count", "first_date", "last_date", "ratio", "peer_value")


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


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]
    emit: Emit | None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # step id → {column: type}


def _types_compatible(a: str, b: str) -> bool:
    return a == b or (a in NUMERIC and b in NUMERIC)


class _Compiler:
    def __init__(self, spec: Any, datasets: dict[str, DatasetRef], *, sample: int | None = None) -> None:
        self.spec, self.datasets, self.sample = spec, datasets, sample
        self.params: dict[str, Any] = {}
        self.ctes: list[tuple[str, str]] = []
        self.cols: dict[str, dict[str, str]] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.base: dict[str, list[str]] = {}  # step → the left-most source's columns
        self.window_of: dict[str, dict[str, Any] | None] = {}  # step → nearest upstream window step

    # ----- helpers -----
    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def cte(self, step_id: str) -> str:
        return qi("s_" + step_id)

    def col(self, step: dict[str, Any], key: str, source: str, *, types: tuple[str, ...] | None = None,
            required: bool = True) -> str | None:
        name = step.get(key)
        if name in (None, "") and not required:
            return None
        if not isinstance(name, str) or not name:
            raise SpecError(_("choose a column for '%(key)s'") % {"key": key}, step=step["id"])
        known = self.cols[source]
        if name not in known:
            raise SpecError(_("unknown column '%(name)s'") % {"name": name}, step=step["id"])
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

    # ----- conditions (filter and threshold) -----
    def condition(self, step_id: str, cond: Any, source: str) -> str:
        if not isinstance(cond, dict):
            raise SpecError(_("each condition must be an object"), step=step_id)
        name = self.col({"id": step_id, "field": cond.get("field")}, "field", source)
        kind = self.cols[source][name]
        c = qi(name)
        op = cond.get("op", "=")
        if "other_field" in cond:
            other = self.col({"id": step_id, "other_field": cond.get("other_field")}, "other_field", source)
            if op not in COMPARE_OPS or not _types_compatible(kind, self.cols[source][other]):
                raise SpecError(_("cannot compare '%(a)s' with '%(b)s' using %(op)s")
                                % {"a": name, "b": other, "op": op}, step=step_id)
            return f"({c} {COMPARE_OPS[op]} {qi(other)})"
        if op in COMPARE_OPS:
            value = self.typed_value(step_id, cond.get("value"), kind)
            if value is None:
                raise SpecError(_("condition on '%(name)s' needs a value") % {"name": name}, step=step_id)
            return f"({c} {COMPARE_OPS[op]} {self.bind(value)})"
        if op in LIST_OPS:
            values = cond.get("values")
            if not isinstance(values, list) or not values or len(values) > 1000:
                raise SpecError(_("'%(op)s' needs a list of 1 to 1000 values") % {"op": op}, step=step_id)
            binds = ", ".join(self.bind(self.typed_value(step_id, v, kind)) for v in values)
            return f"({c} {'NOT ' if op == 'not_in' else ''}IN ({binds}))"
        if op == "between":
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
        if op == "contains":
            if kind != "text":
                raise SpecError(_("'contains' needs a text column"), step=step_id)
            return f"contains({c}, {self.bind(str(cond.get('value') or ''))})"
        raise SpecError(_("unknown operator %(op)r") % {"op": op}, step=step_id)

    # ----- steps -----
    def step_source(self, s: dict[str, Any]) -> str:
        role = s.get("dataset")
        if role not in self.datasets:
            raise SpecError(_("no dataset is bound to the role '%(role)s'") % {"role": role}, step=s["id"])
        ds = self.datasets[role]
        self.cols[s["id"]] = {ROW_COLUMN: "integer", **{c["name"]: c["type"] for c in ds.columns}}
        self.base[s["id"]] = [c["name"] for c in ds.columns]
        self.window_of[s["id"]] = None
        sql = f"SELECT * FROM read_parquet({self.bind(ds.path)})"
        if self.sample:
            sql += f" LIMIT {int(self.sample)}"
        return sql

    def _passthrough(self, s: dict[str, Any], src: str) -> None:
        self.cols[s["id"]] = dict(self.cols[src])
        self.base[s["id"]] = self.base[src]
        self.window_of[s["id"]] = self.window_of[src]

    def step_filter(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        conds = s.get("conditions")
        if not isinstance(conds, list) or not conds:
            raise SpecError(_("add at least one condition"), step=s["id"])
        where = " AND ".join(self.condition(s["id"], c, src) for c in conds)
        self._passthrough(s, src)
        return f"SELECT * FROM {self.cte(src)} WHERE {where}"

    step_threshold = step_filter

    def step_keyword(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        conds = s.get("conditions")
        if conds is None and s.get("field"):
            conds = [{k: s[k] for k in ("field", "any_of", "all_of") if k in s}]
        if not isinstance(conds, list) or not conds:
            raise SpecError(_("add at least one keyword condition"), step=s["id"])
        parts = []
        for cond in conds:
            if not isinstance(cond, dict):
                raise SpecError(_("each condition must be an object"), step=s["id"])
            name = self.col({"id": s["id"], "field": cond.get("field")}, "field", src, types=("text",))
            mode = "all_of" if cond.get("all_of") else "any_of"
            raw = cond.get(mode)
            words = [w for w in raw if isinstance(w, str) and w.strip()] if isinstance(raw, list) else []
            if not words or len(words) > 200:
                raise SpecError(_("give 1 to 200 words for '%(name)s'") % {"name": name}, step=s["id"])
            joiner = " AND " if mode == "all_of" else " OR "
            parts.append("(" + joiner.join(f"contains({qi(name)}, {self.bind(w.strip())})" for w in words) + ")")
        self._passthrough(s, src)
        return f"SELECT * FROM {self.cte(src)} WHERE {' AND '.join(parts)}"

    def step_join(self, s: dict[str, Any]) -> str:
        left, right = self.input_of(s, "left"), self.input_of(s, "right")
        how = s.get("how", "inner")
        if how not in ("inner", "semi", "anti"):
            raise SpecError(_("a join is inner, semi or anti"), step=s["id"])
        on = s.get("on")
        if not isinstance(on, list) or not on:
            raise SpecError(_("a join needs at least one pair of key columns"), step=s["id"])
        conds = []
        for pair in on:
            if not isinstance(pair, dict):
                raise SpecError(_("each join key is {left, right}"), step=s["id"])
            lname = self.col({"id": s["id"], "left": pair.get("left")}, "left", left)
            rname = self.col({"id": s["id"], "right": pair.get("right")}, "right", right)
            if not _types_compatible(self.cols[left][lname], self.cols[right][rname]):
                raise SpecError(_("key types differ: '%(l)s' and '%(r)s'") % {"l": lname, "r": rname}, step=s["id"])
            conds.append(f"l.{qi(lname)} = r.{qi(rname)}")
        on_sql = " AND ".join(conds)
        self.base[s["id"]] = self.base[left]
        self.window_of[s["id"]] = self.window_of[left]
        if how in ("semi", "anti"):
            self.cols[s["id"]] = dict(self.cols[left])
            return f"SELECT * FROM {self.cte(left)} l {how.upper()} JOIN {self.cte(right)} r ON {on_sql}"
        prefix = s.get("prefix") or "r."
        if not isinstance(prefix, str) or len(prefix) > 16:
            raise SpecError(_("invalid column prefix"), step=s["id"])
        out = dict(self.cols[left])
        extra = []
        for name, kind in self.cols[right].items():
            if name == ROW_COLUMN:
                continue
            new = prefix + name
            if new in out:
                raise SpecError(_("column '%(n)s' would appear twice; choose another prefix") % {"n": new},
                                step=s["id"])
            out[new] = kind
            extra.append(f"r.{qi(name)} AS {qi(new)}")
        self.cols[s["id"]] = out
        select = ", ".join(["l.*", *extra])
        return f"SELECT {select} FROM {self.cte(left)} l JOIN {self.cte(right)} r ON {on_sql}"

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
        out = dict(self.cols[src])
        out.update({"_window_count": "integer", "_window_start": "date"})
        if value:
            sel.append(f"sum({qi(value)}) OVER {win} AS _window_sum")
            out["_window_sum"] = self.cols[src][value] if self.cols[src][value] != "integer" else "integer"
        self.cols[s["id"]] = out
        self.base[s["id"]] = self.base[src]
        self.window_of[s["id"]] = {"source": src, "partition_by": parts, "date_field": date, "value_field": value}
        return f"SELECT *, {', '.join(sel)} FROM {self.cte(src)} WHERE {not_null}"

    def step_peer(self, s: dict[str, Any]) -> str:
        src = self.input_of(s)
        value = self.col(s, "value_field", src, types=NUMERIC)
        groups = self.col_list(s, "group_by", src)
        stat = s.get("stat", "median")
        if stat not in ("median", "mean"):
            raise SpecError(_("compare with the group's median or mean"), step=s["id"])
        factor = s.get("factor")
        if isinstance(factor, bool) or not isinstance(factor, (int, float, str)):
            raise SpecError(_("factor must be a positive number"), step=s["id"])
        try:
            factor = float(factor)
        except ValueError:
            raise SpecError(_("factor must be a positive number"), step=s["id"]) from None
        if not 0 < factor < 1e9:
            raise SpecError(_("factor must be a positive number"), step=s["id"])
        fn = "median" if stat == "median" else "avg"
        v = f"CAST({qi(value)} AS DOUBLE)"
        part = ", ".join(qi(g) for g in groups)
        not_null = " AND ".join(f"{qi(g)} IS NOT NULL" for g in groups)
        out = dict(self.cols[src])
        out.update({"_peer_value": "double", "_ratio": "double", "_peer_count": "integer"})
        self.cols[s["id"]] = out
        self.base[s["id"]] = self.base[src]
        self.window_of[s["id"]] = self.window_of[src]
        return (
            f"SELECT *, {v} / NULLIF(_peer_value, 0) AS _ratio FROM ("
            f"SELECT *, {fn}({v}) OVER (PARTITION BY {part}) AS _peer_value, "
            f"count({qi(value)}) OVER (PARTITION BY {part}) AS _peer_count "
            f"FROM {self.cte(src)} WHERE {not_null}) WHERE {v} > {self.bind(factor)} * _peer_value"
        )

    def evidence(self, step_id: str) -> str:
        """The evidence row of alias `e` as a struct of `_row` and the data columns (no computed `_` ones)."""
        names = [ROW_COLUMN] + [n for n in self.cols[step_id] if not n.startswith("_")]
        return "struct_pack(" + ", ".join(f"{qi(n)} := e.{qi(n)}" for n in names) + ")"

    def step_emit(self, s: dict[str, Any]) -> tuple[str, Emit]:
        src = self.input_of(s)
        groups = self.col_list(s, "group_by", src, allow_empty=True)
        subject = self.col(s, "subject_field", src, required=False)
        amount = self.col(s, "amount_field", src, types=NUMERIC, required=False)
        risk = s.get("risk_level") or None
        if risk is not None and risk not in RISK_LEVELS:
            raise SpecError(_("unknown risk level %(r)r") % {"r": risk}, step=s["id"])
        title = s.get("title") or ""
        if not isinstance(title, str) or len(title) > 200:
            raise SpecError(_("the title template must be text of at most 200 characters"), step=s["id"])
        for ph in PLACEHOLDER_RE.findall(title):
            if ph not in self.cols[src] and ph not in TITLE_EXTRA:
                raise SpecError(_("the title uses an unknown field {%(f)s}") % {"f": ph}, step=s["id"])
        cols = self.cols[src]
        window = self.window_of[src]
        emit = Emit(groups, subject, amount, title, risk, self.base[src], False)
        amount_sql = f"sum(e.{qi(amount)})" if amount else "NULL"
        if not groups:
            # One hit per source row (a join may have repeated it).
            row_amount = qi(amount) if amount else "NULL"
            sql = (f"SELECT e AS _hit, {row_amount} AS _amount, 1 AS _n FROM {self.cte(src)} e "
                   f"QUALIFY row_number() OVER (PARTITION BY e.{qi(ROW_COLUMN)}) = 1 ORDER BY e.{qi(ROW_COLUMN)}")
            return sql, emit
        keys = ", ".join(f"b.{qi(g)}" for g in groups)
        if window and set(groups) == set(window["partition_by"]):
            # The best window of each group: most rows (or largest sum), earliest; its rows are the evidence.
            best_by = s.get("best_by") or "_window_count"
            if best_by not in ("_window_count", "_window_sum") or best_by not in cols:
                raise SpecError(_("best_by is _window_count or _window_sum"), step=s["id"])
            emit.windowed = True
            date = qi(window["date_field"])
            part = ", ".join(qi(g) for g in groups)
            best = (f"SELECT * FROM {self.cte(src)} QUALIFY row_number() OVER (PARTITION BY {part} "
                    f"ORDER BY {qi(best_by)} DESC, {date}, {qi(ROW_COLUMN)}) = 1")
            join = " AND ".join(f"e.{qi(g)} = b.{qi(g)}" for g in groups)
            sql = (
                f"SELECT {keys}, any_value(b) AS _hit, "
                f"to_json(list({self.evidence(window['source'])} ORDER BY e.{date}, e.{qi(ROW_COLUMN)})"
                f"[1:{EVIDENCE_LIMIT}]) AS _rows, "
                f"{amount_sql} AS _amount, count(*) AS _n, min(e.{date}) AS _first, max(e.{date}) AS _last "
                f"FROM ({best}) b JOIN {self.cte(window['source'])} e ON {join} "
                f"AND e.{date} BETWEEN b._window_start AND b.{date} "
                f"GROUP BY {keys} ORDER BY {keys}"
            )
            return sql, emit
        gkeys = ", ".join(f"e.{qi(g)}" for g in groups)
        not_null = " AND ".join(f"e.{qi(g)} IS NOT NULL" for g in groups)
        sql = (
            f"SELECT {gkeys}, first(e ORDER BY e.{qi(ROW_COLUMN)}) AS _hit, "
            f"to_json(list({self.evidence(src)} ORDER BY e.{qi(ROW_COLUMN)})[1:{EVIDENCE_LIMIT}]) AS _rows, "
            f"{amount_sql} AS _amount, count(*) AS _n, NULL AS _first, NULL AS _last "
            f"FROM {self.cte(src)} e WHERE {not_null} GROUP BY {gkeys} ORDER BY {gkeys}"
        )
        return sql, emit

    # ----- driver -----
    def compile(self, upto: str | None = None, limit: int | None = None) -> Compiled:
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
            if kind == "emit":
                if i != len(steps) - 1:
                    raise SpecError(_("emit must be the last step"), step=sid)
                if upto is not None and upto != sid:
                    break
                final, emit = self.step_emit(s)
                self.steps[sid] = s
                break
            self.ctes.append((sid, getattr(self, f"step_{kind}")(s)))
            self.steps[sid] = s
            if upto == sid:
                break
        if upto is not None and emit is None:
            if upto not in self.cols:
                raise SpecError(_("no step '%(id)s' to preview") % {"id": upto})
            final = f"SELECT * FROM {self.cte(upto)} LIMIT {self.bind(int(limit or 50))}"
        elif emit is None:
            raise SpecError(_("the last step must be emit"))
        elif upto is not None:
            final = f"SELECT * FROM ({final}) LIMIT {self.bind(int(limit or 50))}"
        # NOT MATERIALIZED: a source read twice (a window's evidence rows) is scanned twice with
        # projection pushdown, which is cheaper than copying every column of every row once.
        with_sql = ", ".join(f"{self.cte(sid)} AS NOT MATERIALIZED ({sql})" for sid, sql in self.ctes)
        sql = (f"WITH {with_sql} " if with_sql else "") + final
        return Compiled(sql=sql, params=self.params, emit=emit, columns=self.cols)


def compile_spec(spec: Any, datasets: dict[str, DatasetRef], *, upto: str | None = None,
                 limit: int | None = None, sample: int | None = None) -> Compiled:
    """Validate `spec` against the datasets' columns and compile it (raises SpecError)."""
    if upto is not None and not isinstance(upto, str):
        raise SpecError(_("no step '%(id)s' to preview") % {"id": upto})
    try:
        return _Compiler(spec, datasets, sample=sample).compile(upto=upto, limit=limit)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # A value of the wrong JSON type somewhere the checks above did not expect it.
        raise SpecError(_("the spec is malformed (%(err)s)") % {"err": type(exc).__name__}) from None


def roles_of(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        return []
    return sorted({s.get("dataset") for s in spec.get("steps", []) if isinstance(s, dict)
                   and s.get("type") == "source" and isinstance(s.get("dataset"), str)})


def render_title(template: str, values: dict[str, Any]) -> str:
    def sub(m: re.Match) -> str:
        v = values.get(m.group(1))
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.2f}"
        if isinstance(v, (dt.date, decimal.Decimal)):
            return str(v)
        return str(v)

    return tidy_chinese_spacing(PLACEHOLDER_RE.sub(sub, template))[:255]


# Chinese text takes no spaces between its characters, its numbers and its punctuation:
# "{A} 与 {B} {count} 份合同" renders "甲 与 乙 3 份合同" otherwise; Latin words keep their spaces.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9.])\s+(?=[{_CJK}])")


def tidy_chinese_spacing(text: str) -> str:
    """Drop the spaces a title template leaves next to Chinese characters, and collapse the rest."""
    return _CJK_SPACE_RE.sub("", re.sub(r"\s+", " ", text)).strip()
