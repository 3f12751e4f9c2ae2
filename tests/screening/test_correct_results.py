"""Wrong results the real cases found: each test here failed on the engine before it was fixed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.models import Alert
from screening import services
from screening.models import ModelStatus, RunStatus, ScreeningModel, ScreeningRun
from screening.spec import DatasetRef, compile_spec
from workflow.services import alert_dismiss

pytestmark = pytest.mark.django_db

AWARDS = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n教育局,乙公司,2024-01-01\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


def _upload(client, text, *, column_types=None, name="发票"):
    data = {"name": name, "file": SimpleUploadedFile("a.csv", text.encode(), content_type="text/csv"),
            "org_unit": "kunshan"}
    if column_types is not None:
        data["column_types"] = json.dumps(column_types, ensure_ascii=False)
    return client.post("/api/v1/datasets/", data, format="multipart")


# ----- long numbers -----

def test_twenty_digit_invoice_numbers_stay_exact_text_and_are_three_hits_not_one(make_dataset, run_model):
    ds = make_dataset("发票号码,品名,金额\n24326043227000003001,旅游服务,100\n24326043227000003002,旅游服务,200\n"
                      "24326043227000003003,旅游服务,300\n")
    assert ds.column_types["发票号码"] == "text"
    spec = {"steps": [
        {"id": "src", "type": "source", "dataset": "inv"},
        {"id": "out", "type": "emit", "input": "src", "group_by": ["发票号码"], "amount_field": "金额",
         "title": "{发票号码}"},
    ]}
    model = services.screening_model_create(by=None, name="x", org_unit=ds.org_unit, datasets={"inv": ds},
                                            spec=spec, status="active")
    _, run = run_model("", {}, {}, model=model)
    assert run.hit_count == 3
    assert sorted(h.title for h in run.hits.all()) == [
        "24326043227000003001", "24326043227000003002", "24326043227000003003"]


def test_numbers_with_a_leading_zero_stay_text_but_plain_numbers_do_not(make_dataset):
    ds = make_dataset("区号,编号,数量,比例\n0512,007,12,0.5\n0510,010,3,1.25\n")
    assert ds.column_types == {"区号": "text", "编号": "text", "数量": "integer", "比例": "decimal"}


def test_upload_column_types_override_inference_through_the_api(api, people):
    r = _upload(api(people.kunshan_supervisor), "编号,金额,日期\n12,5,2024-01-01\n13,6,2024-01-02\n",
                column_types={"编号": "text", "金额": "decimal"})
    assert r.status_code == 201, r.content
    assert r.json()["columns"] == [{"name": "编号", "type": "text"}, {"name": "金额", "type": "decimal"},
                                   {"name": "日期", "type": "date"}]


@pytest.mark.parametrize("types,field,needle", [
    ({"金额": "integer"}, "file", "3"),  # line 3 holds "abc"
    ({"没有": "text"}, "file", "没有"),
    ({"金额": "money"}, "column_types", "money"),
])
def test_bad_column_types_are_a_400_naming_the_column(api, people, types, field, needle):
    r = _upload(api(people.kunshan_supervisor), "编号,金额\n1,5\n2,abc\n", column_types=types)
    assert r.status_code == 400, r.content
    assert needle in json.dumps(r.json(), ensure_ascii=False)


def test_the_upload_screen_takes_column_types_one_per_line(client, people):
    client.force_login(people.kunshan_supervisor)
    f = SimpleUploadedFile("a.csv", "编号,金额\n12,5\n".encode(), content_type="text/csv")
    r = client.post("/screening/datasets/", {"name": "x", "org_unit": "kunshan", "file": f,
                                             "column_types": "编号：文本"})
    assert r.status_code == 302
    from screening.models import Dataset
    assert Dataset.objects.get().column_types == {"编号": "text", "金额": "integer"}


# ----- amounts and joins -----

INVOICE = "发票号码,金额\n24326043227000003001,86400\n24326043227000003002,1000\n"
TRAVELLERS = "发票号码,姓名\n" + "".join(f"24326043227000003001,人{i}\n" for i in range(9)) + \
    "24326043227000003002,乙\n"


def _joined_spec(**emit):
    return {"steps": [
        {"id": "inv", "type": "source", "dataset": "invoices"},
        {"id": "who", "type": "source", "dataset": "travellers"},
        {"id": "j", "type": "join", "left": "inv", "right": "who", "on": [{"left": "发票号码", "right": "发票号码"}]},
        {"id": "out", "type": "emit", "input": "j", "group_by": ["发票号码"], "amount_field": "金额",
         "title": "{发票号码} {amount} {count}", **emit},
    ]}


@pytest.mark.parametrize("agg", [None, "sum", "max", "first"])
def test_a_join_never_counts_an_amount_twice(make_dataset, agg):
    inv, who = make_dataset(INVOICE), make_dataset(TRAVELLERS)
    refs = {"invoices": DatasetRef(services.dataset_local_path(inv), inv.columns, "发票"),
            "travellers": DatasetRef(services.dataset_local_path(who), who.columns, "出行人")}
    from screening import engine

    hits, _ = engine.execute(compile_spec(_joined_spec(**({"amount_agg": agg} if agg else {})), refs), code="t")
    big = next(h for h in hits if h.group_key == ["24326043227000003001"])
    assert str(big.amount) == "86400.00"
    assert len(big.rows) == 9  # every traveller is evidence
    tables = {t["dataset"]: t for t in big.evidence}
    assert len(tables["发票"]["rows"]) == 1 and len(tables["出行人"]["rows"]) == 9


def test_the_amount_of_a_row_hit_after_a_join_is_the_rows_own(make_dataset):
    inv, who = make_dataset(INVOICE), make_dataset(TRAVELLERS)
    refs = {"invoices": DatasetRef(services.dataset_local_path(inv), inv.columns),
            "travellers": DatasetRef(services.dataset_local_path(who), who.columns)}
    from screening import engine

    spec = _joined_spec()
    spec["steps"][-1]["group_by"] = []
    hits, _ = engine.execute(compile_spec(spec, refs), code="t")
    assert sorted(str(h.amount) for h in hits) == ["1000.00", "86400.00"]


# ----- re-running after dismissal -----

def test_a_dismissed_hit_is_not_raised_again_unless_its_evidence_changed(make_dataset, run_model, people):
    ds = make_dataset(AWARDS)
    model, first = run_model("repeat_winner", PARAMS, {"awards": ds})
    alert = Alert.objects.get()
    alert_dismiss(alert_id=alert.pk, by=people.kunshan_supervisor, reason="false_positive")
    _, again = run_model("repeat_winner", {}, {}, model=model)
    assert (again.status, again.hit_count, again.alerts_created) == (RunStatus.SUCCEEDED, 1, 0)
    assert Alert.objects.count() == 1
    assert again.hits.get().suppressed
    # A new award inside the window: new evidence, so it is raised again, linked to the dismissed one.
    bigger = make_dataset(AWARDS + "教育局,甲公司,2024-01-05\n")
    v2 = services.screening_model_update(model_id=model.pk, by=people.kunshan_supervisor, changes={},
                                         datasets={"awards": bigger})
    _, third = run_model("repeat_winner", {}, {}, model=v2)
    assert third.alerts_created == 1
    new = Alert.objects.exclude(pk=alert.pk).get()
    assert new.details["previous_alert"] == alert.pk and new.dedup_key == alert.dedup_key


# ----- draft runs -----

def test_a_draft_run_is_a_dry_run(make_dataset, people, django_capture_on_commit_callbacks, api):
    ds = make_dataset(AWARDS)
    model = services.screening_model_create(by=people.kunshan_supervisor, name="草稿", org_unit=ds.org_unit,
                                            datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    assert model.status == ModelStatus.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        r = api(people.kunshan_supervisor).post(f"/api/v1/screening-models/{model.pk}/runs/")
    assert r.status_code == 202
    body = api(people.kunshan_supervisor).get(f"/api/v1/screening-runs/{r.json()['id']}/").json()
    assert (body["status"], body["dry_run"], body["hit_count"], body["alerts_created"]) == ("succeeded", True, 1, 0)
    assert Alert.objects.count() == 0
    hits = api(people.kunshan_supervisor).get(f"/api/v1/screening-runs/{body['id']}/hits/").json()["results"]
    assert hits[0]["alert"] is None and hits[0]["rows"]


# ----- scheduling -----

def test_patching_a_schedule_sets_the_next_run_and_the_sweeper_runs_it(make_dataset, run_model, api, people,
                                                                       django_capture_on_commit_callbacks):
    ds = make_dataset(AWARDS)
    model, _ = run_model("repeat_winner", PARAMS, {"awards": ds})
    r = api(people.kunshan_supervisor).patch(f"/api/v1/screening-models/{model.pk}/", {"schedule": "daily"},
                                             format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == model.pk and body["version"] == 1 and body["next_run_at"]  # no new version
    model.refresh_from_db()
    due = model.next_run_at
    with django_capture_on_commit_callbacks(execute=True):
        runs = services.run_due_scheduled_models(due + dt.timedelta(seconds=1))
    assert len(runs) == 1 and runs[0].scheduled
    assert ScreeningRun.objects.get(pk=runs[0].pk).status == RunStatus.SUCCEEDED
    model.refresh_from_db()
    assert model.next_run_at == due + dt.timedelta(days=1)
    assert services.run_due_scheduled_models(due + dt.timedelta(seconds=2)) == []
    r = api(people.kunshan_supervisor).patch(f"/api/v1/screening-models/{model.pk}/", {"schedule": ""},
                                             format="json")
    assert r.json()["next_run_at"] is None
    assert ScreeningModel.objects.filter(code=model.code).count() == 1


def test_the_embedded_sweeper_starts_scheduled_runs(make_dataset, run_model, people, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    from django.core.management import call_command

    import ops.management.commands.run_sweeper as cmd

    monkeypatch.setattr(cmd, "close_old_connections", lambda: None)  # would end the test's transaction

    ds = make_dataset(AWARDS)
    model, _ = run_model("repeat_winner", PARAMS, {"awards": ds})
    services.screening_model_update(model_id=model.pk, by=people.kunshan_supervisor, changes={"schedule": "weekly"})
    ScreeningModel.objects.filter(pk=model.pk).update(next_run_at=timezone.now() - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_sweeper", "--once")
    assert ScreeningRun.objects.filter(model=model, scheduled=True).count() == 1
    model.refresh_from_db()
    assert model.next_run_at > timezone.now() + dt.timedelta(days=6)


# ----- silent failures are refused -----

SPEC_BASE = [{"id": "s", "type": "source", "dataset": "r"}]


@pytest.mark.parametrize("step,needle", [
    ({"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "n", "op": ">", "value": 1}],
      "factr": 2}, "factr"),
    ({"id": "f", "type": "filter", "input": "s",
      "conditions": [{"field": "n", "op": ">", "other_field": "m", "factor": 2}]}, "factor"),
    ({"id": "f", "type": "filter", "input": "s", "conditions": [{"field": "n", "op": "is_null", "value": 3}]},
     "value"),
    ({"id": "f", "type": "peer", "input": "s", "value_field": "n", "group_by": ["t"], "factor": 2,
      "window_days": 3}, "window_days"),
    ({"id": "f", "type": "join", "left": "s", "right": "s", "on": [{"left": "t", "right": "n"}]}, "never"),
])
def test_a_step_that_would_silently_do_less_is_a_400_naming_step_and_key(make_dataset, api, people, step, needle):
    ds = make_dataset("t,n,m\na,1,2\n")
    spec = {"steps": [*SPEC_BASE, step, {"id": "o", "type": "emit", "input": "f"}]}
    r = api(people.kunshan_supervisor).post("/api/v1/screening-specs/preview/",
                                            {"spec": spec, "datasets": {"r": ds.pk}}, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["step"] == "f" and needle in r.json()["spec"][0]
    r = api(people.kunshan_supervisor).post("/api/v1/screening-models/", {
        "name": "x", "org_unit": "kunshan", "spec": spec, "datasets": {"r": ds.pk}}, format="json")
    assert r.status_code == 400 and needle in json.dumps(r.json(), ensure_ascii=False)


def test_an_internal_column_as_amount_is_a_400_not_a_500(make_dataset, api, people):
    ds = make_dataset("采购人,中标人,中标日期,金额\n教育局,甲公司,2024-01-01,5\n教育局,甲公司,2024-01-02,6\n")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "r"},
        {"id": "w", "type": "window", "input": "s", "partition_by": ["采购人", "中标人"], "date_field": "中标日期",
         "window_days": 30, "value_field": "金额"},
        {"id": "o", "type": "emit", "input": "w", "group_by": ["采购人", "中标人"], "amount_field": "_window_sum"},
    ]}
    r = api(people.kunshan_supervisor).post("/api/v1/screening-specs/preview/",
                                            {"spec": spec, "datasets": {"r": ds.pk}}, format="json")
    assert r.status_code == 400 and r.json()["step"] == "o" and "_window_sum" in r.json()["spec"][0]


def test_a_query_error_in_the_preview_is_a_400_with_a_plain_message(make_dataset, api, people, monkeypatch):
    import duckdb

    from screening import engine

    def broken(compiled, **kwargs):
        raise duckdb.BinderException("Binder Error: something")

    monkeypatch.setattr(engine, "run_query", broken)
    ds = make_dataset("t,n\na,1\n")
    spec = {"steps": [*SPEC_BASE, {"id": "o", "type": "emit", "input": "s"}]}
    r = api(people.kunshan_supervisor).post("/api/v1/screening-specs/preview/",
                                            {"spec": spec, "datasets": {"r": ds.pk}}, format="json")
    assert r.status_code == 400 and "could not be run" in r.json()["spec"][0]


# (The hit cap: tests/screening/test_hit_cap.py.)


def test_the_run_page_says_a_draft_run_raised_nothing(make_dataset, people, client, django_capture_on_commit_callbacks):
    ds = make_dataset(AWARDS)
    model = services.screening_model_create(by=people.kunshan_supervisor, name="草稿", org_unit=ds.org_unit,
                                            datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_run_start(model=model, by=people.kunshan_supervisor)
    client.force_login(people.kunshan_supervisor)
    page = client.get(f"/screening/runs/{run.pk}/").content.decode()
    assert 'data-testid="dry-run"' in page
