"""The hit cap: a rule finding more hits than a run may raise fails once its hits are counted, before
any evidence is collected or anything is saved, with a message saying what to change."""

from __future__ import annotations

import pytest
from django.utils import translation

from alerts.models import Alert
from screening import engine, services
from screening.models import RunStatus, ScreeningHit
from screening.spec import DatasetRef, compile_spec

pytestmark = pytest.mark.django_db

PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}
# Five buyers, each with the same winner twice in a month: five repeat_winner hits.
FIVE = "采购人,中标人,中标日期\n" + "".join(f"局{i},甲,2024-01-01\n局{i},甲,2024-01-02\n" for i in range(5))


def _no_evidence(*args, **kwargs):
    raise AssertionError("evidence was built for a rule over the hit cap")


def test_an_over_broad_run_fails_before_any_evidence_and_saves_nothing(make_dataset, run_model, settings,
                                                                       monkeypatch):
    settings.HUOYAN_SCREENING_MAX_HITS = 3
    monkeypatch.setattr(engine, "hits_from", _no_evidence)
    ds = make_dataset(FIVE)
    _model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    assert run.status == RunStatus.FAILED
    assert run.error == engine.too_many_hits_message(5, 3)
    assert "too broad" in run.error and "finds 5 hits" in run.error and "Tighten it" in run.error
    assert (run.hit_count, run.alerts_created) == (0, 0)
    assert not ScreeningHit.objects.filter(run=run).exists()
    assert Alert.objects.count() == 0


def test_the_over_broad_message_is_chinese_for_a_chinese_user(make_dataset, run_model, settings):
    settings.HUOYAN_SCREENING_MAX_HITS = 3
    ds = make_dataset(FIVE)
    with translation.override("zh-hans"):
        _model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    assert run.status == RunStatus.FAILED
    assert "规则过宽" in run.error and "5 条" in run.error and "提高阈值" in run.error
    assert "hits" not in run.error and "Traceback" not in run.error


def test_a_rule_with_exactly_the_cap_runs_and_raises_every_alert(make_dataset, run_model, settings):
    settings.HUOYAN_SCREENING_MAX_HITS = 5
    ds = make_dataset(FIVE)
    _model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.hit_count, run.alerts_created) == (5, 5)
    assert Alert.objects.count() == 5


def test_the_capped_query_still_ends_in_limit_cap_plus_one(make_dataset):
    ds = make_dataset(FIVE)
    refs = {"awards": DatasetRef(services.dataset_local_path(ds), ds.columns)}
    from screening.templates import expand

    compiled = compile_spec(expand("repeat_winner", PARAMS), refs, cap=3)
    for sql in (compiled.sql, compiled.staged.final_sql):
        assert sql.rstrip().endswith("LIMIT $p" + str(len(compiled.params) - 1))
    assert compiled.params[f"p{len(compiled.params) - 1}"] == 4


# Each shape of emit counts its hits as it makes them: the count before the evidence equals the
# hits the uncapped query returns (one per group, per source row, per row a join repeated, per
# aggregate group, per window group).
ORDERS = "单号,单位,金额,日期\nA1,甲,5,2024-01-01\nA2,甲,7,2024-01-03\nA3,乙,9,2024-01-02\nA4,,3,2024-01-05\n"
PEOPLE = "单位,负责人\n甲,张三\n甲,李四\n乙,王五\n"
SHAPES = {
    "row": [{"id": "o", "type": "emit", "input": "s"}],
    "group": [{"id": "o", "type": "emit", "input": "s", "group_by": ["单位"]}],
    "row after an inner join": [
        {"id": "p", "type": "source", "dataset": "people"},
        {"id": "j", "type": "join", "left": "s", "right": "p", "on": [{"left": "单位", "right": "单位"}],
         "prefix": "p."},
        {"id": "o", "type": "emit", "input": "j"}],
    "aggregate": [
        {"id": "a", "type": "aggregate", "input": "s", "group_by": ["单位"],
         "metrics": [{"fn": "sum", "field": "金额", "name": "合计"}]},
        {"id": "o", "type": "emit", "input": "a", "group_by": ["单位"]}],
    "window": [
        {"id": "w", "type": "window", "input": "s", "partition_by": ["单位"], "date_field": "日期",
         "window_days": 30},
        {"id": "o", "type": "emit", "input": "w", "group_by": ["单位"]}],
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_count_before_the_evidence_is_the_number_of_hits(shape, make_dataset):
    refs = {}
    for role, text in (("orders", ORDERS), ("people", PEOPLE)):
        ds = make_dataset(text, name=role)
        refs[role] = DatasetRef(services.dataset_local_path(ds), ds.columns, role)
    spec = {"steps": [{"id": "s", "type": "source", "dataset": "orders"}, *SHAPES[shape]]}
    hits, _ms = engine.execute(compile_spec(spec, refs), code="t")
    n = len(hits)
    assert n >= 2
    capped, _ms = engine.execute(compile_spec(spec, refs, cap=n), code="t")
    assert [h.dedup_key for h in capped] == [h.dedup_key for h in hits]
    with pytest.raises(engine.TooManyHits) as exc:
        engine.execute(compile_spec(spec, refs, cap=n - 1), code="t")
    assert (exc.value.count, exc.value.cap) == (n, n - 1)
