"""Who may change the warehouse (roles), which datasets a model may read (its unit and below),
and what a clash of codes reveals (nothing about other units)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from alerts.models import Alert
from screening import services
from screening.models import Dataset, ModelStatus, ScreeningModel, ScreeningRun

pytestmark = pytest.mark.django_db

CSV = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


def body(template="repeat_winner", **kw):
    return {"name": "标王", "org_unit": "kunshan", "template": template, "params": PARAMS, **kw}


# ----- a model reads only datasets of its unit and below -----

def test_a_city_supervisor_cannot_bind_a_kunshan_dataset_to_a_changshu_model(api, people, make_dataset):
    kunshan_ds = make_dataset(CSV)  # kunshan
    city = api(people.city_supervisor)  # sees both counties
    r = city.post("/api/v1/screening-models/", body(org_unit="changshu", datasets={"awards": kunshan_ds.pk}),
                  format="json")
    assert r.status_code == 400 and "datasets" in r.json(), r.content
    assert not ScreeningModel.objects.exists()
    # The same dataset in a model of kunshan, or of the city above it, is fine.
    for unit in ("kunshan", "suzhou"):
        r = city.post("/api/v1/screening-models/", body(org_unit=unit, datasets={"awards": kunshan_ds.pk}),
                      format="json")
        assert r.status_code == 201, r.content


def test_changing_the_datasets_of_a_model_rechecks_the_unit(api, people, make_dataset, org):
    changshu_ds = make_dataset(CSV, unit=org.changshu)
    own = make_dataset(CSV, unit=org.changshu)
    city = api(people.city_supervisor)
    m = city.post("/api/v1/screening-models/", body(org_unit="changshu", datasets={"awards": own.pk}),
                  format="json").json()
    kunshan_ds = make_dataset(CSV)
    r = city.patch(f"/api/v1/screening-models/{m['id']}/", {"datasets": {"awards": kunshan_ds.pk}}, format="json")
    assert r.status_code == 400 and "datasets" in r.json()
    r = city.patch(f"/api/v1/screening-models/{m['id']}/", {"datasets": {"awards": changshu_ds.pk}}, format="json")
    assert r.status_code == 200


def test_a_copy_into_another_unit_rechecks_the_datasets(api, people, make_dataset):
    kunshan_ds = make_dataset(CSV)
    city = api(people.city_supervisor)
    m = city.post("/api/v1/screening-models/", body(datasets={"awards": kunshan_ds.pk}), format="json").json()
    r = city.post(f"/api/v1/screening-models/{m['id']}/copy/", {"org_unit": "changshu"}, format="json")
    assert r.status_code == 400 and "datasets" in r.json()
    assert ScreeningModel.objects.count() == 1
    r = city.post(f"/api/v1/screening-models/{m['id']}/copy/", {"org_unit": "suzhou"}, format="json")
    assert r.status_code == 201


def test_a_model_bound_wrongly_before_the_check_cannot_run_but_can_be_retired(make_dataset, people, org):
    kunshan_ds = make_dataset(CSV)
    own = make_dataset(CSV, unit=org.changshu)
    m = services.screening_model_create(by=people.changshu_supervisor, name="x", org_unit=org.changshu,
                                        datasets={"awards": own}, template="repeat_winner", params=PARAMS,
                                        status="active")
    m.dataset_links.update(dataset=kunshan_ds)  # as stored by the old code
    with pytest.raises(ValidationError) as exc:
        services.screening_run_start(model=m, by=people.changshu_supervisor)
    assert "datasets" in exc.value.message_dict
    assert not ScreeningRun.objects.exists() and not Alert.objects.exists()
    retired = services.screening_model_update(model_id=m.pk, by=people.changshu_supervisor,
                                              changes={"status": ModelStatus.RETIRED})
    assert retired.status == ModelStatus.RETIRED


# ----- roles -----

@pytest.mark.parametrize("who", ["kunshan_verifier", "kunshan_leader", "city_leader"])
def test_verifiers_and_leaders_read_but_cannot_write(api, people, make_dataset, run_model, who):
    ds = make_dataset(CSV)
    model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    reader = api(getattr(people, who))
    for url in ("/api/v1/datasets/", f"/api/v1/datasets/{ds.pk}/", f"/api/v1/datasets/{ds.pk}/preview/",
                "/api/v1/screening-models/", f"/api/v1/screening-models/{model.pk}/",
                f"/api/v1/screening-models/{model.pk}/runs/", f"/api/v1/screening-models/{model.pk}/results/",
                f"/api/v1/screening-runs/{run.pk}/", f"/api/v1/screening-runs/{run.pk}/hits/",
                "/api/v1/screening-templates/"):
        assert reader.get(url).status_code == 200, url
    # The preview runs a query: only roles that build models may (issue 10, denial of service).
    preview = {"spec": model.spec, "datasets": {"awards": ds.pk}}
    assert reader.post("/api/v1/screening-specs/preview/", preview, format="json").status_code == 403

    f = SimpleUploadedFile("a.csv", CSV.encode(), content_type="text/csv")
    writes = [
        reader.post("/api/v1/datasets/", {"name": "x", "file": f, "org_unit": "kunshan"}, format="multipart"),
        reader.post("/api/v1/screening-models/", body(datasets={"awards": ds.pk}), format="json"),
        reader.patch(f"/api/v1/screening-models/{model.pk}/", {"name": "改"}, format="json"),
        reader.patch(f"/api/v1/screening-models/{model.pk}/", {"status": "retired"}, format="json"),
        reader.post(f"/api/v1/screening-models/{model.pk}/copy/", {}, format="json"),
        reader.post(f"/api/v1/screening-models/{model.pk}/runs/"),
    ]
    for r in writes:
        assert r.status_code == 403, r.content
        assert "Only supervisors and administrators" in r.json()["detail"]
    assert (Dataset.objects.count(), ScreeningModel.objects.count(), ScreeningRun.objects.count()) == (1, 1, 1)
    assert ScreeningModel.objects.get().name == "repeat_winner"


def test_an_administrator_may_write(api, people, make_dataset):
    admin = people.kunshan_verifier
    admin.role = "admin"
    admin.save()
    ds = make_dataset(CSV)
    r = api(admin).post("/api/v1/screening-models/", body(datasets={"awards": ds.pk}), format="json")
    assert r.status_code == 201


def test_the_services_refuse_readers_too(make_dataset, people, org):
    ds = make_dataset(CSV)
    with pytest.raises(services.Forbidden):
        services.screening_model_create(by=people.kunshan_verifier, name="x", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="x", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    for call in (
        lambda: services.screening_model_update(model_id=m.pk, by=people.kunshan_leader, changes={"name": "y"}),
        lambda: services.screening_model_copy(model=m, by=people.kunshan_leader, org_unit=org.kunshan),
        lambda: services.screening_run_start(model=m, by=people.kunshan_verifier),
        lambda: services.dataset_create(name="x", org_unit=org.kunshan, by=people.kunshan_verifier,
                                        upload=SimpleUploadedFile("a.csv", CSV.encode())),
    ):
        with pytest.raises(services.Forbidden):
            call()


def test_screens_hide_and_refuse_writes_for_readers(client, people, make_dataset, org):
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="标王", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS,
                                        status="active")
    client.force_login(people.kunshan_verifier)
    html = client.get(f"/screening/models/{m.pk}/").content.decode()
    assert 'data-testid="run-model"' not in html and 'data-testid="copy-model"' not in html
    assert 'value="retire"' not in html and 'name="schedule"' not in html
    assert 'data-testid="new-model"' not in client.get("/screening/").content.decode()
    assert 'data-testid="upload-form"' not in client.get("/screening/datasets/").content.decode()
    assert 'data-testid="save-model"' not in client.get(f"/screening/factory/{m.pk}/").content.decode()
    for action in ("run", "copy", "retire", "schedule"):
        r = client.post(f"/screening/models/{m.pk}/action/", {"action": action, "schedule": "daily"})
        assert r.status_code == 403, action
    f = SimpleUploadedFile("a.csv", CSV.encode(), content_type="text/csv")
    r = client.post("/screening/datasets/", {"name": "x", "org_unit": "kunshan", "file": f})
    assert r.status_code == 403
    assert (Dataset.objects.count(), ScreeningModel.objects.count(), ScreeningRun.objects.count()) == (1, 1, 0)
    m.refresh_from_db()
    assert m.status == ModelStatus.ACTIVE and m.schedule == ""

    client.force_login(people.kunshan_supervisor)
    html = client.get(f"/screening/models/{m.pk}/").content.decode()
    assert 'data-testid="run-model"' in html and 'data-testid="copy-model"' in html
    assert 'data-testid="new-model"' in client.get("/screening/").content.decode()
    assert 'data-testid="upload-form"' in client.get("/screening/datasets/").content.decode()
    assert 'data-testid="save-model"' in client.get(f"/screening/factory/{m.pk}/").content.decode()


# ----- codes are global: a clash reveals nothing about other units -----

def test_a_taken_code_gives_the_same_answer_wherever_it_is_taken(api, people, make_dataset, org):
    theirs = make_dataset(CSV, unit=org.changshu)
    services.screening_model_create(by=people.changshu_supervisor, name="x", org_unit=org.changshu,
                                    datasets={"awards": theirs}, template="repeat_winner", params=PARAMS,
                                    code="secret-code")
    ds = make_dataset(CSV)
    client = api(people.kunshan_supervisor)
    client.post("/api/v1/screening-models/", body(datasets={"awards": ds.pk}, code="my-code"), format="json")
    elsewhere = client.post("/api/v1/screening-models/", body(datasets={"awards": ds.pk}, code="secret-code"),
                            format="json")
    here = client.post("/api/v1/screening-models/", body(datasets={"awards": ds.pk}, code="my-code"), format="json")
    assert elsewhere.status_code == here.status_code == 400
    assert elsewhere.json() == here.json()
    message = str(elsewhere.json())
    assert "unavailable" in message and "exists" not in message


def test_the_new_messages_are_translated_to_chinese(make_dataset, people, org):
    from django.utils import translation

    ds = make_dataset(CSV)
    with translation.override("zh-hans"):
        with pytest.raises(services.Forbidden) as forbidden:
            services.screening_run_start(model=None, by=people.kunshan_leader)  # refused before reading the model
        with pytest.raises(ValidationError) as outside:
            services.check_units(org.changshu, {"awards": ds})
    assert "只有案管人员和管理员" in forbidden.value.message
    assert "不属于模型所属单位" in outside.value.message_dict["datasets"][0]
