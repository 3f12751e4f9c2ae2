"""A rule spec in words: labels for everything the engine names in code, one plain sentence per
step, the columns a model uses per dataset role (and renaming them for a copy), and a diagram of
datasets and steps drawn server-side as SVG (it prints, and the factory shows the same picture).

Every label is translatable: zh-hans is the users' language, English ships too. Nothing here
decides anything; it only describes a spec the compiler (`screening.spec`) accepts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

STEP_LABELS = {
    "source": gettext_lazy("Source"), "filter": gettext_lazy("Filter"), "keyword": gettext_lazy("Keyword"),
    "join": gettext_lazy("Join"), "window": gettext_lazy("Sliding window"), "threshold": gettext_lazy("Threshold"),
    "peer": gettext_lazy("Peer comparison"), "emit": gettext_lazy("Emit alert"),
    "compute": gettext_lazy("Compute"), "aggregate": gettext_lazy("Aggregate"), "dedupe": gettext_lazy("Deduplicate"),
    "spread": gettext_lazy("Close bids"),
}

OP_LABELS = {
    "=": gettext_lazy("equals"), "!=": gettext_lazy("does not equal"), ">": gettext_lazy("is more than"),
    ">=": gettext_lazy("is at least"), "<": gettext_lazy("is less than"), "<=": gettext_lazy("is at most"),
    "in": gettext_lazy("is one of"), "not_in": gettext_lazy("is none of"), "between": gettext_lazy("is between"),
    "is_null": gettext_lazy("is empty"), "not_null": gettext_lazy("is not empty"),
    "contains": gettext_lazy("contains"),
}

JOIN_LABELS = {
    "inner": gettext_lazy("combine matching rows"), "semi": gettext_lazy("keep rows that have a match"),
    "anti": gettext_lazy("keep rows without a match"),
}

MATCH_LABELS = {
    "exact": gettext_lazy("exactly"), "normalized": gettext_lazy("after normalising names"),
    "similarity": gettext_lazy("by similarity"),
}

STAT_LABELS = {
    "median": gettext_lazy("median"), "mean": gettext_lazy("mean"), "count": gettext_lazy("count"),
    "count_distinct": gettext_lazy("distinct count"), "sum": gettext_lazy("sum"), "min": gettext_lazy("minimum"),
    "max": gettext_lazy("maximum"), "avg": gettext_lazy("average"), "first": gettext_lazy("first"),
    "last": gettext_lazy("last"),
}

COLUMN_TYPE_LABELS = {
    "text": pgettext_lazy("column type", "text"), "integer": pgettext_lazy("column type", "whole number"),
    "decimal": pgettext_lazy("column type", "number"), "double": pgettext_lazy("column type", "number"),
    "date": pgettext_lazy("column type", "date"),
}

# Columns the engine adds, by their meaning.
INTERNAL_COLUMNS = {
    "_row": gettext_lazy("line number"), "_window_count": gettext_lazy("count in the window"),
    "_window_sum": gettext_lazy("amount total in the window"), "_window_start": gettext_lazy("window start date"),
    "_peer_value": gettext_lazy("group benchmark"), "_ratio": gettext_lazy("times the benchmark"),
    "_peer_count": gettext_lazy("rows in the group"),
    "window_count": gettext_lazy("count in the window"), "first_date": gettext_lazy("first date"),
    "last_date": gettext_lazy("last date"),
}

ROLE_LABELS = {
    "awards": gettext_lazy("award records"), "records": gettext_lazy("records"),
    "contracts": gettext_lazy("contracts"), "relations": gettext_lazy("list of related parties"),
    "penalties": gettext_lazy("penalty records"), "events": gettext_lazy("event records"),
    "reference": gettext_lazy("reference records"), "invoices": gettext_lazy("invoices"),
    "complaints": gettext_lazy("complaints"), "responsibility": gettext_lazy("responsibility table"),
    "bids": gettext_lazy("bids"), "roster": gettext_lazy("staff roster"), "travellers": gettext_lazy("travellers"),
    "shareholders": gettext_lazy("shareholders"), "relatives": gettext_lazy("relatives of officials"),
    "aliases": gettext_lazy("name aliases"), "subcontracts": gettext_lazy("subcontracts"),
    "electricity": gettext_lazy("electricity use"),
}

# What each dataset role must contain, as a sentence for the factory form.
ROLE_HELP = {
    "awards": gettext_lazy("One row per award: the buyer, the winning company, the award date and, if known, "
                           "the amount."),
    "records": gettext_lazy("One row per record to check, with the columns the rule below reads."),
    "contracts": gettext_lazy("One row per contract: the buyer, the supplier, the signing date and the amount."),
    "relations": gettext_lazy("One row per related party: the unit and the company related to its officials."),
    "penalties": gettext_lazy("One row per penalty: the company, the agency and the penalty date."),
    "events": gettext_lazy("One row per event (e.g. a payment): the person's key and the event date."),
    "reference": gettext_lazy("One row per person with the reference date (e.g. date of death)."),
}

STATUS_LABELS = {
    "draft": gettext_lazy("Draft"), "active": gettext_lazy("Active"), "retired": gettext_lazy("Retired"),
    "queued": gettext_lazy("Queued"), "running": gettext_lazy("Running"), "succeeded": gettext_lazy("Succeeded"),
    "failed": gettext_lazy("Failed"),
}

UNITS = {"days": gettext_lazy("days"), "times": gettext_lazy("times"), "yuan": gettext_lazy("yuan"),
         "factor": gettext_lazy("× the benchmark"), "percent": gettext_lazy("%")}

# Template parameters as the factory form shows them: label, help, kind, accepted column types, unit.
TEXTISH = ("text", "integer")
NUMERIC = ("integer", "decimal", "double")
PARAM_META: dict[str, dict[str, Any]] = {
    "buyer_field": {"label": gettext_lazy("Buyer column"), "types": TEXTISH,
                    "help": gettext_lazy("The purchasing unit.")},
    "winner_field": {"label": gettext_lazy("Winner column"), "types": TEXTISH,
                     "help": gettext_lazy("The company that won.")},
    "supplier_field": {"label": gettext_lazy("Supplier column"), "types": TEXTISH,
                       "help": gettext_lazy("The company that signed the contract.")},
    "date_field": {"label": gettext_lazy("Date column"), "types": ("date",),
                   "help": gettext_lazy("The date the window counts from.")},
    "amount_field": {"label": gettext_lazy("Amount column"), "types": NUMERIC,
                     "help": gettext_lazy("Optional: the money involved, shown on the alert."),
                     "help_required": gettext_lazy("The money of each row, added up for the alert.")},
    "window_days": {"label": gettext_lazy("Time window"), "unit": "days",
                    "help": gettext_lazy("Any period of this many days.")},
    "min_count": {"label": gettext_lazy("At least"), "unit": "times",
                  "help": gettext_lazy("How many times inside the window make a hit.")},
    "threshold": {"label": gettext_lazy("Tendering limit"), "unit": "yuan",
                  "help": gettext_lazy("Contracts each below this, together at least this, are suspect.")},
    "factor": {"label": gettext_lazy("Times the group median"), "unit": "factor",
               "help": gettext_lazy("A value above this many times its group's median is a hit.")},
    "value_field": {"label": gettext_lazy("Value column"), "types": NUMERIC,
                    "help": gettext_lazy("The number compared with the group.")},
    "group_field": {"label": gettext_lazy("Group column"), "types": TEXTISH,
                    "help": gettext_lazy("Rows are compared within the same group (e.g. the same village).")},
    "subject_field": {"label": gettext_lazy("Subject column"), "types": TEXTISH,
                      "help": gettext_lazy("Who the alert is about.")},
    "company_field": {"label": gettext_lazy("Company column"), "types": TEXTISH, "help": ""},
    "agency_field": {"label": gettext_lazy("Agency column"), "types": TEXTISH, "help": ""},
    "award_unit_field": {"label": gettext_lazy("Buyer column of the awards"), "types": TEXTISH, "help": ""},
    "award_company_field": {"label": gettext_lazy("Winner column of the awards"), "types": TEXTISH, "help": ""},
    "relation_unit_field": {"label": gettext_lazy("Unit column of the list"), "types": TEXTISH, "help": ""},
    "relation_company_field": {"label": gettext_lazy("Company column of the list"), "types": TEXTISH, "help": ""},
    "event_key_field": {"label": gettext_lazy("Key column of the events"), "types": TEXTISH,
                        "help": gettext_lazy("E.g. the ID number.")},
    "event_date_field": {"label": gettext_lazy("Date column of the events"), "types": ("date",), "help": ""},
    "reference_key_field": {"label": gettext_lazy("Key column of the reference"), "types": TEXTISH, "help": ""},
    "reference_date_field": {"label": gettext_lazy("Date column of the reference"), "types": ("date",),
                             "help": ""},
    "conditions": {"label": gettext_lazy("Words to look for"), "types": ("text",),
                   "help": gettext_lazy("A row is a hit when the chosen column contains any of the words.")},
}
PARAM_ROLE_PREFIX = {"award_": "awards", "relation_": "relations", "event_": "events", "reference_": "reference"}


def step_label(kind: Any) -> str:
    return str(STEP_LABELS.get(kind, _("Step")))


def role_label(role: Any) -> str:
    if role in ROLE_LABELS:
        return str(ROLE_LABELS[role])
    return _("dataset “%(r)s”") % {"r": role}


def column_label(name: Any) -> str:
    """A column as users read it: internal columns by their meaning, others by their own name."""
    if isinstance(name, str) and name in INTERNAL_COLUMNS:
        return str(INTERNAL_COLUMNS[name])
    return str(name)


def param_label(name: str) -> str:
    meta = PARAM_META.get(name)
    return str(meta["label"]) if meta else _("Setting")


def param_role(template_roles: tuple[str, ...] | list[str], name: str) -> str:
    for prefix, role in PARAM_ROLE_PREFIX.items():
        if name.startswith(prefix) and role in template_roles:
            return role
    return template_roles[0] if template_roles else ""


def _q(name: Any) -> str:
    return _("“%(c)s”") % {"c": column_label(name)}


def _cols(names: Any) -> str:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return "—"
    return _(", ").join(_q(n) for n in names) if names else "—"


def _then(first: str, second: str) -> str:
    """Two sentences one after the other (a space in English, none in Chinese)."""
    return _("%(first)s %(second)s") % {"first": first, "second": second}


def plain_text(text: str, params: dict[str, Any] | None = None) -> str:
    """A built-in model's description with its parameter names (`window_days`, `min_count`, …)
    replaced by the model's values, or by what they mean when there is no value."""
    for name in sorted(PARAM_META, key=len, reverse=True):
        if name in text:
            value = (params or {}).get(name)
            text = text.replace(name, str(value) if isinstance(value, (int, float, str)) and value != ""
                                else param_label(name))
    return text


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _condition(cond: Any) -> str:
    if not isinstance(cond, dict):
        return "—"
    field, op = cond.get("field"), cond.get("op", "=")
    if "other_field" in cond:
        return _("%(a)s %(op)s %(b)s") % {"a": _q(field), "op": OP_LABELS.get(op, op), "b": _q(cond["other_field"])}
    if op in ("in", "not_in"):
        values = cond.get("values") or []
        return _("%(a)s %(op)s %(v)s") % {"a": _q(field), "op": OP_LABELS[op],
                                          "v": _(", ").join(str(v) for v in values[:10])}
    if op == "between":
        return _("%(a)s is between %(lo)s and %(hi)s") % {
            "a": _q(field), "lo": cond.get("from") or "…", "hi": cond.get("to") or "…"}
    if op in ("is_null", "not_null"):
        return _("%(a)s %(op)s") % {"a": _q(field), "op": OP_LABELS[op]}
    if "any_of" in cond or "all_of" in cond:
        words = cond.get("all_of") or cond.get("any_of") or []
        pattern = _("%(a)s contains all of %(w)s") if cond.get("all_of") else _("%(a)s contains any of %(w)s")
        return pattern % {"a": _q(field), "w": _(", ").join(f"“{w}”" for w in words[:20])}
    return _("%(a)s %(op)s %(v)s") % {"a": _q(field), "op": OP_LABELS.get(op, op), "v": _num(cond.get("value"))}


