"""The richer rule steps: compute, aggregate, dedupe, join match, peer direction, spread, emit identity
and reason."""

from __future__ import annotations

import pytest

from screening import engine, services
from screening.spec import DatasetRef, SpecError, compile_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def refs(make_dataset):
    def make(**texts: str) -> dict[str, DatasetRef]:
        out = {}
        for role, text in texts.items():
            ds = make_dataset(text, name=role)
            out[role] = DatasetRef(services.dataset_local_path(ds), ds.columns, role)
        return out

    return make


def run(spec, refs):
    hits, _ = engine.execute(compile_spec(spec, refs), code="t")
    return hits


def preview(spec, refs, step):
    return engine.preview_rows(compile_spec(spec, refs, upto=step, limit=100))[1]


PONDS = ("户主,村,用电量,面积\n甲,一村,1000,10\n乙,一村,1100,10\n丙,一村,9000,10\n丁,一村,100,0\n"
         "戊,二村,500,5\n己,二村,520,5\n")


def test_compute_divides_with_null_on_zero_and_rounds(refs):
    r = refs(ponds=PONDS)
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "ponds"},
        {"id": "c", "type": "compute", "input": "s", "columns": [
            {"name": "每亩用电量", "expr": {"op": "div", "args": [{"field": "用电量"}, {"field": "面积"}]},
             "digits": 1}]},
        {"id": "o", "type": "emit", "input": "c"},
    ]}
    rows = {row["户主"]: row["每亩用电量"] for row in preview(spec, r, "c")}
    assert rows == {"甲": 100, "乙": 110, "丙": 900, "丁": None, "戊": 100, "己": 104}


def test_compute_then_peer_finds_the_outlier_and_direction_and_group_size_apply(refs):
    r = refs(ponds=PONDS)
    steps = [
        {"id": "s", "type": "source", "dataset": "ponds"},
        {"id": "c", "type": "compute", "input": "s", "columns": [
            {"name": "每亩", "expr": {"op": "div", "args": [{"field": "用电量"}, {"field": "面积"}]}}]},
        {"id": "p", "type": "peer", "input": "c", "value_field": "每亩", "group_by": ["村"], "factor": 3},
        {"id": "o", "type": "emit", "input": "p", "subject_field": "户主"},
    ]
    assert [h.subject for h in run({"steps": steps}, r)] == ["丙"]
    steps[2] = {**steps[2], "min_group_size": 4}  # 一村 has 3 values (丁's is null), too few
    assert run({"steps": steps}, r) == []
    steps[2] = {**steps[2], "min_group_size": 2, "direction": "below", "factor": 1.01}
    assert [h.subject for h in run({"steps": steps}, r)] == ["甲", "戊"]


def test_date_diff_year_and_month(refs):
    r = refs(t="名,起,止\na,2024-01-01,2024-03-01\n")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "t"},
        {"id": "c", "type": "compute", "input": "s", "columns": [
            {"name": "天数", "expr": {"op": "date_diff_days", "args": [{"field": "止"}, {"field": "起"}]}},
            {"name": "年", "expr": {"op": "year", "args": [{"field": "起"}]}},
            {"name": "月", "expr": {"op": "month", "args": [{"field": "止"}]}}]},
        {"id": "o", "type": "emit", "input": "c"},
    ]}
    row = preview(spec, r, "c")[0]
    assert (row["天数"], row["年"], row["月"]) == (60, 2024, 3)


INSPECT = ("户主,村,异常\n甲,一村,是\n乙,二村,是\n丙,三村,是\n丁,四村,否\n")
DUTY = "村,责任人\n一村,张三\n二村,张三\n三村,李四\n四村,李四\n"


def test_aggregate_keeps_the_groups_rows_as_evidence(refs):
    r = refs(ponds=INSPECT, duty=DUTY)
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "ponds"},
        {"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "异常", "op": "=", "value": "是"}]},
        {"id": "d", "type": "source", "dataset": "duty"},
        {"id": "j", "type": "join", "left": "f", "right": "d", "on": [{"left": "村", "right": "村"}], "prefix": "d."},
        {"id": "a", "type": "aggregate", "input": "j", "group_by": ["d.责任人"],
         "metrics": [{"fn": "count_distinct", "field": "村", "name": "异常村数"}, {"fn": "count", "name": "户数"}],
         "having": [{"field": "异常村数", "op": ">=", "value": 2}]},
        {"id": "o", "type": "emit", "input": "a", "group_by": ["d.责任人"], "subject_field": "d.责任人",
         "title": "{d.责任人} 负责的 {异常村数} 个村存在异常"},
    ]}
    hits = run(spec, r)
    assert [h.title for h in hits] == ["张三负责的2个村存在异常"]
    assert sorted(row["户主"] for row in hits[0].rows) == ["乙", "甲"]
    assert hits[0].metrics["异常村数"] == 2
    assert "_evidence" not in preview(spec, r, "a")[0]


def test_dedupe_keeps_first_or_last(refs):
    r = refs(t="号,日期,金额\n1,2024-01-01,5\n1,2024-02-01,6\n2,2024-01-01,7\n")
    steps = [{"id": "s", "type": "source", "dataset": "t"},
             {"id": "d", "type": "dedupe", "input": "s", "keys": ["号"], "keep": "last", "order_by": ["日期"]},
             {"id": "o", "type": "emit", "input": "d"}]
    assert sorted(row["金额"] for row in preview({"steps": steps}, r, "d")) == [6, 7]
    steps[1]["keep"] = "first"
    assert sorted(row["金额"] for row in preview({"steps": steps}, r, "d")) == [5, 7]


