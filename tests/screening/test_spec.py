"""The compiler: identifiers checked and quoted, values bound, errors name the step."""

from __future__ import annotations

import pytest

from screening import engine
from screening.spec import DatasetRef, SpecError, compile_spec
from screening.templates import TEMPLATES, describe, expand

pytestmark = pytest.mark.django_db


def test_every_template_expands_to_a_spec_that_compiles_on_its_example_columns():
    for code, t in TEMPLATES.items():
        spec = expand(code, t.example)
        cols: dict[str, set] = {}
        for p, kind in t.params.items():
            v = t.example.get(p)
            if kind in ("column",) and v:
                cols.setdefault(p, set()).add(v)
        d = describe(t)
        assert d["description_zh"] and d["description_en"] and d["spec"]["steps"][-1]["type"] == "emit"
        assert spec["steps"][0]["type"] == "source"
    assert set(TEMPLATES) >= set(["keyword_match", "repeat_winner", "contract_splitting", "related_party",
                                        "repeat_penalty", "peer_outlier", "date_conflict"])


def _ref(make_dataset, text):
    from screening.services import dataset_local_path

    ds = make_dataset(text)
    return DatasetRef(path=dataset_local_path(ds), columns=ds.columns)


def test_hostile_values_are_bound_and_odd_column_names_are_quoted(make_dataset):
    ref = _ref(make_dataset, 'name,"we""ird col"\nx\'); DROP TABLE t; --,1\nplain,2\n')
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "r"},
        {"id": "f", "type": "filter", "input": "s",
         "conditions": [{"field": "name", "op": "=", "value": "x'); DROP TABLE t; --"}]},
        {"id": "o", "type": "emit", "input": "f", "subject_field": 'we"ird col', "title": "{name}"},
    ]}
    compiled = compile_spec(spec, {"r": ref})
    assert "DROP" not in compiled.sql
    hits, _ = engine.execute(compiled, code="t")
    assert [h.title for h in hits] == ["x'); DROP TABLE t; --"] and hits[0].subject == "1"


@pytest.mark.parametrize("step,needle", [
    ({"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "nope", "op": "=", "value": 1}]}, "nope"),
    ({"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "n", "op": "=", "value": "abc"}]},
     "integer"),
    ({"id": "f", "type": "filter", "input": "zz", "conditions": []}, "input"),
    ({"id": "f", "type": "window", "input": "s", "partition_by": ["t"], "date_field": "t", "window_days": 3},
     "date"),
    ({"id": "f", "type": "sql", "input": "s"}, "sql"),
])
def test_invalid_steps_are_refused_naming_the_step(make_dataset, step, needle):
    ref = _ref(make_dataset, "t,n\na,1\n")
    spec = {"steps": [{"id": "s", "type": "source", "dataset": "r"}, step,
                      {"id": "o", "type": "emit", "input": "f"}]}
    with pytest.raises(SpecError) as err:
        compile_spec(spec, {"r": ref})
    assert needle in str(err.value)


def test_preview_of_a_middle_step(make_dataset):
    ref = _ref(make_dataset, "t,n\na,1\nb,5\nc,9\n")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "r"},
        {"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "n", "op": "between", "from": 2,
                                                                    "to": 9}]},
        {"id": "o", "type": "emit", "input": "f", "subject_field": "t"},
    ]}
    cols, rows = engine.preview_rows(compile_spec(spec, {"r": ref}, upto="f", limit=10))
    assert [r["t"] for r in rows] == ["b", "c"] and "n" in cols
