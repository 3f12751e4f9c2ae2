"""Untrusted work is bounded (issue 10, "Denial of service"): the factory preview and model runs
run inside DuckDB limits (time, memory, join fan-out, result rows) on a connection that can open
no other file, and only roles that build models may preview."""

from __future__ import annotations

import duckdb
import pytest
from django.utils import translation

from screening import engine, importing
from screening.models import RunStatus
from screening.spec import DatasetRef, compile_spec

pytestmark = pytest.mark.django_db

# A few hundred contracts of one buyer, like the demo's contract ledger.
CONTRACTS = "采购人,供应商,金额\n" + "".join(f"教育局,供应商{i},{1000 + i}\n" for i in range(300))


def self_join(times: int = 3) -> dict:
    """`times`-way self-join of the contracts on the buyer: 300^3 = 27 million rows for three."""
    steps = [{"id": "c0", "type": "source", "dataset": "c"}]
    prev = "c0"
    for i in range(1, times):
        steps.append({"id": f"j{i}", "type": "join", "left": prev, "right": "c0",
                      "on": [{"left": "采购人", "right": "采购人"}], "prefix": f"x{i}."})
        prev = f"j{i}"
    steps.append({"id": "out", "type": "emit", "input": prev, "group_by": ["采购人"], "title": "{采购人}"})
    return {"steps": steps}


def test_a_three_way_self_join_preview_fails_fast_with_a_clear_400(api, people, make_dataset):
    ds = make_dataset(CONTRACTS)
    client = api(people.kunshan_supervisor)
    for step in ("j2", "out"):  # the join itself, and the emit that would aggregate all of it
        r = client.post("/api/v1/screening-specs/preview/",
                        {"spec": self_join(3), "datasets": {"c": ds.pk}, "step": step}, format="json")
        assert r.status_code == 400, r.content
        body = r.json()
        assert body["detail"].startswith("Preview exceeded a limit: ")
        assert "j2" in body["detail"] and "1,000,000" in body["detail"]
        assert body["step"] == "j2"


def test_the_limit_message_is_in_chinese_for_chinese_users(api, people, make_dataset):
    ds = make_dataset(CONTRACTS)
    with translation.override("zh-hans"):
        r = api(people.kunshan_supervisor).post(
            "/api/v1/screening-specs/preview/", {"spec": self_join(3), "datasets": {"c": ds.pk}, "step": "out"},
            format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400
    assert r.json()["detail"].startswith("预览超出限制：")


def test_a_two_way_join_within_the_cap_still_previews(api, people, make_dataset):
    ds = make_dataset(CONTRACTS)
    r = api(people.kunshan_supervisor).post(
        "/api/v1/screening-specs/preview/", {"spec": self_join(2), "datasets": {"c": ds.pk}, "step": "j1"},
        format="json")
    assert r.status_code == 200, r.content
    assert len(r.json()["rows"]) == 20


def test_a_preview_over_the_time_limit_is_interrupted_and_refused(api, people, make_dataset, settings):
    ds = make_dataset(CONTRACTS)
    settings.HUOYAN_SCREENING_LIMITS = {
        **settings.HUOYAN_SCREENING_LIMITS,
        "preview": {**settings.HUOYAN_SCREENING_LIMITS["preview"], "timeout_seconds": 0.2,
                    "max_join_rows": 10**12},
    }
    r = api(people.kunshan_supervisor).post(
        "/api/v1/screening-specs/preview/", {"spec": self_join(3), "datasets": {"c": ds.pk}, "step": "out"},
        format="json")
    assert r.status_code == 400, r.content
    assert r.json()["detail"] == "Preview exceeded a limit: the query took longer than 0.2 seconds"


def test_previews_read_a_bounded_sample_whatever_the_request_asks(api, people, make_dataset, settings):
    ds = make_dataset(CONTRACTS)
    settings.HUOYAN_SCREENING_LIMITS = {
        **settings.HUOYAN_SCREENING_LIMITS,
        "preview": {**settings.HUOYAN_SCREENING_LIMITS["preview"], "sample_rows": 7},
    }
    spec = {"steps": [{"id": "c0", "type": "source", "dataset": "c"}]}
    r = api(people.kunshan_supervisor).post(
        "/api/v1/screening-specs/preview/",
        {"spec": spec, "datasets": {"c": ds.pk}, "step": "c0", "limit": 200, "sample": 1_000_000}, format="json")
    assert r.status_code == 200 and len(r.json()["rows"]) == 7


@pytest.mark.parametrize("who", ["kunshan_verifier", "kunshan_leader", "city_leader"])
def test_only_roles_that_build_models_may_preview(api, people, make_dataset, who):
    ds = make_dataset(CONTRACTS)
    r = api(getattr(people, who)).post(
        "/api/v1/screening-specs/preview/", {"spec": self_join(3), "datasets": {"c": ds.pk}, "step": "out"},
        format="json")
    assert r.status_code == 403


def test_a_run_over_the_join_cap_fails_and_says_why(people, make_dataset, settings,
                                                    django_capture_on_commit_callbacks):
    from screening import services

    ds = make_dataset(CONTRACTS)
    model = services.screening_model_create(by=people.kunshan_supervisor, name="fan-out",
                                            org_unit=people.kunshan_supervisor.org_unit,
                                            datasets={"c": ds}, spec=self_join(3), status="active")
    settings.HUOYAN_SCREENING_LIMITS = {
        **settings.HUOYAN_SCREENING_LIMITS,
        "run": {**settings.HUOYAN_SCREENING_LIMITS["run"], "max_join_rows": 1_000_000},
    }
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_run_start(model=model, by=people.kunshan_supervisor)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "j2" in run.error and "1,000,000" in run.error and "Error" not in run.error


# ----- the connection a spec runs on can open nothing else -----

def test_the_query_connection_cannot_read_other_files_load_extensions_or_unlock(make_dataset, tmp_path):
    ds = make_dataset(CONTRACTS)
    from screening.services import dataset_local_path

    path = dataset_local_path(ds)
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    con = importing.connect(read=[path])
    try:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone() == (300,)
        for sql in (f"SELECT * FROM read_csv('{secret}')", "SELECT * FROM read_csv('/etc/passwd')",
                    f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'", f"ATTACH '{tmp_path / 'x.db'}'",
                    "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true",
                    "SET autoload_known_extensions = true"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    finally:
        con.close()


def test_a_compiled_spec_runs_on_the_locked_connection(make_dataset):
    ds = make_dataset(CONTRACTS)
    from screening.services import dataset_local_path

    ref = DatasetRef(path=dataset_local_path(ds), columns=ds.columns)
    spec = {"steps": [{"id": "c0", "type": "source", "dataset": "c"},
                      {"id": "f", "type": "filter", "input": "c0",
                       "conditions": [{"field": "金额", "op": ">=", "value": 1298}]}]}
    cols, rows = engine.preview_rows(compile_spec(spec, {"c": ref}, upto="f", limit=10))
    assert [r["金额"] for r in rows] == [1298, 1299]
