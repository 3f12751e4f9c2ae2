"""Each built-in template on small hand-made datasets whose hits are known, edges included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.models import Alert
from screening.models import RunStatus


def hit_keys(run) -> list[list]:
    return [h.group_key for h in run.hits.order_by("id")]


def subjects(run) -> list[str]:
    return sorted(h.subject for h in run.hits.all())


pytestmark = pytest.mark.django_db


def test_keyword_match_hits_rows_meeting_every_condition(make_dataset, run_model):
    ds = make_dataset(
        "报销人,品名,事由,金额\n"
        "张三,九寨沟景区门票,考察学习,800\n"    # both conditions → hit
        "李四,景区门票,办公用品,300\n"          # second condition fails
        "王五,,考察,100\n"                      # null item → no hit
        "赵六,度假村住宿,赴外地考察,2000.5\n"    # hit
        "钱七,打印纸,考察,50\n"
    )
    params = {"conditions": [{"field": "品名", "any_of": ["景区", "度假", "旅游"]},
                             {"field": "事由", "any_of": ["考察"]}],
              "subject_field": "报销人", "amount_field": "金额"}
    model, run = run_model("keyword_match", params, {"records": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert subjects(run) == ["张三", "赵六"]
    hit = run.hits.get(subject="赵六")
    assert hit.amount == Decimal("2000.50")
    assert hit.rows[0]["品名"] == "度假村住宿"
    alert = Alert.objects.get(pk=hit.alert_id)
    assert alert.rule_code == model.code and alert.source.kind == "screening"
    assert alert.details["rows"][0]["报销人"] == "赵六"


AWARDS = (
    "采购人,中标人,中标日期,金额\n"
    "教育局,甲公司,2024-01-01,10\n"
    "教育局,甲公司,2024-01-30,20\n"   # 29 days after the first: inside a 30-day window
    "教育局,甲公司,2024-03-01,30\n"
    "教育局,乙公司,2024-01-01,10\n"
    "教育局,乙公司,2024-01-31,10\n"   # 30 days after: outside a 30-day window
    "卫健委,甲公司,2024-05-01,10\n"
    "卫健委,,2024-05-02,10\n"          # null winner: never grouped
    "卫健委,,2024-05-03,10\n"
    "卫健委,丙公司,,10\n"              # null date: ignored
    "卫健委,丙公司,,10\n"
)


def test_repeat_winner_counts_inside_the_window_and_respects_its_boundary(make_dataset, run_model):
    ds = make_dataset(AWARDS)
    params = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期",
              "window_days": 30, "min_count": 2}
    _, run = run_model("repeat_winner", params, {"awards": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert hit_keys(run) == [["教育局", "甲公司"]]
    hit = run.hits.get()
    assert [r["中标日期"] for r in hit.rows] == ["2024-01-01", "2024-01-30"]
    assert hit.metrics["window_count"] == 2 and hit.subject == "甲公司"


def test_repeat_winner_min_count_is_inclusive_and_a_wider_window_finds_more(make_dataset, run_model):
    ds = make_dataset(AWARDS)
    params = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期",
              "window_days": 31, "min_count": 2}
    _, run = run_model("repeat_winner", params, {"awards": ds})
    assert hit_keys(run) == [["教育局", "乙公司"], ["教育局", "甲公司"]]
    params["min_count"] = 3
    params["window_days"] = 61
    _, run = run_model("repeat_winner", params, {"awards": ds})
    assert hit_keys(run) == [["教育局", "甲公司"]]
    assert run.hits.get().metrics["window_count"] == 3


CONTRACTS = (
    "采购人,供应商,签订日期,金额\n"
    "城管局,甲公司,2024-01-01,600000\n"
    "城管局,甲公司,2024-01-20,400000\n"   # 600k + 400k == threshold → hit
    "城管局,乙公司,2024-01-01,1000000\n"  # equal to threshold: not "below" → never part of a split
    "城管局,乙公司,2024-01-05,10\n"
    "城管局,丙公司,2024-01-01,900000\n"
    "城管局,丙公司,2024-06-01,900000\n"   # outside the window
    "城管局,丁公司,2024-01-01,999999.99\n"  # a single contract is not a split
    "城管局,戊公司,2024-01-01,\n"          # null amount
    "城管局,戊公司,2024-01-02,999999\n"
)


def test_contract_splitting_finds_pairs_below_threshold_summing_to_it(make_dataset, run_model):
    ds = make_dataset(CONTRACTS)
    params = {"buyer_field": "采购人", "supplier_field": "供应商", "date_field": "签订日期",
              "amount_field": "金额", "threshold": 1000000, "window_days": 90}
    _, run = run_model("contract_splitting", params, {"contracts": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert hit_keys(run) == [["城管局", "甲公司"]]
    hit = run.hits.get()
    assert hit.amount == Decimal("1000000.00") and len(hit.rows) == 2


def test_related_party_hits_each_award_whose_pair_is_listed(make_dataset, run_model):
    awards = make_dataset("采购人,中标人,金额\n水务局,甲公司,100\n水务局,乙公司,200\n交通局,甲公司,300\n,甲公司,1\n",
                          name="中标")
    relations = make_dataset("单位,关联企业,关系人\n水务局,甲公司,局长配偶\n水务局,甲公司,局长之子\n"
                             "交通局,丙公司,科长\n",
                             name="关系")
    params = {"award_unit_field": "采购人", "award_company_field": "中标人", "relation_unit_field": "单位",
              "relation_company_field": "关联企业"}
    _, run = run_model("related_party", params, {"awards": awards, "relations": relations})
    assert run.status == RunStatus.SUCCEEDED, run.error
    # Listed twice in relations, still one hit for the one award row.
    assert [(h.rows[0]["采购人"], h.subject) for h in run.hits.all()] == [("水务局", "甲公司")]


def test_repeat_penalty_groups_by_company_and_agency(make_dataset, run_model):
    ds = make_dataset(
        "企业,执法机关,处罚日期,罚款\n"
        "甲化工,环保局,2024-01-01,5000\n甲化工,环保局,2024-02-01,5000\n甲化工,环保局,2024-03-01,5000\n"
        "甲化工,市场局,2024-01-01,100\n"
        "乙化工,环保局,2023-01-01,5000\n乙化工,环保局,2024-01-02,5000\n乙化工,环保局,2025-01-03,5000\n"
    )
    params = {"company_field": "企业", "agency_field": "执法机关", "date_field": "处罚日期", "window_days": 365,
              "min_count": 3, "amount_field": "罚款"}
    _, run = run_model("repeat_penalty", params, {"penalties": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert hit_keys(run) == [["甲化工", "环保局"]]
    assert run.hits.get().amount == Decimal("15000.00") and run.hits.get().subject == "甲化工"


def test_peer_outlier_compares_with_the_group_median(make_dataset, run_model):
    ds = make_dataset(
        "户主,村,每亩用电量\n"
        "甲,东村,10\n乙,东村,12\n丙,东村,11\n丁,东村,40\n"   # median 11.5; 40 > 3×11.5 → hit
        "戊,西村,10\n己,西村,30\n庚,西村,10\n"               # median 10; 30 == 3×10 → not above
        "辛,南村,1000\n"                                     # a group of one has no peers above it
        "壬,,5000\n"                                        # no group → not compared
        "癸,东村,\n"                                        # null value
    )
    params = {"value_field": "每亩用电量", "group_field": "村", "factor": 3, "subject_field": "户主"}
    _, run = run_model("peer_outlier", params, {"records": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert subjects(run) == ["丁"]
    assert run.hits.get().metrics["_peer_value"] == 11.5


def test_date_conflict_hits_events_after_the_reference_date(make_dataset, run_model):
    events = make_dataset(
        "身份证号,发放日期,金额\nA1,2024-01-01,300\nA1,2024-03-01,300\nA1,2024-02-01,300\n"
        "B2,2024-03-01,300\nC3,2024-03-01,300\nA1,,300\n", name="补贴发放")
    deaths = make_dataset("身份证号,死亡日期\nA1,2024-02-01\nB2,2024年3月1日\nD4,2020-01-01\n", name="死亡名单")
    params = {"event_key_field": "身份证号", "event_date_field": "发放日期", "reference_key_field": "身份证号",
              "reference_date_field": "死亡日期", "amount_field": "金额"}
    _, run = run_model("date_conflict", params, {"events": events, "reference": deaths})
    assert run.status == RunStatus.SUCCEEDED, run.error
    # Only A1's March payment is after the death; a payment on the day itself is not.
    assert [(h.subject, h.rows[0]["发放日期"]) for h in run.hits.all()] == [("A1", "2024-03-01")]
    assert run.hits.get().amount == Decimal("300.00")