def _conditions(conds: Any) -> str:
    if isinstance(conds, dict):
        conds = [conds]
    if not isinstance(conds, list) or not conds:
        return "—"
    return _("; and ").join(_condition(c) for c in conds)


def step_sentence(step: dict[str, Any], steps: dict[str, dict[str, Any]], names: dict[str, str]) -> str:
    """One plain sentence for a step. `steps` is id → step (earlier ones), `names` role → dataset name."""
    kind = step.get("type")
    sid = step.get("id")

    def ref(key: str) -> str:
        other = steps.get(step.get(key))
        if other is None:
            return _("the step above")
        label = role_label(other.get("dataset")) if other.get("type") == "source" else step_label(other.get("type"))
        return _("step %(n)s (%(label)s)") % {"n": other.get("_n", "?"), "label": label}

    if kind == "source":
        role = step.get("dataset")
        name = names.get(role)
        if name:
            return _("Read the %(role)s (dataset “%(name)s”).") % {"role": role_label(role), "name": name}
        return _("Read the %(role)s.") % {"role": role_label(role)}
    if kind == "filter":
        return _("Keep the rows where %(c)s.") % {"c": _conditions(step.get("conditions"))}
    if kind == "threshold":
        window = steps.get(step.get("input"))
        conds = step.get("conditions") or []
        if window and window.get("type") == "window" and isinstance(conds, list):
            parts = []
            for c in conds:
                if isinstance(c, dict) and c.get("field") == "_window_count" and c.get("op") in (">=", ">"):
                    n = _num(c.get("value"))
                    parts.append((_("at least %(n)s times") if c["op"] == ">=" else _("more than %(n)s times"))
                                 % {"n": n})
                elif isinstance(c, dict) and c.get("field") == "_window_sum" and c.get("op") in (">=", ">"):
                    parts.append(_("together at least %(n)s yuan") % {"n": _num(c.get("value"))})
                else:
                    parts.append(_condition(c))
            return _("The same %(keys)s within any %(days)s days (by %(date)s): %(what)s.") % {
                "keys": _cols(window.get("partition_by")), "days": window.get("window_days"),
                "date": _q(window.get("date_field")), "what": _("; ").join(parts)}
        return _("Keep the rows where %(c)s.") % {"c": _conditions(conds)}
    if kind == "keyword":
        conds = step.get("conditions")
        if conds is None and step.get("field"):
            conds = [step]
        return _("Keep the rows where %(c)s.") % {"c": _conditions(conds)}
    if kind == "join":
        on = step.get("on") or []
        pairs = _(", ").join(_("%(l)s = %(r)s") % {"l": _q(p.get("left")), "r": _q(p.get("right"))}
                            for p in on if isinstance(p, dict)) or "—"
        how = str(JOIN_LABELS.get(step.get("how", "inner"), step.get("how")))
        text = _("Match %(left)s with %(right)s on %(pairs)s and %(how)s.") % {
            "left": ref("left"), "right": ref("right"), "pairs": pairs, "how": how}
        match = step.get("match")
        if match and match != "exact":
            text = _then(text, _("Names are compared %(m)s.") % {"m": MATCH_LABELS.get(match, match)})
        return text
    if kind == "window":
        text = _("For the same %(keys)s, count the rows within any %(days)s days, by %(date)s.") % {
            "keys": _cols(step.get("partition_by")), "days": step.get("window_days"),
            "date": _q(step.get("date_field"))}
        if step.get("value_field"):
            text = _then(text, _("Also add up %(v)s.") % {"v": _q(step["value_field"])})
        return text
    if kind == "peer":
        direction = step.get("direction", "above")
        pattern = {
            "below": _("Keep the rows whose %(v)s is below 1/%(f)s of the %(stat)s of the same %(g)s."),
            "both": _("Keep the rows whose %(v)s is %(f)s times above or below the %(stat)s of the same %(g)s."),
        }.get(direction, _("Keep the rows whose %(v)s is more than %(f)s times the %(stat)s of the same %(g)s."))
        return pattern % {"v": _q(step.get("value_field")), "f": _num(step.get("factor")),
                          "stat": STAT_LABELS.get(step.get("stat", "median"), step.get("stat")),
                          "g": _cols(step.get("group_by"))}
    if kind == "compute":
        cols = step.get("columns") or []
        names_ = _(", ").join(f"“{c.get('name')}”" for c in cols if isinstance(c, dict)) or "—"
        return _("Compute the new column(s) %(c)s.") % {"c": names_}
    if kind == "aggregate":
        metrics = step.get("metrics") or []
        ms = _(", ").join(
            _("%(fn)s of %(f)s") % {"fn": STAT_LABELS.get(m.get("fn"), m.get("fn")), "f": _q(m.get("field") or "")}
            if m.get("field") else str(STAT_LABELS.get(m.get("fn"), m.get("fn")))
            for m in metrics if isinstance(m, dict)) or "—"
        text = _("For each %(g)s, work out %(m)s.") % {"g": _cols(step.get("group_by")), "m": ms}
        if step.get("having"):
            text = _then(text, _("Keep the groups where %(c)s.") % {"c": _conditions(step.get("having"))})
        return text
    if kind == "dedupe":
        return _("Keep one row for each %(k)s.") % {"k": _cols(step.get("keys"))}
    if kind == "spread":
        return _("For each %(g)s with at least %(n)s rows, keep those whose %(v)s lie within %(p)s%% of each "
                 "other.") % {"g": _cols(step.get("group_by")), "n": step.get("min_count"),
                              "v": _q(step.get("value_field")), "p": _num(step.get("max_spread_pct"))}
    if kind == "emit":
        groups = step.get("group_by") or []
        text = (_("Raise one alert for each %(g)s") % {"g": _cols(groups)} if groups
                else _("Raise one alert for each row"))
        if step.get("subject_field"):
            text += _(", about %(s)s") % {"s": _q(step["subject_field"])}
        if step.get("amount_field"):
            text += _(", with the amount from %(a)s") % {"a": _q(step["amount_field"])}
        return text + _(".")
    return _("Step %(id)s.") % {"id": sid}


