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


def _repeat_penalty(p: dict[str, Any]) -> dict[str, Any]:
    """Keyed by the company's credit code when given (names vary between agencies); the evidence
    is every penalty of the (company, agency), not only those of the densest window."""
    key = p.get("credit_code_field") or p["company_field"]
    pair = [key, p["agency_field"]]
    return {"steps": [
        _src("penalties"),
        {"id": "win", "type": "window", "input": "src", "partition_by": pair, "date_field": p["date_field"],
         "window_days": p["window_days"]},
        {"id": "thr", "type": "threshold", "input": "win",
         "conditions": [{"field": "_window_count", "op": ">=", "value": p["min_count"]}]},
        {"id": "all", "type": "join", "left": "src", "right": "thr", "how": "semi",
         "on": [{"left": c, "right": c} for c in pair]},
        {"id": "out", "type": "emit", "input": "all", "group_by": pair, "subject_field": p["company_field"],
         **({"subject_credit_code_field": p["credit_code_field"]} if p.get("credit_code_field") else {}),
         "amount_field": p.get("amount_field"),
         "title": "以罚代管：{" + p["agency_field"] + "} 对 {" + p["company_field"] + "} 处罚 {count} 次",
         "reason": "{" + p["agency_field"] + "} 在 " + str(p["window_days"]) + " 天内对 {" + p["company_field"]
                   + "} 处罚达 " + str(p["min_count"]) + " 次以上，共 {count} 次" +
                   ("，罚款合计 {amount} 元" if p.get("amount_field") else "") + "，疑似以罚代管。"},
    ]}


def _complaint_hotspot(p: dict[str, Any]) -> dict[str, Any]:
    period = "季度" if p.get("period") == "quarter" else "月份"
    unit = "季度" if period == "季度" else "月"
    return {"steps": [
        _src("complaints"),
        {"id": "when", "type": "compute", "input": "src", "columns": [
            {"name": "年份", "expr": {"op": "year", "args": [{"field": p["date_field"]}]}},
            {"name": period, "expr": {"op": "quarter" if period == "季度" else "month",
                                      "args": [{"field": p["date_field"]}]}}]},
        {"id": "agg", "type": "aggregate", "input": "when", "group_by": [p["area_field"], "年份", period],
         "metrics": [{"fn": "count", "name": "投诉件数"}],
         **({"having": [{"field": "投诉件数", "op": ">=", "value": p["min_count"]}]} if p.get("min_count") else {})},
        {"id": "peer", "type": "peer", "input": "agg", "value_field": "投诉件数", "group_by": ["年份", period],
         "factor": p["factor"], "min_group_size": 3},
        {"id": "out", "type": "emit", "input": "peer", "group_by": [p["area_field"], "年份", period],
         "subject_field": p["area_field"],
         "title": "投诉热点：{" + p["area_field"] + "} {年份}年第{" + period + "}" + unit + " {投诉件数} 件",
         "reason": "{" + p["area_field"] + "} 在 {年份} 年第 {" + period + "} " + unit
                   + "收到投诉 {投诉件数} 件，为同期各区域中位数（{peer_value} 件）的 {ratio} 倍，超过 "
                   + str(p["factor"]) + " 倍。"},
    ]}


