"""Hostile request input is a 4xx, never a 500."""

from __future__ import annotations

import pytest

from screening import services

pytestmark = pytest.mark.django_db

CSV = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


@pytest.fixture
def model(make_dataset, people, org):
    ds = make_dataset(CSV)
    return services.screening_model_create(by=people.kunshan_supervisor, name="标王", org_unit=org.kunshan,
                                           datasets={"awards": ds}, template="repeat_winner", params=PARAMS)


@pytest.mark.parametrize("payload", [[1, 2], ["org_unit"], "text", 5, {"datasets": [1]}, {"org_unit": ["x"]},
                                     {"org_unit": "²"}, {"org_unit": "kun\x00shan"}, {"datasets": {"awards": "²"}},
                                     {"datasets": {"awards\x00": 1}}, {"name": ["x"]}])
def test_copy_with_a_hostile_body_is_a_400(api, people, model, payload):
    r = api(people.kunshan_supervisor).post(f"/api/v1/screening-models/{model.pk}/copy/", payload, format="json")
    assert r.status_code == 400, r.content


@pytest.mark.parametrize("field", [{"org_unit": "²"}, {"org_unit": "¹²³"}, {"org_unit": "\x00"},
                                   {"datasets": {"awards": "²"}}, {"datasets": {"awards": "１"}},
                                   {"datasets": {"awards": 1.5}}, {"datasets": {"awards": [1]}},
                                   {"datasets": {"awards": True}}])
def test_non_ascii_digits_and_nuls_in_ids_are_400s(api, people, model, field):
    client = api(people.kunshan_supervisor)
    ds_id = model.dataset_links.get().dataset_id
    payload = {"name": "x", "org_unit": "kunshan", "template": "repeat_winner", "params": PARAMS,
               "datasets": {"awards": ds_id}, **field}
    r = client.post("/api/v1/screening-models/", payload, format="json")
    assert r.status_code == 400, r.content
    assert client.post("/api/v1/screening-specs/preview/", {"spec": model.spec, **field}
                       if "datasets" in field else {"spec": model.spec, "datasets": {"awards": "²"}},
                       format="json").status_code == 400


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "unit=%00", "domain=%00", "status=%00",
                                   "q=%00&unit=kun%00shan&domain=x%00"])
def test_nul_in_list_filters_is_harmless(api, client, people, model, query):
    r = api(people.kunshan_supervisor).get(f"/api/v1/screening-models/?{query}")
    assert r.status_code == 200, r.content
    client.force_login(people.kunshan_supervisor)
    assert client.get(f"/screening/?{query}").status_code == 200
    assert api(people.kunshan_supervisor).get("/api/v1/screening-models/?q=%00").json()["count"] == 1


def test_a_nul_in_the_upload_unit_is_a_400(api, people):
    from django.core.files.uploadedfile import SimpleUploadedFile

    f = SimpleUploadedFile("a.csv", CSV.encode(), content_type="text/csv")
    r = api(people.kunshan_supervisor).post("/api/v1/datasets/", {"name": "x", "file": f, "org_unit": "kun\x00"},
                                            format="multipart")
    assert r.status_code == 400