AWARDS = "项目,采购人,中标人\nP1,市卫健委,苏州甲建设有限公司\nP2,市教育局,乙科技（昆山）有限公司\nP3,市卫健委,丙公司\n"
RELATIONS = "单位,企业\n苏州市卫生健康委员会,苏州甲建设\n苏州市教育局,乙科技有限公司项目部\n"
ALIASES = "简称,全称\n市卫健委,苏州市卫生健康委员会\n市教育局,苏州市教育局\n"


def test_join_match_normalized_with_aliases(refs):
    r = refs(awards=AWARDS, relations=RELATIONS, aliases=ALIASES)
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "awards"},
        {"id": "r", "type": "source", "dataset": "relations"},
        {"id": "j", "type": "join", "left": "s", "right": "r", "how": "semi", "match": "normalized",
         "aliases": {"dataset": "aliases", "short": "简称", "full": "全称"},
         "on": [{"left": "采购人", "right": "单位"}, {"left": "中标人", "right": "企业"}]},
        {"id": "o", "type": "emit", "input": "j", "subject_field": "项目"},
    ]}
    assert sorted(h.subject for h in run(spec, r)) == ["P1", "P2"]
    spec["steps"][2]["match"] = "exact"
    del spec["steps"][2]["aliases"]
    assert run(spec, r) == []


def test_join_match_similarity(refs):
    r = refs(a="名\n苏州市甲建设工程\n完全不同\n", b="名\n苏州市甲建设工程部\n")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "a"},
        {"id": "r", "type": "source", "dataset": "b"},
        {"id": "j", "type": "join", "left": "s", "right": "r", "how": "semi", "match": "similarity",
         "min_similarity": 0.9, "on": [{"left": "名", "right": "名"}]},
        {"id": "o", "type": "emit", "input": "j", "subject_field": "名"},
    ]}
    assert [h.subject for h in run(spec, r)] == ["苏州市甲建设工程"]


BIDS = ("标段,投标人,报价\nA,甲,100\nA,乙,101\nA,丙,102\nB,甲,100\nB,乙,150\nB,丙,101\nC,丁,100\nC,戊,100.5\n")


def test_spread_finds_groups_whose_values_lie_close(refs):
    r = refs(bids=BIDS)
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "bids"},
        {"id": "sp", "type": "spread", "input": "s", "group_by": ["标段"], "value_field": "报价",
         "max_spread_pct": 3, "min_count": 3},
        {"id": "o", "type": "emit", "input": "sp", "group_by": ["标段"], "title": "{标段} {count} 家报价接近"},
    ]}
    hits = run(spec, r)
    assert [h.title for h in hits] == ["A 3家报价接近"]
    assert len(hits[0].rows) == 3


def test_emit_carries_subject_identity_and_a_reason(refs):
    r = refs(t="姓名,身份证号,信用代码,金额\n张三,320583199001011234,91320583MA1XXXXX0X,5\n")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "t"},
        {"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "金额", "op": ">", "value": 1}]},
        {"id": "o", "type": "emit", "input": "f", "subject_field": "姓名", "subject_id_field": "身份证号",
         "subject_credit_code_field": "信用代码", "amount_field": "金额",
         "reason": "{姓名} 的金额 {amount} 元超过 1 元"},
    ]}
    hit = run(spec, r)[0]
    assert (hit.subject_id_number, hit.subject_credit_code) == ("320583199001011234", "91320583MA1XXXXX0X")
    assert hit.reason == "张三的金额5.00元超过1元"
    del spec["steps"][-1]["reason"]
    generated = run(spec, r)[0].reason
    assert "「金额」大于1" in generated and "5.00" in generated


@pytest.mark.parametrize("step,needle", [
    ({"id": "x", "type": "compute", "input": "s", "columns": [{"name": "n", "expr": {"op": "add", "args": []}}]},
     "n"),
    ({"id": "x", "type": "compute", "input": "s",
      "columns": [{"name": "新", "expr": {"op": "div", "args": [{"field": "名"}, {"value": 2}]}}]}, "numbers"),
    ({"id": "x", "type": "aggregate", "input": "s", "group_by": ["名"], "metrics": [{"fn": "sum", "field": "名",
                                                                                    "name": "合计"}]}, "名"),
    ({"id": "x", "type": "join", "left": "s", "right": "s", "on": [{"left": "名", "right": "名"}],
      "min_similarity": 0.5}, "min_similarity"),
    ({"id": "x", "type": "spread", "input": "s", "group_by": ["名"], "value_field": "数", "max_spread_pct": -1},
     "max_spread_pct"),
    ({"id": "x", "type": "peer", "input": "s", "group_by": ["名"], "value_field": "数", "factor": 2,
      "direction": "up"}, "direction"),
])
def test_bad_options_of_the_new_steps_are_refused_naming_the_step(refs, step, needle):
    r = refs(r="名,数\na,1\n")
    spec = {"steps": [{"id": "s", "type": "source", "dataset": "r"}, step, {"id": "o", "type": "emit", "input": "x"}]}
    with pytest.raises(SpecError) as err:
        compile_spec(spec, r)
    assert err.value.step == "x" and needle in str(err.value)