def _responsible_cluster(p: dict[str, Any]) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [_src("records"), _src("responsibility", "duty")]
    value, src = p["value_field"], "src"
    if p.get("divide_by_field"):
        value = "每单位" + p["value_field"]
        steps.append({"id": "per", "type": "compute", "input": "src", "columns": [
            {"name": value, "expr": {"op": "div", "args": [{"field": p["value_field"]},
                                                           {"field": p["divide_by_field"]}]}, "digits": 2}]})
        src = "per"
    person = "责任." + p["person_field"]
    steps += [
        {"id": "peer", "type": "peer", "input": src, "value_field": value, "group_by": [p["group_field"]],
         "factor": p["factor"], "min_group_size": 3},
        {"id": "who", "type": "join", "left": "peer", "right": "duty", "prefix": "责任.",
         "on": [{"left": p["area_field"], "right": p["responsibility_area_field"]}]},
        {"id": "agg", "type": "aggregate", "input": "who", "group_by": [person],
         "metrics": [{"fn": "count_distinct", "field": p["area_field"], "name": "异常区域数"},
                     {"fn": "count", "name": "异常记录数"}],
         "having": [{"field": "异常区域数", "op": ">=", "value": p["min_areas"]}]},
        {"id": "out", "type": "emit", "input": "agg", "group_by": [person], "subject_field": person,
         "title": "责任人 {" + person + "} 负责的 {异常区域数} 个区域存在异常",
         "reason": "{" + person + "} 负责的 {异常区域数} 个区域共有 {异常记录数} 条记录的" + value
                   + "超过同组中位数的 " + str(p["factor"]) + " 倍（不少于 " + str(p["min_areas"]) + " 个区域）。"},
    ]
    return {"steps": steps}


def _bid_collusion(p: dict[str, Any]) -> dict[str, Any]:
    tender, bidder = p["tender_field"], p["bidder_field"]
    metrics = [{"fn": "count_distinct", "field": bidder, "name": "投标人数"}]
    any_of: list[dict[str, Any]] = []
    for f in p.get("shared_fields") or []:
        metrics += [{"fn": "count", "field": f, "name": f + "（填写数）"},
                    {"fn": "count_distinct", "field": f, "name": f + "（不同数）"}]
        any_of.append({"field": f + "（不同数）", "op": "<", "other_field": f + "（填写数）"})
    steps: list[dict[str, Any]] = [_src("bids")]
    if p.get("price_field") and p.get("max_spread_pct"):
        metrics += [{"fn": "min", "field": p["price_field"], "name": "最低报价"},
                    {"fn": "max", "field": p["price_field"], "name": "最高报价"}]
    steps.append({"id": "agg", "type": "aggregate", "input": "src", "group_by": [tender], "metrics": metrics,
                  "having": [{"field": "投标人数", "op": ">=", "value": 2}]})
    last = "agg"
    if p.get("price_field") and p.get("max_spread_pct"):
        steps.append({"id": "gap", "type": "compute", "input": "agg", "columns": [
            {"name": "报价差异率", "digits": 2, "expr": {"op": "mul", "args": [{"value": 100}, {"op": "div", "args": [
                {"op": "sub", "args": [{"field": "最高报价"}, {"field": "最低报价"}]}, {"field": "最低报价"}]}]}}]})
        any_of.append({"all": [{"field": "报价差异率", "op": "<=", "value": p["max_spread_pct"]},
                               {"field": "投标人数", "op": ">=", "value": p.get("min_count") or 3}]})
        last = "gap"
    steps += [
        {"id": "ring", "type": "filter", "input": last, "conditions": [{"any": any_of}]},
        {"id": "out", "type": "emit", "input": "ring", "group_by": [tender], "subject_field": tender,
         "title": "疑似围标串标：{" + tender + "} {投标人数} 家投标人",
         "reason": "{" + tender + "} 的 {投标人数} 家投标人"
                   + ("共用" + "、".join(p.get("shared_fields") or []) if p.get("shared_fields") else "")
                   + ("，或报价相差不超过 " + str(p["max_spread_pct"]) + "%" if p.get("max_spread_pct") else "")
                   + "，疑似围标串标。"},
    ]
    return {"steps": steps}