def rule_sentences(spec: Any, names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """[{n, id, type, label, sentence, inputs}] for every step of the spec, in order."""
    steps = spec.get("steps") if isinstance(spec, dict) else None
    if not isinstance(steps, list):
        return []
    seen: dict[str, dict[str, Any]] = {}
    out = []
    for i, s in enumerate(steps, start=1):
        if not isinstance(s, dict):
            continue
        s = {**s, "_n": i}
        inputs = [s.get(k) for k in ("input", "left", "right") if isinstance(s.get(k), str) and s.get(k) in seen]
        out.append({"n": i, "id": s.get("id"), "type": s.get("type"), "label": step_label(s.get("type")),
                    "sentence": step_sentence(s, seen, names or {}), "inputs": inputs})
        if isinstance(s.get("id"), str):
            seen[s["id"]] = s
    return out


def step_error(spec: Any, step_id: str | None, message: str) -> str:
    """A compiler error naming the step by its number and kind ("第 3 步（阈值）：…"), not its id."""
    steps = spec.get("steps") if isinstance(spec, dict) else None
    for i, s in enumerate(steps if isinstance(steps, list) else [], start=1):
        if isinstance(s, dict) and step_id is not None and s.get("id") == step_id:
            return _("Step %(n)s (%(label)s): %(message)s") % {"n": i, "label": step_label(s.get("type")),
                                                               "message": message}
    return message


# ----- the columns a model uses, and renaming them -----

STEP_REF_KEYS = ("input", "left", "right")
VALUE_KEYS = {"id", "type", "dataset", "how", "op", "stat", "prefix", "match", "keep", "value", "values", "from",
              "to", "any_of", "all_of", "risk_level", "best_by", "fn", "name", "direction", "amount_agg",
              "min_similarity", "factor", "window_days", "min_count", "max_spread_pct", "min_group_size",
              "digits", "words"}
PLACEHOLDER_KEYS = {"title", "reason"}
PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")


def _lineage(steps: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """step id → [(role, prefix)]: which datasets' columns reach that step, under which prefix."""
    out: dict[str, list[tuple[str, str]]] = {}
    for s in steps:
        if not isinstance(s, dict) or not isinstance(s.get("id"), str):
            continue
        if s.get("type") == "source":
            out[s["id"]] = [(s.get("dataset"), "")] if isinstance(s.get("dataset"), str) else []
        elif s.get("type") == "join":
            left = out.get(s.get("left"), [])
            right = out.get(s.get("right"), [])
            if s.get("how", "inner") == "inner":
                prefix = s.get("prefix") or "r."
                out[s["id"]] = left + [(r, prefix + p) for r, p in right]
            else:
                out[s["id"]] = list(left)
        else:
            out[s["id"]] = list(out.get(s.get("input"), []))
    return out


def _walk_columns(spec: Any, role_columns: dict[str, set[str]],
                  visit: Callable[[str, str, str], str | None]) -> dict[str, Any]:
    """Call `visit(role, prefix, column)` for every dataset column a step names; a returned string
    replaces the name (in a deep copy of the spec, which is returned)."""
    spec = copy.deepcopy(spec) if isinstance(spec, dict) else {"steps": []}
    steps = spec.get("steps") if isinstance(spec.get("steps"), list) else []
    lineage = _lineage(steps)

    def resolve(name: Any, pairs: list[tuple[str, str]]) -> Any:
        if not isinstance(name, str):
            return name
        for role, prefix in pairs:
            if name.startswith(prefix) and name[len(prefix):] in role_columns.get(role, set()):
                new = visit(role, prefix, name[len(prefix):])
                return prefix + new if isinstance(new, str) else name
        return name

    def placeholders(text: Any, pairs: list[tuple[str, str]]) -> Any:
        if not isinstance(text, str):
            return text
        return PLACEHOLDER_RE.sub(lambda m: "{" + str(resolve(m.group(1), pairs)) + "}", text)

    def walk(value: Any, pairs: list[tuple[str, str]], key: str = "") -> Any:
        if key in VALUE_KEYS:
            return value
        if key in PLACEHOLDER_KEYS:
            return placeholders(value, pairs)
        if isinstance(value, str):
            return resolve(value, pairs)
        if isinstance(value, list):
            return [walk(v, pairs, "") for v in value]
        if isinstance(value, dict):
            return {k: walk(v, pairs, k) for k, v in value.items()}
        return value

    for s in steps:
        if not isinstance(s, dict):
            continue
        pairs = lineage.get(s.get("input"), []) if "input" in s else []
        for key in list(s):
            if key in VALUE_KEYS or (key in STEP_REF_KEYS and s.get("type") != "source"
                                    and (key == "input" or s.get("type") == "join")):
                continue
            if key == "on" and isinstance(s[key], list):
                s[key] = [{**p, **({"left": resolve(p.get("left"), lineage.get(s.get("left"), [])),
                                    "right": resolve(p.get("right"), lineage.get(s.get("right"), []))})}
                          if isinstance(p, dict) else p for p in s[key]]
            elif key == "aliases" and isinstance(s[key], dict) and isinstance(s[key].get("dataset"), str):
                own = [(s[key]["dataset"], "")]
                s[key] = {k: (resolve(v, own) if k in ("short", "full") else v) for k, v in s[key].items()}
            else:
                s[key] = walk(s[key], pairs, key)
    return spec


def used_columns(spec: Any, role_columns: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, str]]]:
    """{role: [{name, type}]} of the dataset columns the spec reads, in the datasets' order."""
    names = {role: {c["name"] for c in cols} for role, cols in role_columns.items()}
    used: dict[str, set[str]] = {}

    def visit(role: str, _prefix: str, column: str) -> None:
        used.setdefault(role, set()).add(column)

    _walk_columns(spec, names, visit)
    return {role: [c for c in cols if c["name"] in used.get(role, set())]
            for role, cols in role_columns.items() if used.get(role)}


