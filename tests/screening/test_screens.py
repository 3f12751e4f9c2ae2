"""The warehouse screens render, are scoped, and drive the same services as the API."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from screening import services
from screening.models import Dataset, RunStatus, ScreeningRun

pytestmark = pytest.mark.django_db

CSV = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


@pytest.fixture
def model(make_dataset, people, org):
    ds = make_dataset(CSV)
    return services.screening_model_create(by=people.kunshan_supervisor, name="标王模型", org_unit=org.kunshan,
                                           datasets={"awards": ds}, template="repeat_winner", params=PARAMS,
                                           status="active", supervision_points="同一中标人反复中标")


def test_warehouse_lists_filters_and_searches(client, people, model):
    client.force_login(people.kunshan_supervisor)
    page = client.get("/screening/").content.decode()
    assert "标王模型" in page and "form-keyword_match" in page
    assert "标王模型" in client.get("/screening/?q=反复&status=active&domain=procurement").content.decode()
    assert "标王模型" not in client.get("/screening/?status=draft").content.decode()
    # The warehouse is shared: another county sees the published card (not the data).
    client.force_login(people.changshu_supervisor)
    assert "标王模型" in client.get("/screening/").content.decode()


def test_model_card_is_shared_when_published_and_404_as_a_draft_out_of_scope(client, people, model):
    client.force_login(people.kunshan_supervisor)
    page = client.get(f"/screening/models/{model.pk}/").content.decode()
    assert model.code in page and "spec-diagram" in page and "run-model" in page
    client.force_login(people.changshu_supervisor)
    page = client.get(f"/screening/models/{model.pk}/").content.decode()
    assert "spec-diagram" in page and "run-model" not in page and "/screening/datasets/" not in page
    services.screening_model_update(model_id=model.pk, by=people.kunshan_supervisor, changes={"status": "draft"})
    assert client.get(f"/screening/models/{model.pk}/").status_code == 404


def test_run_button_runs_and_shows_progress(client, people, model, django_capture_on_commit_callbacks):
    client.force_login(people.kunshan_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/screening/models/{model.pk}/action/", {"action": "run"})
    run = ScreeningRun.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/screening/runs/{run.pk}/")
    assert run.status == RunStatus.SUCCEEDED
    page = client.get(f"/screening/runs/{run.pk}/").content.decode()
    assert "甲公司" in page and "screening/run.js" in page


def test_upload_screen_imports_and_previews_or_names_the_error(client, people):
    client.force_login(people.kunshan_supervisor)
    f = SimpleUploadedFile("a.csv", CSV.encode("gb18030"))
    r = client.post("/screening/datasets/", {"name": "中标", "org_unit": "kunshan", "file": f})
    ds = Dataset.objects.get()
    assert r.status_code == 302
    page = client.get(f"/screening/datasets/{ds.pk}/").content.decode()
    assert "2024-01-02" in page and "date" in page
    bad = SimpleUploadedFile("b.csv", b"a,b\n1,2\n3\n")
    page = client.post("/screening/datasets/", {"name": "坏", "org_unit": "kunshan", "file": bad}).content.decode()
    assert "upload-errors" in page and Dataset.objects.count() == 1


def test_factory_opens_a_built_in_model_and_an_existing_one(client, people, model):
    client.force_login(people.kunshan_supervisor)
    page = client.get("/screening/factory/?template=contract_splitting").content.decode()
    assert 'id="factory-data"' in page and "<script>" not in page.replace('<script src', '')
    page = client.get(f"/screening/factory/{model.pk}/")
    data = page.content.decode().split('id="factory-data" type="application/json">')[1].split("</script>")[0]
    start = json.loads(data)["start"]
    assert start["spec"] == model.spec and start["datasets"] == {"awards": model.dataset_links.get().dataset_id}