def _subcontract_ratio(p: dict[str, Any]) -> dict[str, Any]:
    return {"steps": [
        _src("subcontracts", "sub"),
        _src("contracts", "con"),
        {"id": "agg", "type": "aggregate", "input": "sub", "group_by": [p["sub_project_field"]],
         "metrics": [{"fn": "sum", "field": p["sub_amount_field"], "name": "分包合计"},
                     {"fn": "count", "name": "分包份数"}]},
        {"id": "j", "type": "join", "left": "agg", "right": "con", "prefix": "合同.",
         "on": [{"left": p["sub_project_field"], "right": p["project_field"]}]},
        {"id": "share", "type": "compute", "input": "j", "columns": [
            {"name": "分包比例", "digits": 1, "expr": {"op": "mul", "args": [{"value": 100}, {"op": "div", "args": [
                {"field": "分包合计"}, {"field": "合同." + p["amount_field"]}]}]}}]},
        {"id": "thr", "type": "filter", "input": "share",
         "conditions": [{"field": "分包比例", "op": ">=", "value": p["pct"]}]},
        {"id": "out", "type": "emit", "input": "thr", "group_by": [p["sub_project_field"]],
         "subject_field": "合同." + p["contractor_field"], "amount_field": "分包合计", "amount_agg": "max",
         "title": "分包比例过高：{" + p["sub_project_field"] + "} 分包 {分包比例}%",
         "reason": "{" + p["sub_project_field"] + "} 的 {分包份数} 份分包合同合计 {分包合计} 元，占合同金额 {合同."
                   + p["amount_field"] + "} 元的 {分包比例}%，不低于 " + str(p["pct"]) + "%。"},
    ]}


def _public_funded_travel(p: dict[str, Any]) -> dict[str, Any]:
    kw = [{"field": p["item_field"], "any_of": p["primary_words"]}]
    if p.get("secondary_words"):
        kw.append({"field": p.get("secondary_field") or p["item_field"], "any_of": p["secondary_words"]})
    return {"steps": [
        _src("invoices", "inv"),
        _src("travellers", "who"),
        _src("roster", "staff"),
        {"id": "kw", "type": "keyword", "input": "inv", "conditions": kw},
        {"id": "trip", "type": "join", "left": "kw", "right": "who", "prefix": "出行人.",
         "on": [{"left": p["invoice_no_field"], "right": p["traveller_invoice_field"]}]},
        {"id": "onroll", "type": "join", "left": "trip", "right": "staff", "prefix": "在编.",
         "on": [{"left": "出行人." + p["traveller_id_field"], "right": p["roster_id_field"]}]},
        {"id": "out", "type": "emit", "input": "onroll", "group_by": [p["invoice_no_field"]],
         "subject_field": p["payer_field"], "amount_field": p["amount_field"],
         "title": "疑似公款旅游：发票 {" + p["invoice_no_field"] + "} {amount} 元",
         "reason": "发票 {" + p["invoice_no_field"] + "}（{" + p["item_field"] + "}）金额 {amount} 元，"
                   "出行人中有在编人员（按身份证号比对，见下方证据），疑似公款旅游。"},
    ]}


