"""The built-in models: each is a template code, its dataset roles and parameters, a Chinese and
an English description, and an expansion into an ordinary rule spec that opens in the factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from screening.spec import SpecError


@dataclass(frozen=True)
class Template:
    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    domain: str
    roles: tuple[str, ...]
    params: dict[str, str]  # name → kind: column, columns, int, number, conditions, optional-column
    one_hit_per: str
    expand: Callable[[dict[str, Any]], dict[str, Any]]
    example: dict[str, Any]


def _src(role: str, sid: str = "src") -> dict[str, Any]:
    return {"id": sid, "type": "source", "dataset": role}


def _keyword_match(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("records"),
        {"id": "kw", "type": "keyword", "input": "src",
         "conditions": [{"field": c.get("field"), "any_of": c.get("any_of")} for c in p["conditions"]]},
        {"id": "out", "type": "emit", "input": "kw", "subject_field": p["subject_field"],
         "amount_field": p.get("amount_field"), "title": "关键词命中：{subject}"},
    ]}


def _repeat(role: str, a: str, b: str, title: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def expand(p: dict[str, Any]) -> dict[str, Any]:
        return {"steps": [
            _src(role),
            {"id": "win", "type": "window", "input": "src", "partition_by": [p[a], p[b]],
             "date_field": p["date_field"], "window_days": p["window_days"],
             **({"value_field": p["amount_field"]} if p.get("amount_field") else {})},
            {"id": "thr", "type": "threshold", "input": "win",
             "conditions": [{"field": "_window_count", "op": ">=", "value": p["min_count"]}]},
            {"id": "out", "type": "emit", "input": "thr", "group_by": [p[a], p[b]],
             "subject_field": p[b] if role == "awards" else p[a], "amount_field": p.get("amount_field"),
             "title": title.replace("{A}", "{" + p[a] + "}").replace("{B}", "{" + p[b] + "}")},
        ]}

    return expand


def _contract_splitting(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("contracts"),
        {"id": "below", "type": "filter", "input": "src",
         "conditions": [{"field": p["amount_field"], "op": "<", "value": p["threshold"]}]},
        {"id": "win", "type": "window", "input": "below", "partition_by": [p["buyer_field"], p["supplier_field"]],
         "date_field": p["date_field"], "window_days": p["window_days"], "value_field": p["amount_field"]},
        {"id": "thr", "type": "threshold", "input": "win",
         "conditions": [{"field": "_window_count", "op": ">=", "value": 2},
                        {"field": "_window_sum", "op": ">=", "value": p["threshold"]}]},
        {"id": "out", "type": "emit", "input": "thr", "group_by": [p["buyer_field"], p["supplier_field"]],
         "subject_field": p["supplier_field"], "amount_field": p["amount_field"], "best_by": "_window_sum",
         "title": "疑似拆分合同：{" + p["buyer_field"] + "} 与 {" + p["supplier_field"]
                  + "} {count} 份合同合计 {amount} 元"},
    ]}


def _related_party(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("awards"),
        _src("relations", "rel"),
        {"id": "match", "type": "join", "left": "src", "right": "rel", "how": "semi",
         "on": [{"left": p["award_unit_field"], "right": p["relation_unit_field"]},
                {"left": p["award_company_field"], "right": p["relation_company_field"]}]},
        {"id": "out", "type": "emit", "input": "match", "subject_field": p["award_company_field"],
         "amount_field": p.get("amount_field"),
         "title": "特定关系人中标：{" + p["award_company_field"] + "} 中标 {" + p["award_unit_field"] + "} 项目"},
    ]}


def _peer_outlier(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("records"),
        {"id": "peer", "type": "peer", "input": "src", "value_field": p["value_field"],
         "group_by": [p["group_field"]], "stat": p.get("stat", "median"), "factor": p["factor"]},
        {"id": "out", "type": "emit", "input": "peer", "subject_field": p["subject_field"],
         "amount_field": p.get("amount_field"),
         "title": "{subject}：" + "{" + p["value_field"] + "} 为同组中位数的 {ratio} 倍"},
    ]}


def _date_conflict(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("events"),
        _src("reference", "ref"),
        {"id": "match", "type": "join", "left": "src", "right": "ref", "how": "inner", "prefix": "ref.",
         "on": [{"left": p["event_key_field"], "right": p["reference_key_field"]}]},
        {"id": "after", "type": "filter", "input": "match",
         "conditions": [{"field": p["event_date_field"], "op": ">",
                         "other_field": "ref." + p["reference_date_field"]}]},
        {"id": "out", "type": "emit", "input": "after", "subject_field": p["event_key_field"],
         "amount_field": p.get("amount_field"),
         "title": "日期冲突：{subject} 在 {ref." + p["reference_date_field"] + "} 之后仍有记录"},
    ]}


TEMPLATES: dict[str, Template] = {t.code: t for t in [
    Template(
        "keyword_match", "关键词筛查", "Keyword match",
        "在文本字段中查找敏感词（如发票品名中的“旅游”“景区”“度假”），所有条件同时满足的记录逐条预警。",
        "Finds rows whose text fields contain any of the given words (e.g. tourism words in invoice items); "
        "every condition must match; one alert per matching row.",
        "finance", ("records",),
        {"conditions": "conditions", "subject_field": "column", "amount_field": "optional-column"},
        "matching row", _keyword_match,
        {"conditions": [{"field": "品名", "any_of": ["旅游", "景区", "度假"]}], "subject_field": "报销人"},
    ),
    Template(
        "repeat_winner", "标王筛查", "Repeat winner",
        "同一采购人与同一中标人在任意 window_days 天内中标次数达到 min_count 次的，按（采购人，中标人）预警。",
        "The same company winning from the same buyer at least min_count times inside some window of "
        "window_days days; one alert per (buyer, winner).",
        "procurement", ("awards",),
        {"buyer_field": "column", "winner_field": "column", "date_field": "column", "window_days": "int",
         "min_count": "int", "amount_field": "optional-column"},
        "(buyer, winner)",
        _repeat("awards", "buyer_field", "winner_field", "标王：{B} {count} 次中标 {A} 的项目"),
        {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 365,
         "min_count": 3},
    ),
    Template(
        "contract_splitting", "拆分合同筛查", "Contract splitting",
        "同一采购人与同一供应商在 window_days 天内签订 2 份及以上、每份均低于限额 threshold、合计达到限额的合同，"
        "疑似化整为零规避招标。",
        "Two or more contracts between the same buyer and supplier inside some window of window_days days, "
        "each below threshold and together at least threshold (splitting to avoid tendering).",
        "procurement", ("contracts",),
        {"buyer_field": "column", "supplier_field": "column", "date_field": "column", "amount_field": "column",
         "threshold": "number", "window_days": "int"},
        "(buyer, supplier)", _contract_splitting,
        {"buyer_field": "采购人", "supplier_field": "供应商", "date_field": "签订日期", "amount_field": "金额",
         "threshold": 1000000, "window_days": 90},
    ),
    Template(
        "related_party", "特定关系人中标筛查", "Related-party award",
        "中标记录中的（单位，企业）组合出现在特定关系人名单中的，逐条预警。",
        "Award rows whose (unit, company) pair appears in the list of related parties; one alert per award row.",
        "procurement", ("awards", "relations"),
        {"award_unit_field": "column", "award_company_field": "column", "relation_unit_field": "column",
         "relation_company_field": "column", "amount_field": "optional-column"},
        "award row", _related_party,
        {"award_unit_field": "采购人", "award_company_field": "中标人", "relation_unit_field": "单位",
         "relation_company_field": "关联企业"},
    ),
    Template(
        "repeat_penalty", "以罚代管筛查", "Repeat penalty",
        "同一执法机关对同一企业在 window_days 天内处罚达到 min_count 次的，疑似以罚代管。",
        "The same agency penalising the same company at least min_count times inside some window of "
        "window_days days (fining instead of fixing); one alert per (company, agency).",
        "enforcement", ("penalties",),
        {"company_field": "column", "agency_field": "column", "date_field": "column", "window_days": "int",
         "min_count": "int", "amount_field": "optional-column"},
        "(company, agency)",
        _repeat("penalties", "company_field", "agency_field", "以罚代管：{B} 对 {A} 处罚 {count} 次"),
        {"company_field": "企业", "agency_field": "执法机关", "date_field": "处罚日期", "window_days": 365,
         "min_count": 3},
    ),
    Template(
        "peer_outlier", "同类对比异常筛查", "Peer outlier",
        "数值超过同组中位数 factor 倍的记录（如鱼塘看护房每亩用电量远高于同村）逐条预警。",
        "Rows whose value exceeds factor × the median of their group (e.g. electricity per mu of a fish-pond "
        "hut far above its village's); one alert per row.",
        "subsidies", ("records",),
        {"value_field": "column", "group_field": "column", "factor": "number", "subject_field": "column",
         "amount_field": "optional-column"},
        "row", _peer_outlier,
        {"value_field": "每亩用电量", "group_field": "村", "factor": 3, "subject_field": "户主"},
    ),
    Template(
        "date_conflict", "日期冲突筛查", "Date conflict",
        "事件日期晚于同一主体参考日期的记录（如死亡后仍在发放补贴）逐条预警。",
        "Event rows dated after the reference date of the same key (e.g. subsidy paid after death); "
        "one alert per event row.",
        "subsidies", ("events", "reference"),
        {"event_key_field": "column", "event_date_field": "column", "reference_key_field": "column",
         "reference_date_field": "column", "amount_field": "optional-column"},
        "event row", _date_conflict,
        {"event_key_field": "身份证号", "event_date_field": "发放日期", "reference_key_field": "身份证号",
         "reference_date_field": "死亡日期"},
    ),
]}


def _check_params(t: Template, params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise SpecError(_("params must be an object"))
    unknown = set(params) - set(t.params)
    if unknown:
        raise SpecError(_("unknown parameters: %(p)s") % {"p": ", ".join(sorted(unknown))})
    out = {}
    for name, kind in t.params.items():
        value = params.get(name)
        if value in (None, "") and kind == "optional-column":
            continue
        if value in (None, "", []):
            raise SpecError(_("parameter '%(p)s' is required") % {"p": name})
        if kind in ("column", "optional-column") and not isinstance(value, str):
            raise SpecError(_("parameter '%(p)s' must be a column name") % {"p": name})
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SpecError(_("parameter '%(p)s' must be a positive whole number") % {"p": name})
        if kind == "number":
            if isinstance(value, bool):
                raise SpecError(_("parameter '%(p)s' must be a positive number") % {"p": name})
            try:
                if float(value) <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                raise SpecError(_("parameter '%(p)s' must be a positive number") % {"p": name}) from None
        if kind == "conditions":
            if not isinstance(value, list) or not all(
                isinstance(c, dict) and isinstance(c.get("field"), str) and isinstance(c.get("any_of"), list)
                and c["any_of"] for c in value
            ):
                raise SpecError(_("conditions is a list of {field, any_of: [words]}"))
        out[name] = value
    return out


def expand(code: str, params: Any) -> dict[str, Any]:
    """The spec of built-in template `code` with `params` (raises SpecError)."""
    t = TEMPLATES.get(code)
    if t is None:
        raise SpecError(_("unknown template %(t)r") % {"t": code})
    return t.expand(_check_params(t, params))


def describe(t: Template, lang: str = "zh-hans") -> dict[str, Any]:
    zh = lang.startswith("zh")
    return {
        "code": t.code, "name": t.name_zh if zh else t.name_en, "name_zh": t.name_zh, "name_en": t.name_en,
        "description": t.description_zh if zh else t.description_en,
        "description_zh": t.description_zh, "description_en": t.description_en,
        "domain": t.domain, "roles": list(t.roles), "params": t.params, "one_hit_per": t.one_hit_per,
        "example_params": t.example, "spec": t.expand(t.example),
    }