def rename_columns(spec: Any, role_columns: dict[str, list[dict[str, str]]],
                   mapping: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The spec with each role's columns renamed by `mapping` ({role: {old: new}})."""
    names = {role: {c["name"] for c in cols} for role, cols in role_columns.items()}
    return _walk_columns(spec, names, lambda role, _p, col: mapping.get(role, {}).get(col, col))


# ----- the diagram -----

def diagram_svg(spec: Any, names: dict[str, str] | None = None) -> str:
    """An SVG of the pipeline: one box per step (datasets first in their own colour), arrows from
    each step's inputs. Text is escaped; the result is safe to embed."""
    rows = rule_sentences(spec, names)
    if not rows:
        return ""
    box_w, box_h, gap, left = 420, 54, 22, 40
    width = left + box_w + 140
    height = len(rows) * (box_h + gap) + gap
    index = {r["id"]: i for i, r in enumerate(rows)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sc-svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(_("Model diagram"))}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6b7f"/></marker></defs>']
    for i, r in enumerate(rows):
        y = gap + i * (box_h + gap)
        for j, src in enumerate(r["inputs"]):
            k = index.get(src)
            if k is None:
                continue
            y0 = gap + k * (box_h + gap) + box_h
            if k == i - 1 and j == 0:
                x = left + box_w / 2
                parts.append(f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y}" stroke="#5b6b7f" stroke-width="1.5" '
                             f'marker-end="url(#arrow)"/>')
            else:
                bend = left + box_w + 30 + 25 * j
                ys = y0 - box_h / 2
                parts.append(f'<path d="M {left + box_w} {ys} C {bend + 40} {ys}, {bend + 40} {y + box_h / 2}, '
                             f'{left + box_w} {y + box_h / 2}" fill="none" stroke="#5b6b7f" stroke-width="1.5" '
                             f'marker-end="url(#arrow)"/>')
        fill = {"source": "#e8f1fb", "emit": "#fdeeee"}.get(r["type"], "#f4f6f8")
        stroke = {"source": "#3b7dd8", "emit": "#c0392b"}.get(r["type"], "#8795a6")
        parts.append(f'<rect x="{left}" y="{y}" width="{box_w}" height="{box_h}" rx="8" fill="{fill}" '
                     f'stroke="{stroke}"/>')
        parts.append(f'<text x="{left + 12}" y="{y + 20}" font-size="14" font-weight="bold" fill="#1f2d3d">'
                     f'{r["n"]}. {escape(r["label"])}</text>')
        sentence = r["sentence"]
        if len(sentence) > 44:
            sentence = sentence[:43] + "…"
        parts.append(f'<text x="{left + 12}" y="{y + 41}" font-size="12" fill="#3c4a5a">{escape(sentence)}'
                     f'<title>{escape(r["sentence"])}</title></text>')
    parts.append("</svg>")
    return "".join(parts)