def _related_party_chain(p: dict[str, Any]) -> dict[str, Any]:
    aliases = ({"aliases": {"dataset": "aliases", "short": p["alias_short_field"], "full": p["alias_full_field"]}}
               if p.get("alias_short_field") and p.get("alias_full_field") else {})
    return {"steps": [
        _src("awards"),
        _src("shareholders", "sh"),
        _src("relatives", "rel"),
        {"id": "own", "type": "join", "left": "src", "right": "sh", "prefix": "股东.", "match": "normalized",
         "on": [{"left": p["winner_field"], "right": p["company_field"]}]},
        {"id": "kin", "type": "join", "left": "own", "right": "rel", "prefix": "亲属.", "match": "normalized",
         **aliases,
         "on": [{"left": p["buyer_field"], "right": p["official_unit_field"]},
                {"left": "股东." + p["shareholder_field"], "right": p["relative_name_field"]}]},
        {"id": "out", "type": "emit", "input": "kin", "subject_field": p["winner_field"],
         "amount_field": p.get("amount_field"),
         "title": "关联交易：{" + p["winner_field"] + "} 中标 {" + p["buyer_field"] + "} 项目",
         "reason": "{" + p["winner_field"] + "} 的股东 {股东." + p["shareholder_field"] + "} 是 {"
                   + p["buyer_field"] + "} 工作人员的亲属，该企业中标了该单位的项目。"},
    ]}


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
        "同一执法机关对同一企业（有统一社会信用代码时按代码识别）在 window_days 天内处罚达到 min_count 次的，"
        "疑似以罚代管；该企业被该机关的全部处罚记录作为证据。",
        "The same agency penalising the same company (identified by its credit code when given) at least "
        "min_count times inside some window of window_days days (fining instead of fixing); one alert per "
        "(company, agency), with all of its penalties as evidence.",
        "enforcement", ("penalties",),
        {"company_field": "column", "agency_field": "column", "date_field": "column", "window_days": "int",
         "min_count": "int", "amount_field": "optional-column", "credit_code_field": "optional-column"},
        "(company, agency)",
        _repeat_penalty,
        {"company_field": "企业", "agency_field": "执法机关", "date_field": "处罚日期", "window_days": 365,
         "min_count": 3, "credit_code_field": "统一社会信用代码"},
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
    Template(
        "complaint_hotspot", "投诉热点筛查", "Complaint hotspot",
        "按区域统计每月（或每季度）投诉件数，超过同期各区域中位数 factor 倍的区域预警（如某街道 12345 建筑垃圾投诉"
        "远多于其他街道）。",
        "Areas whose complaints in a month (or quarter) exceed factor × the median of all areas in that period "
        "(e.g. 12345 construction-waste complaints); one alert per (area, period), its complaints as evidence.",
        "enforcement", ("complaints",),
        {"area_field": "column", "date_field": "column", "period": "choice:month,quarter", "factor": "number",
         "min_count": "optional-int"},
        "(area, period)", _complaint_hotspot,
        {"area_field": "街道", "date_field": "受理日期", "period": "month", "factor": 3},
    ),
    Template(
        "responsible_cluster", "责任人异常聚集筛查", "Responsible-person cluster",
        "先找出数值超过同组中位数设定倍数的异常记录（可先按面积折算，如每亩用电量），再对照责任表，"
        "同一责任人负责的区域中有设定数量及以上出现异常的，按责任人预警（如电网巡查员）。",
        "Finds outlier rows (value above a chosen multiple of the group median, optionally per unit such as "
        "kWh per mu), "
        "looks up who is responsible for each area, and raises one alert per person responsible for at least "
        "a chosen number of distinct areas with outliers, the outlier rows as evidence.",
        "subsidies", ("records", "responsibility"),
        {"value_field": "column", "divide_by_field": "optional-column", "group_field": "column",
         "factor": "number", "area_field": "column", "responsibility_area_field": "column", "person_field": "column",
         "min_areas": "int"},
        "responsible person", _responsible_cluster,
        {"value_field": "用电量", "divide_by_field": "面积", "group_field": "镇", "factor": 3, "area_field": "村",
         "responsibility_area_field": "村", "person_field": "巡查员", "min_areas": 2},
    ),
    Template(
        "bid_collusion", "围标串标筛查", "Bid collusion",
        "同一标段的投标人共用电话、地址或设备等信息，或报价彼此相差不超过设定百分比的，按标段预警"
        "（一个标段一条预警，而不是每两家一条）。",
        "Bidders of one tender sharing a phone, address or device, or whose bids all lie within a chosen percentage "
        "of each other; one alert per tender (the ring), not per pair, its bids as evidence.",
        "procurement", ("bids",),
        {"tender_field": "column", "bidder_field": "column", "shared_fields": "columns",
         "price_field": "optional-column", "max_spread_pct": "optional-number", "min_count": "optional-int"},
        "tender", _bid_collusion,
        {"tender_field": "标段", "bidder_field": "投标人", "shared_fields": ["联系电话", "地址", "设备码"],
         "price_field": "报价", "max_spread_pct": 1, "min_count": 3},
    ),
    Template(
        "subcontract_ratio", "违规分包筛查", "Subcontract ratio",
        "同一项目的分包合同金额合计占总包合同金额的比例达到设定百分比的，疑似违法分包、转包。",
        "Projects whose subcontracts together reach a chosen share of the main contract's amount (illegal "
        "subcontracting); one alert per project, its subcontracts as evidence.",
        "procurement", ("contracts", "subcontracts"),
        {"project_field": "column", "amount_field": "column", "contractor_field": "column",
         "sub_project_field": "column", "sub_amount_field": "column", "pct": "number"},
        "project", _subcontract_ratio,
        {"project_field": "项目", "amount_field": "合同金额", "contractor_field": "总包单位",
         "sub_project_field": "项目", "sub_amount_field": "分包金额", "pct": 50},
    ),
    Template(
        "public_funded_travel", "公款旅游筛查", "Public-funded travel",
        "发票品名含主关键词（如“旅游”“景区”）且含次关键词（如“门票”“住宿”）的，关联出行人名单，再按身份证号比对"
        "在编人员花名册，有在编人员出行的按发票预警。",
        "Invoices whose item contains a primary keyword (e.g. tourism) and a secondary one (e.g. tickets), "
        "joined to their travellers and matched to the staff roster by ID number; one alert per invoice with "
        "staff among the travellers (the invoice amount counted once).",
        "finance", ("invoices", "travellers", "roster"),
        {"invoice_no_field": "column", "item_field": "column", "amount_field": "column", "payer_field": "column",
         "primary_words": "words", "secondary_words": "optional-words", "secondary_field": "optional-column",
         "traveller_invoice_field": "column", "traveller_id_field": "column", "roster_id_field": "column"},
        "invoice", _public_funded_travel,
        {"invoice_no_field": "发票号码", "item_field": "品名", "amount_field": "金额", "payer_field": "付款单位",
         "primary_words": ["旅游", "景区", "度假"], "secondary_words": ["门票", "住宿", "服务费"],
         "traveller_invoice_field": "发票号码", "traveller_id_field": "身份证号", "roster_id_field": "身份证号"},
    ),
    Template(
        "related_party_chain", "关联关系链筛查", "Related-party chain",
        "中标企业的股东，是采购单位工作人员的亲属的，逐条预警；企业名称和单位名称规范化后比对（去掉括号、"
        "“有限公司”等后缀），可用简称对照表把“市卫健委”对应到全称。",
        "Awards whose winner has a shareholder who is a relative of an official of the same buyer; company and "
        "unit names are compared normalized (brackets and company-form suffixes dropped), and an optional "
        "alias table maps short names to full ones; one alert per award row.",
        "procurement", ("awards", "shareholders", "relatives", "aliases"),
        {"buyer_field": "column", "winner_field": "column", "amount_field": "optional-column",
         "company_field": "column", "shareholder_field": "column", "official_unit_field": "column",
         "relative_name_field": "column", "alias_short_field": "optional-column",
         "alias_full_field": "optional-column"},
        "award row", _related_party_chain,
        {"buyer_field": "采购人", "winner_field": "中标人", "company_field": "企业名称", "shareholder_field": "股东",
         "official_unit_field": "工作单位", "relative_name_field": "亲属姓名", "alias_short_field": "简称",
         "alias_full_field": "全称"},
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
        if value in (None, "", []) and kind.startswith("optional-"):
            continue
        kind = kind.removeprefix("optional-")
        if value in (None, "", []):
            raise SpecError(_("parameter '%(p)s' is required") % {"p": name})
        if kind == "column" and not isinstance(value, str):
            raise SpecError(_("parameter '%(p)s' must be a column name") % {"p": name})
        if kind in ("columns", "words") and (not isinstance(value, list) or not value or len(value) > 50
                                             or not all(isinstance(v, str) and v.strip() for v in value)):
            raise SpecError(_("parameter '%(p)s' must be a list of names or words") % {"p": name})
        if kind.startswith("choice:") and value not in kind.removeprefix("choice:").split(","):
            raise SpecError(_("parameter '%(p)s' must be one of %(v)s")
                            % {"p": name, "v": kind.removeprefix("choice:").replace(",", ", ")})
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
