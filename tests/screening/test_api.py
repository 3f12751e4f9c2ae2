"""The warehouse API: status codes, shapes and scope (out of scope is a 404)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from alerts.models import Alert
from screening.models import Dataset
from tests.conftest import SOURCE_KEY

pytestmark = pytest.mark.django_db

CSV = ("采购人,中标人,中标日期,金额\n教育局,甲公司,2024-01-01,5\n教育局,甲公司,2024/1/2,6\n"
       "教育局,乙公司,2024年1月3日,7\n")
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


def upload(client, text=CSV, unit="kunshan", name="中标数据", filename="a.csv", encoding="gb18030"):
    f = SimpleUploadedFile(filename, text.encode(encoding), content_type="text/csv")
    return client.post("/api/v1/datasets/", {"name": name, "file": f, "org_unit": unit}, format="multipart")


def test_upload_returns_201_with_columns_and_row_count(api, people):
    r = upload(api(people.kunshan_supervisor))
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) >= {"id", "name", "columns", "row_count"}
    assert body["row_count"] == 3
    assert body["columns"] == [{"name": "采购人", "type": "text"}, {"name": "中标人", "type": "text"},
                               {"name": "中标日期", "type": "date"}, {"name": "金额", "type": "integer"}]


def test_a_bad_file_is_a_400_naming_line_and_column(api, people):
    r = upload(api(people.kunshan_supervisor), text="a,b\n1,2\n3,4,5\n")
    assert r.status_code == 400
    assert "3" in r.json()["file"][0]
    assert Dataset.objects.count() == 0


def test_upload_to_a_unit_out_of_scope_is_refused(api, people):
    r = upload(api(people.kunshan_supervisor), unit="changshu")
    assert r.status_code == 400 and "org_unit" in r.json()
    assert upload(api(None)).status_code in (401, 403)


def test_datasets_are_scoped_like_alerts(api, people):
    ds_id = upload(api(people.kunshan_supervisor)).json()["id"]
    assert api(people.city_leader).get(f"/api/v1/datasets/{ds_id}/").status_code == 200
    assert api(people.changshu_supervisor).get(f"/api/v1/datasets/{ds_id}/").status_code == 404
    assert api(people.changshu_supervisor).get("/api/v1/datasets/").json()["count"] == 0
    assert api(people.kunshan_supervisor).get("/api/v1/datasets/").json()["count"] == 1
    assert api(people.nobody).get(f"/api/v1/datasets/{ds_id}/").status_code == 404
    preview = api(people.kunshan_supervisor).get(f"/api/v1/datasets/{ds_id}/preview/").json()
    assert preview["rows"][2]["中标日期"] == "2024-01-03"


def test_rows_are_appended_with_a_source_key_all_or_nothing(api, people, source):
    ds_id = upload(api(people.kunshan_supervisor)).json()["id"]
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    bad = [{"采购人": "教育局", "中标人": "丙", "中标日期": "2024-01-05", "金额": 1},
           {"采购人": "教育局", "中标人": "丙", "中标日期": "not a date", "金额": 2}]
    r = client.post(f"/api/v1/datasets/{ds_id}/rows/", bad, format="json")
    assert r.status_code == 400 and "Row 2" in r.json()["rows"][0] and "中标日期" in r.json()["rows"][0]
    assert Dataset.objects.get().row_count == 3
    good = [{"采购人": "教育局", "中标人": "丙", "中标日期": "2024-01-05", "金额": 1}]
    r = client.post(f"/api/v1/datasets/{ds_id}/rows/", good, format="json")
    assert r.status_code == 201 and r.json()["row_count"] == 4
    assert api(people.kunshan_supervisor).get(f"/api/v1/datasets/{ds_id}/").json()["row_count"] == 4
    anon = api(None)
    assert anon.post(f"/api/v1/datasets/{ds_id}/rows/", good, format="json").status_code in (401, 403)
    assert api(people.kunshan_supervisor).post(f"/api/v1/datasets/{ds_id}/rows/", good,
                                               format="json").status_code in (401, 403)


def test_a_source_cannot_append_to_a_dataset_outside_its_unit(api, people, org):
    from alerts.sources import source_system_create

    _, key = source_system_create(code="changshu-feed", name="常熟", org_unit=org.changshu)
    ds_id = upload(api(people.kunshan_supervisor)).json()["id"]
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    r = client.post(f"/api/v1/datasets/{ds_id}/rows/", [{"采购人": "x"}], format="json")
    assert r.status_code == 404


def test_model_create_run_and_read_hits(api, people, django_capture_on_commit_callbacks):
    client = api(people.kunshan_supervisor)
    ds_id = upload(client).json()["id"]
    r = client.post("/api/v1/screening-models/", {
        "name": "标王", "domain": "procurement", "org_unit": "kunshan", "risk_level": "red", "status": "active",
        "template": "repeat_winner", "datasets": {"awards": ds_id}, "params": PARAMS}, format="json")
    assert r.status_code == 201, r.content
    model = r.json()
    assert model["version"] == 1 and model["datasets"] == {"awards": ds_id}
    assert model["spec"]["steps"][-1]["type"] == "emit"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/v1/screening-models/{model['id']}/runs/")
    assert r.status_code == 202 and set(r.json()) == {"id", "status"}
    run = client.get(f"/api/v1/screening-runs/{r.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["progress"] == 100
    assert (run["hit_count"], run["alerts_created"], run["error"]) == (1, 1, "")
    hits = client.get(f"/api/v1/screening-runs/{run['id']}/hits/").json()
    assert hits["count"] == 1 and hits["results"][0]["group_key"] == ["教育局", "甲公司"]
    assert Alert.objects.get().risk_level == "red"
    # Scope: another county sees none of it.
    other = api(people.changshu_supervisor)
    assert other.get(f"/api/v1/screening-models/{model['id']}/").status_code == 404
    assert other.post(f"/api/v1/screening-models/{model['id']}/runs/").status_code == 404
    assert other.get(f"/api/v1/screening-runs/{run['id']}/").status_code == 404
    assert other.get(f"/api/v1/screening-runs/{run['id']}/hits/").status_code == 404
    assert other.get("/api/v1/screening-models/").json()["count"] == 0


def test_model_create_errors_are_400s(api, people):
    client = api(people.kunshan_supervisor)
    ds_id = upload(client).json()["id"]
    base = {"name": "x", "org_unit": "kunshan", "template": "repeat_winner", "datasets": {"awards": ds_id}}
    assert client.post("/api/v1/screening-models/", {**base, "params": {**PARAMS, "winner_field": "无此列"}},
                       format="json").status_code == 400
    assert client.post("/api/v1/screening-models/", {**base, "template": "nope", "params": PARAMS},
                       format="json").status_code == 400
    # A dataset of another county is as good as unknown.
    theirs = upload(api(people.changshu_supervisor), unit="changshu").json()["id"]
    r = client.post("/api/v1/screening-models/", {**base, "params": PARAMS, "datasets": {"awards": theirs}},
                    format="json")
    assert r.status_code == 400 and "datasets" in r.json()


def test_a_custom_spec_and_the_factory_preview(api, people):
    client = api(people.kunshan_supervisor)
    ds_id = upload(client).json()["id"]
    spec = {"steps": [
        {"id": "src", "type": "source", "dataset": "d"},
        {"id": "big", "type": "filter", "input": "src", "conditions": [{"field": "金额", "op": ">=", "value": 6}]},
        {"id": "out", "type": "emit", "input": "big", "subject_field": "中标人", "title": "{中标人} {金额}"},
    ]}
    r = client.post("/api/v1/screening-specs/preview/", {"spec": spec, "datasets": {"d": ds_id}, "step": "big"},
                    format="json")
    assert r.status_code == 200 and [row["金额"] for row in r.json()["rows"]] == [6, 7]
    bad = {"steps": [spec["steps"][0], {**spec["steps"][1], "conditions": [{"field": "x", "op": "="}]}]}
    r = client.post("/api/v1/screening-specs/preview/", {"spec": bad, "datasets": {"d": ds_id}}, format="json")
    assert r.status_code == 400 and r.json()["step"] == "big"
    r = client.post("/api/v1/screening-models/", {"name": "大额", "org_unit": "kunshan", "spec": spec,
                                                  "datasets": {"d": ds_id}}, format="json")
    assert r.status_code == 201 and r.json()["template"] == ""
    templates = client.get("/api/v1/screening-templates/").json()
    assert len(templates) == 13 and all(t["description_zh"] and t["description_en"] for t in templates)


def test_editing_an_active_model_through_the_api_makes_version_2(api, people):
    client = api(people.kunshan_supervisor)
    ds_id = upload(client).json()["id"]
    m = client.post("/api/v1/screening-models/", {"name": "标王", "org_unit": "kunshan", "status": "active",
                                                  "template": "repeat_winner", "datasets": {"awards": ds_id},
                                                  "params": PARAMS}, format="json").json()
    r = client.patch(f"/api/v1/screening-models/{m['id']}/", {"params": {**PARAMS, "min_count": 3}}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["id"] != m["id"]
    r = client.post(f"/api/v1/screening-models/{m['id']}/copy/", {}, format="json")
    assert r.status_code == 201 and r.json()["origin"] == m["id"]


@pytest.mark.parametrize("body", [
    {"spec": {"steps": [{"id": "s", "type": "source", "dataset": "d"},
                        {"id": "k", "type": "keyword", "input": "s",
                         "conditions": [{"field": "中标人", "any_of": 5}]}]}},
    {"spec": {"steps": [{"id": "s", "type": "source", "dataset": "d"}, {"id": "f", "type": "filter", "input": "s",
                                                                      "conditions": [{"field": ["x"], "op": "="}]}]}},
    {"spec": {"steps": "nope"}},
    {"spec": {"steps": [{"id": "s", "type": "source", "dataset": "d"}]}, "step": ["s"]},
    {"spec": {"steps": [{"id": "s", "type": "source", "dataset": "d"}]}, "limit": "abc"},
    {"spec": [1, 2], "datasets": [1]},
])
def test_hostile_specs_are_400s_never_500s(api, people, body):
    client = api(people.kunshan_supervisor)
    ds_id = upload(client).json()["id"]
    payload = {"datasets": {"d": ds_id}, **body}
    assert client.post("/api/v1/screening-specs/preview/", payload, format="json").status_code == 400
    model = {"name": "x", "org_unit": "kunshan", "spec": body["spec"], "datasets": body.get("datasets", {"d": ds_id})}
    assert client.post("/api/v1/screening-models/", model, format="json").status_code == 400
