"""The built-in models for the real cases, each on hand-made data with planted hits and near misses:
the model finds exactly the planted problems."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.models import Alert
from screening.models import RunStatus
from screening.templates import TEMPLATES

pytestmark = pytest.mark.django_db


def ok(run):
    assert run.status == RunStatus.SUCCEEDED, run.error
    return list(run.hits.order_by("id"))


def test_repeat_penalty_is_keyed_by_credit_code_with_every_penalty_as_evidence(make_dataset, run_model):
    ds = make_dataset(
        "企业,统一社会信用代码,执法机关,处罚日期,罚款\n"
        # planted: one company under two spellings, four penalties by the same agency in a year
        "甲渣土运输有限公司,91320500MA1AAAAA1A,城管局,2024-01-05,20000\n"
        "甲渣土运输公司,91320500MA1AAAAA1A,城管局,2024-03-05,20000\n"
        "甲渣土运输有限公司,91320500MA1AAAAA1A,城管局,2024-06-05,20000\n"
        "甲渣土（苏州）运输有限公司,91320500MA1AAAAA1A,城管局,2025-09-05,20000\n"
        # near misses: two penalties only; three but spread over three years; three by different agencies
        "乙运输,91320500MA1BBBBB2B,城管局,2024-01-01,5000\n乙运输,91320500MA1BBBBB2B,城管局,2024-02-01,5000\n"
        "丙运输,91320500MA1CCCCC3C,城管局,2022-01-01,100\n丙运输,91320500MA1CCCCC3C,城管局,2023-06-01,100\n"
        "丙运输,91320500MA1CCCCC3C,城管局,2025-01-01,100\n"
        "丁运输,91320500MA1DDDDD4D,城管局,2024-01-01,1\n丁运输,91320500MA1DDDDD4D,交通局,2024-01-02,1\n"
        "丁运输,91320500MA1DDDDD4D,环保局,2024-01-03,1\n")
    params = {"company_field": "企业", "credit_code_field": "统一社会信用代码", "agency_field": "执法机关",
              "date_field": "处罚日期", "window_days": 365, "min_count": 3, "amount_field": "罚款"}
    _, run = run_model("repeat_penalty", params, {"penalties": ds})
    hits = ok(run)
    assert [h.group_key for h in hits] == [["91320500MA1AAAAA1A", "城管局"]]
    assert len(hits[0].rows) == 4 and hits[0].amount == Decimal("80000.00")
    alert = Alert.objects.get()
    assert alert.subject_credit_code == "91320500MA1AAAAA1A"
    assert "处罚达3次以上，共4次" in alert.details["reason"]


def test_complaint_hotspot_finds_the_area_far_above_the_median_of_its_month(make_dataset, run_model):
    rows = ["街道,受理日期,内容"]
    counts = {"玉山镇": 12, "周市镇": 3, "陆家镇": 4, "花桥镇": 3}  # March: 玉山 is 3× the median (3.5) and more
    for area, n in counts.items():
        rows += [f"{area},2024-03-{d + 1:02d},建筑垃圾乱倒" for d in range(n)]
    # near miss: in April 周市 has 6 against a median of 4 (1.5×)
    for area, n in {"玉山镇": 4, "周市镇": 6, "陆家镇": 4, "花桥镇": 3}.items():
        rows += [f"{area},2024-04-{d + 1:02d},建筑垃圾乱倒" for d in range(n)]
    ds = make_dataset("\n".join(rows) + "\n")
    _, run = run_model("complaint_hotspot", {"area_field": "街道", "date_field": "受理日期", "period": "month",
                                             "factor": 3}, {"complaints": ds})
    hits = ok(run)
    assert [h.group_key for h in hits] == [["玉山镇", 2024, 3]]
    assert len(hits[0].rows) == 12 and hits[0].title == "投诉热点：玉山镇2024年第3月12件"


def test_responsible_cluster_raises_one_alert_per_person_with_outliers_in_two_villages(make_dataset, run_model):
    ponds = make_dataset(
        "户号,镇,村,用电量,面积\n"
        "1,周庄,东村,1000,10\n2,周庄,东村,1200,12\n3,周庄,西村,9000,10\n4,周庄,南村,8000,8\n"
        "5,周庄,北村,1100,11\n6,周庄,北村,950,10\n"
        "7,锦溪,上村,500,5\n8,锦溪,中村,520,5\n9,锦溪,下村,5000,5\n10,锦溪,下村,480,5\n")
    duty = make_dataset("村,巡查员\n东村,王五\n西村,张三\n南村,张三\n北村,王五\n上村,李四\n中村,李四\n下村,李四\n")
    params = {"value_field": "用电量", "divide_by_field": "面积", "group_field": "镇", "factor": 3,
              "area_field": "村", "responsibility_area_field": "村", "person_field": "巡查员", "min_areas": 2}
    _, run = run_model("responsible_cluster", params, {"records": ponds, "responsibility": duty})
    hits = ok(run)
    # 张三: 西村 and 南村 are outliers (2 villages); 李四 has one outlier village (下村): a near miss.
    assert [h.group_key for h in hits] == [["张三"]]
    assert sorted(r["户号"] for r in hits[0].rows) == [3, 4]
    assert hits[0].metrics["异常区域数"] == 2


def test_bid_collusion_is_one_alert_per_ring(make_dataset, run_model):
    ds = make_dataset(
        "标段,投标人,联系电话,地址,设备码,报价\n"
        # ring 1: three bidders, two share a phone and a third shares the device of one
        "T1,甲,13800000001,一路1号,D1,100\nT1,乙,13800000001,二路2号,D2,130\nT1,丙,13900000003,三路3号,D2,160\n"
        # ring 2: no shared data but bids within 1 %
        "T2,丁,13700000004,四路4号,D4,1000\nT2,戊,13700000005,五路5号,D5,1005\nT2,己,13700000006,六路6号,D6,1008\n"
        # near misses: different everything, spread 20 %; two close bids only (min_count 3); blanks not shared
        "T3,庚,13600000007,七路7号,D7,100\nT3,辛,13600000008,八路8号,D8,120\nT3,壬,13600000009,九路9号,D9,110\n"
        "T4,癸,13500000010,十路,D10,100\nT4,子,13500000011,十一路,D11,100.5\n"
        "T5,丑,,十二路,,100\nT5,寅,,十三路,,150\nT5,卯,13500000012,十四路,D12,200\n")
    params = {"tender_field": "标段", "bidder_field": "投标人", "shared_fields": ["联系电话", "地址", "设备码"],
              "price_field": "报价", "max_spread_pct": 1, "min_count": 3}
    _, run = run_model("bid_collusion", params, {"bids": ds})
    hits = ok(run)
    assert [h.group_key for h in hits] == [["T1"], ["T2"]]
    assert [len(h.rows) for h in hits] == [3, 3]


def test_subcontract_ratio(make_dataset, run_model):
    contracts = make_dataset("项目,总包单位,合同金额\n道路A,甲建设,1000000\n桥梁B,乙建设,2000000\n")
    subs = make_dataset("项目,分包单位,分包金额\n道路A,丙劳务,300000\n道路A,丁劳务,300000\n桥梁B,戊劳务,900000\n")
    params = {"project_field": "项目", "amount_field": "合同金额", "contractor_field": "总包单位",
              "sub_project_field": "项目", "sub_amount_field": "分包金额", "pct": 50}
    _, run = run_model("subcontract_ratio", params, {"contracts": contracts, "subcontracts": subs})
    hits = ok(run)
    # 道路A: 60 %; 桥梁B: 45 % is a near miss.
    assert [h.group_key for h in hits] == [["道路A"]] and hits[0].subject == "甲建设"
    assert hits[0].amount == Decimal("600000.00") and len(hits[0].rows) == 2


def test_public_funded_travel_counts_the_invoice_once_and_matches_staff_by_id(make_dataset, run_model):
    invoices = make_dataset(
        "发票号码,品名,金额,付款单位\n"
        "24326043227000003001,旅游服务*景区门票,86400,某局\n"    # planted: 9 travellers, 2 on the roster
        "24326043227000003002,旅游服务*景区门票,5000,某局\n"     # near miss: nobody on the roster
        "24326043227000003003,会议服务*住宿,3000,某局\n"         # near miss: no primary keyword
        "24326043227000003004,旅游服务*咨询,2000,某局\n")        # near miss: no secondary keyword
    who = ["发票号码,姓名,身份证号"]
    who += [f"24326043227000003001,人{i},32058319900101{i:04d}" for i in range(9)]
    who += ["24326043227000003002,外人,320583199001019999", "24326043227000003003,人0,320583199001010000",
            "24326043227000003004,人1,320583199001010001"]
    travellers = make_dataset("\n".join(who) + "\n")
    roster = make_dataset("姓名,身份证号,单位\n人0,320583199001010000,某局\n人1,320583199001010001,某局\n")
    assert travellers.column_types["身份证号"] == "text"
    params = dict(TEMPLATES["public_funded_travel"].example)
    _, run = run_model("public_funded_travel", params,
                       {"invoices": invoices, "travellers": travellers, "roster": roster})
    hits = ok(run)
    assert [h.group_key for h in hits] == [["24326043227000003001"]]
    assert hits[0].amount == Decimal("86400.00")
    tables = {t["role"]: t for t in hits[0].evidence}
    assert {role: len(t["rows"]) for role, t in tables.items()} == {"invoices": 1, "travellers": 2, "roster": 2}
    assert tables["travellers"]["columns"] == ["发票号码", "姓名", "身份证号"]


def test_related_party_chain_with_normalized_names_and_aliases(make_dataset, run_model):
    awards = make_dataset("项目,采购人,中标人,金额\nP1,市卫健委,苏州甲建设有限公司,500000\n"
                          "P2,市教育局,乙科技（昆山）有限公司,300000\nP3,市卫健委,丙贸易有限公司,100000\n")
    holders = make_dataset("企业名称,股东\n苏州甲建设,张小明\n乙科技有限公司,李小红\n丙贸易,王小刚\n")
    relatives = make_dataset("工作单位,官员,亲属姓名\n苏州市卫生健康委员会,张局长,张小明\n"
                             "苏州市卫生健康委员会,赵处长,李小红\n苏州市财政局,王科长,王小刚\n")
    aliases = make_dataset("简称,全称\n市卫健委,苏州市卫生健康委员会\n")
    params = dict(TEMPLATES["related_party_chain"].example, amount_field="金额")
    _, run = run_model("related_party_chain", params, {"awards": awards, "shareholders": holders,
                                                       "relatives": relatives, "aliases": aliases})
    hits = ok(run)
    # P1: 张小明 is a relative at the buyer (市卫健委 = 苏州市卫生健康委员会). P2: 李小红's relative works at
    # another unit (the buyer is 教育局). P3: 王小刚's relative works at 财政局, not the buyer.
    assert [h.subject for h in hits] == ["苏州甲建设有限公司"]


def test_every_template_is_served_with_both_descriptions_roles_and_params(api, people):
    body = api(people.kunshan_verifier).get("/api/v1/screening-templates/").json()
    codes = {t["code"] for t in body}
    assert codes >= {"keyword_match", "repeat_winner", "contract_splitting", "related_party", "repeat_penalty",
                     "peer_outlier", "date_conflict", "complaint_hotspot", "responsible_cluster", "bid_collusion",
                     "subcontract_ratio", "public_funded_travel", "related_party_chain"}
    for t in body:
        assert t["description_zh"] and t["description_en"] and t["roles"] and t["params"]


def test_an_alert_can_be_found_by_the_credit_code_the_model_carried(make_dataset, run_model, api, people):
    ds = make_dataset("企业,统一社会信用代码,执法机关,处罚日期\n" + "".join(
        f"甲运输,91320500MA1AAAAA1A,城管局,2024-0{m}-01\n" for m in (1, 2, 3)))
    params = {"company_field": "企业", "credit_code_field": "统一社会信用代码", "agency_field": "执法机关",
              "date_field": "处罚日期", "window_days": 365, "min_count": 3}
    run_model("repeat_penalty", params, {"penalties": ds})
    found = api(people.kunshan_supervisor).get("/api/v1/alerts/", {"q": "91320500MA1AAAAA1A"}).json()
    assert found["count"] == 1 and found["results"][0]["subject"]["credit_code"] == "91320500MA1AAAAA1A"
