"""The shared warehouse: every unit sees every unit's published models, never their data; copying
another unit's model onto your own data with a column mapping; the card in words; preview;
special projects."""

from __future__ import annotations

import pytest
from django.utils import translation

from alerts.states import Status
from screening import describe, services
from screening.models import ModelStatus, ScreeningModel, SpecialProject

pytestmark = pytest.mark.django_db

KUNSHAN_CSV = ("采购人,中标人,中标日期,金额\n教育局,甲公司,2024-01-01,100\n教育局,甲公司,2024-01-05,200\n"
               "教育局,甲公司,2024-01-09,300\n卫健委,乙公司,2024-01-01,50\n")
# Changshu's own export: other headers for the same meaning, plus a column of the wrong type.
CHANGSHU_CSV = ("招标单位,供应商名称,成交日期,成交金额\n交通局,丙公司,2024-03-01,10\n交通局,丙公司,2024-03-02,20\n"
                "交通局,丙公司,2024-03-03,30\n水利局,丁公司,2024-03-01,40\n")
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 3, "amount_field": "金额"}
MAPPING = {"awards": {"采购人": "招标单位", "中标人": "供应商名称", "中标日期": "成交日期", "金额": "成交金额"}}


@pytest.fixture
def kunshan_model(make_dataset, people, org):
    ds = make_dataset(KUNSHAN_CSV, name="昆山中标")
    return services.screening_model_create(
        by=people.kunshan_supervisor, name="昆山标王", org_unit=org.kunshan, datasets={"awards": ds},
        template="repeat_winner", params=PARAMS, status="active", supervision_points="同一中标人反复中标")


@pytest.fixture
def changshu_ds(make_dataset, org):
    return make_dataset(CHANGSHU_CSV, name="常熟成交", unit=org.changshu)


def test_a_county_sees_another_countys_published_model_but_not_its_drafts(api, people, kunshan_model, make_dataset,
                                                                          org):
    draft = services.screening_model_create(
        by=people.kunshan_supervisor, name="昆山草稿", org_unit=org.kunshan,
        datasets={"awards": make_dataset(KUNSHAN_CSV)}, template="repeat_winner", params=PARAMS)
    changshu = api(people.changshu_supervisor)
    names = [m["name"] for m in changshu.get("/api/v1/screening-models/").json()["results"]]
    assert "昆山标王" in names and "昆山草稿" not in names
    assert changshu.get(f"/api/v1/screening-models/{kunshan_model.pk}/").status_code == 200
    assert changshu.get(f"/api/v1/screening-models/{draft.pk}/").status_code == 404
    # The data, the runs and editing stay with Kunshan.
    ds_id = kunshan_model.dataset_links.get().dataset_id
    assert changshu.get(f"/api/v1/datasets/{ds_id}/").status_code == 404
    assert changshu.get(f"/api/v1/screening-models/{kunshan_model.pk}/runs/").status_code == 404
    assert changshu.post(f"/api/v1/screening-models/{kunshan_model.pk}/runs/").status_code == 404
    assert changshu.patch(f"/api/v1/screening-models/{kunshan_model.pk}/", {"name": "x"},
                          format="json").status_code == 404


def test_the_warehouse_filters_by_template_and_unit(api, people, kunshan_model):
    changshu = api(people.changshu_supervisor)
    assert changshu.get("/api/v1/screening-models/?template=repeat_winner&unit=kunshan").json()["count"] == 1
    assert changshu.get("/api/v1/screening-models/?template=keyword_match").json()["count"] == 0


def test_copy_with_a_column_mapping_makes_a_draft_that_runs_on_your_data(api, people, kunshan_model, changshu_ds,
                                                                         run_model):
    r = api(people.changshu_supervisor).post(
        f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
        {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": MAPPING}, format="json")
    assert r.status_code == 201, r.json()
    copy = ScreeningModel.objects.get(pk=r.json()["id"])
    assert copy.status == ModelStatus.DRAFT and copy.origin_id == kunshan_model.pk
    assert copy.org_unit.code == "changshu" and copy.template == "repeat_winner"
    assert copy.params["buyer_field"] == "招标单位" and copy.params["amount_field"] == "成交金额"
    services.screening_model_update(model_id=copy.pk, by=people.changshu_supervisor,
                                    changes={"status": ModelStatus.ACTIVE})
    copy.refresh_from_db()
    _model, run = run_model("repeat_winner", {}, {}, model=copy)
    assert run.status == "succeeded" and run.hit_count == 1
    assert run.hits.get().subject == "丙公司" and run.hits.get().alert.org_unit.code == "changshu"


def test_a_copy_that_leaves_a_used_column_unmapped_is_a_400_naming_it(api, people, kunshan_model, changshu_ds):
    partial = {"awards": {k: v for k, v in MAPPING["awards"].items() if k != "中标日期"}}
    r = api(people.changshu_supervisor).post(
        f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
        {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": partial}, format="json")
    assert r.status_code == 400
    assert "column_map" in r.json() and "中标日期" in str(r.json()["column_map"])
    assert ScreeningModel.objects.count() == 1


def test_a_copy_mapping_to_a_column_of_the_wrong_type_or_a_missing_one_is_refused(api, people, kunshan_model,
                                                                                   changshu_ds):
    wrong = {"awards": {**MAPPING["awards"], "中标日期": "招标单位"}}
    client = api(people.changshu_supervisor)
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
                    {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": wrong},
                    format="json")
    assert r.status_code == 400 and "招标单位" in str(r.json()["column_map"])
    missing = {"awards": {**MAPPING["awards"], "金额": "没有这列"}}
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
                    {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": missing},
                    format="json")
    assert r.status_code == 400 and "没有这列" in str(r.json()["column_map"])
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
                    {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": ["x"]},
                    format="json")
    assert r.status_code == 400


def test_a_county_cannot_copy_onto_another_countys_data_or_into_another_unit(api, people, kunshan_model,
                                                                             changshu_ds):
    ds_id = kunshan_model.dataset_links.get().dataset_id
    client = api(people.changshu_supervisor)
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
                    {"org_unit": "changshu", "datasets": {"awards": ds_id}}, format="json")
    assert r.status_code == 400 and "datasets" in r.json()
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
                    {"org_unit": "kunshan", "datasets": {"awards": changshu_ds.pk}, "column_map": MAPPING},
                    format="json")
    assert r.status_code == 400 and "org_unit" in r.json()
    # Copying without datasets would bind Kunshan's data: refused for a model outside your scope.
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/copy/", {"org_unit": "changshu"}, format="json")
    assert r.status_code == 400 and "datasets" in r.json()


def test_a_verifier_may_not_copy(api, people, kunshan_model, changshu_ds):
    r = api(people.changshu_verifier).post(
        f"/api/v1/screening-models/{kunshan_model.pk}/copy/",
        {"org_unit": "changshu", "datasets": {"awards": changshu_ds.pk}, "column_map": MAPPING}, format="json")
    assert r.status_code == 403


def test_columns_are_suggested_by_name_and_type(kunshan_model, make_dataset):
    ds = make_dataset("采购人名称,中标人,中标日期,金额\n甲,乙,2024-01-01,1\n")
    used = services.model_columns_used(kunshan_model)["awards"]
    assert {c["name"] for c in used} == {"采购人", "中标人", "中标日期", "金额"}
    assert services.column_suggestions(used, ds) == {"采购人": "采购人名称", "中标人": "中标人", "中标日期": "中标日期",
                                                     "金额": "金额"}


def test_the_rule_reads_as_chinese_sentences(kunshan_model):
    with translation.override("zh-hans"):
        sentences = [s["sentence"] for s in describe.rule_sentences(kunshan_model.spec)]
        svg = describe.diagram_svg(kunshan_model.spec)
    assert "同一“采购人”、“中标人”在任意 30 天内（按“中标日期”）不少于 3 次。" in sentences
    assert not any("_window" in s or "window_days" in s for s in sentences)
    assert svg.startswith("<svg") and "生成预警" in svg and "<script" not in svg


def test_the_diagram_escapes_names(make_dataset, people, org):
    spec = {"steps": [{"id": "src", "type": "source", "dataset": "records"},
                      {"id": "kw", "type": "keyword", "input": "src",
                       "conditions": [{"field": "<b>x</b>", "any_of": ["<script>"]}]},
                      {"id": "out", "type": "emit", "input": "kw"}]}
    svg = describe.diagram_svg(spec)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_preview_counts_hits_new_and_matching_alerts_and_saves_nothing(api, people, kunshan_model, run_model):
    client = api(people.kunshan_supervisor)
    before = ScreeningModel.objects.count()
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/preview/")
    assert r.status_code == 200
    assert r.json()["hits"] == 1 and r.json()["new"] == 1 and r.json()["samples"][0]["reason"]
    run_model("repeat_winner", {}, {}, model=kunshan_model)
    r = client.post(f"/api/v1/screening-models/{kunshan_model.pk}/preview/").json()
    assert r["new"] == 0 and r["matching_open"] == 1
    assert ScreeningModel.objects.count() == before
    assert api(people.changshu_supervisor).post(f"/api/v1/screening-models/{kunshan_model.pk}/preview/").status_code \
        == 404


def test_results_per_version_count_distinct_hits_once(people, kunshan_model, run_model):
    from screening import selectors

    run_model("repeat_winner", {}, {}, model=kunshan_model)
    run_model("repeat_winner", {}, {}, model=kunshan_model)
    v1, total = selectors.version_results(kunshan_model)
    assert v1["runs"] == 2 and v1["hits"] == 1 and v1["alerts_raised"] == 1
    assert total["hits"] == 1 and total["substantiation_rate"] is None


def test_typical_cases_outside_your_scope_show_only_the_outcome(client, people, kunshan_model, run_model):
    from screening import selectors

    _m, run = run_model("repeat_winner", {}, {}, model=kunshan_model)
    alert = run.hits.get().alert
    type(alert).objects.filter(pk=alert.pk).update(status=Status.CLOSED, conclusion="substantiated")
    mine = selectors.typical_cases_for(people.kunshan_supervisor, kunshan_model)
    theirs = selectors.typical_cases_for(people.changshu_supervisor, kunshan_model)
    assert mine[0]["alert"].pk == alert.pk and theirs[0]["alert"] is None and theirs[0]["unit"]
    client.force_login(people.changshu_supervisor)
    page = client.get(f"/screening/models/{kunshan_model.pk}/").content.decode()
    assert alert.title not in page and "甲公司" not in page


# ----- special projects -----

def test_the_city_creates_a_project_a_county_sees_it_with_per_unit_counts(api, people, kunshan_model, org):
    city = api(people.city_supervisor)
    r = city.post("/api/v1/special-projects/", {
        "name": "工程招投标专项", "lead_unit": "suzhou", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "models": [kunshan_model.pk], "units": ["kunshan", "changshu"]}, format="json")
    assert r.status_code == 201, r.json()
    pid = r.json()["id"]
    assert {u["org_unit"] for u in r.json()["per_unit"]} == {"suzhou", "kunshan", "changshu"}
    kunshan = api(people.kunshan_supervisor)
    detail = kunshan.get(f"/api/v1/special-projects/{pid}/").json()
    assert [u["org_unit"] for u in detail["per_unit"]] == ["kunshan"]  # only units in its scope
    assert set(detail["per_unit"][0]) >= {"alerts", "stages", "substantiated", "cases_filed", "amount_recovered"}
    assert kunshan.patch(f"/api/v1/special-projects/{pid}/", {"name": "改名"}, format="json").status_code == 404
    assert kunshan.delete(f"/api/v1/special-projects/{pid}/").status_code == 404
    assert city.patch(f"/api/v1/special-projects/{pid}/", {"units": ["kunshan"]}, format="json").status_code == 200
    assert api(people.changshu_supervisor).get(f"/api/v1/special-projects/{pid}/").status_code == 404
    assert city.delete(f"/api/v1/special-projects/{pid}/").status_code == 204
    assert not SpecialProject.objects.exists()


def test_a_project_is_deployed_only_below_its_lead_unit(api, people):
    r = api(people.kunshan_supervisor).post("/api/v1/special-projects/", {
        "name": "专项", "lead_unit": "kunshan", "units": ["changshu"]}, format="json")
    assert r.status_code == 400 and "units" in r.json()
    r = api(people.kunshan_supervisor).post("/api/v1/special-projects/", {
        "name": "专项", "lead_unit": "kunshan", "start_date": "2026-02-01", "end_date": "2026-01-01"}, format="json")
    assert r.status_code == 400 and "end_date" in r.json()
    r = api(people.kunshan_verifier).post("/api/v1/special-projects/", {"name": "专项", "lead_unit": "kunshan"},
                                          format="json")
    assert r.status_code == 403


# ----- the factory fixes -----

def test_saving_edited_steps_of_a_template_model_uses_them_and_refuses_a_spec_that_does_not_compile(
        api, people, kunshan_model):
    client = api(people.kunshan_supervisor)
    spec = kunshan_model.spec
    broken = {"steps": [*spec["steps"][:-1], {**spec["steps"][-1], "subject_field": "没有这列"}]}
    r = client.patch(f"/api/v1/screening-models/{kunshan_model.pk}/", {"spec": broken}, format="json")
    assert r.status_code == 400 and "没有这列" in str(r.json()["spec"])
    assert ScreeningModel.objects.filter(code=kunshan_model.code).count() == 1  # nothing saved
    edited = {"steps": [*spec["steps"][:-1], {**spec["steps"][-1], "subject_field": "采购人"}]}
    r = client.patch(f"/api/v1/screening-models/{kunshan_model.pk}/", {"spec": edited}, format="json")
    assert r.status_code == 200
    saved = ScreeningModel.objects.get(pk=r.json()["id"])
    assert saved.spec["steps"][-1]["subject_field"] == "采购人" and saved.template == ""
    assert saved.supervision_points == "同一中标人反复中标"


def test_the_project_page_lists_its_own_models_and_offers_a_copy(client, people, kunshan_model, make_dataset, org):
    other = services.screening_model_create(
        by=people.kunshan_supervisor, name="另一个模型", org_unit=org.kunshan,
        datasets={"awards": make_dataset(KUNSHAN_CSV)}, template="repeat_winner", params=PARAMS, status="active")
    project = services.special_project_save(by=people.city_supervisor, name="专项", lead_unit=org.city,
                                            models=[kunshan_model], units=[org.changshu])
    client.force_login(people.changshu_supervisor)
    page = client.get(f"/screening/projects/{project.pk}/").content.decode()
    assert "昆山标王" in page and other.name not in page
    assert f"/screening/models/{kunshan_model.pk}/copy/" in page


def test_an_alert_raised_by_a_projects_model_carries_the_project(api, people, kunshan_model, changshu_ds, org,
                                                                  run_model):
    project = services.special_project_save(by=people.city_supervisor, name="工程招投标专项", lead_unit=org.city,
                                            models=[kunshan_model], units=[org.kunshan, org.changshu])
    _m, run = run_model("repeat_winner", {}, {}, model=kunshan_model)
    alert = run.hits.get().alert
    assert alert.details["projects"] == [{"id": project.pk, "name": "工程招投标专项"}]
    assert "工程招投标专项" in alert.tags
    # A county's copy of the project's model counts for the project too.
    copy = services.screening_model_copy_mapped(model=kunshan_model, by=people.changshu_supervisor,
                                                org_unit=org.changshu, datasets={"awards": changshu_ds},
                                                column_map=MAPPING)
    services.screening_model_update(model_id=copy.pk, by=people.changshu_supervisor, changes={"status": "active"})
    copy.refresh_from_db()
    _m, run = run_model("repeat_winner", {}, {}, model=copy)
    assert run.hits.get().alert.details["projects"][0]["id"] == project.pk
    figures = {u["org_unit"]: u for u in api(people.city_supervisor).get(
        f"/api/v1/special-projects/{project.pk}/").json()["per_unit"]}
    assert figures["kunshan"]["alerts"] == 1 and figures["changshu"]["alerts"] == 1
    assert figures["suzhou"]["alerts"] == 2 and figures["suzhou"]["stages"]["warning"] == 2


def test_the_per_unit_project_figures_equal_a_recount_unit_by_unit(api, people, kunshan_model, org, make_alert,
                                                                   source):
    """The grouped per-unit figures against the plain count of each unit's subtree."""
    from decimal import Decimal

    from alerts.states import Conclusion
    from cases.models import Disposition
    from screening.selectors import project_alerts, project_unit_figures
    from workflow import rollups

    r = api(people.city_supervisor).post("/api/v1/special-projects/", {
        "name": "专项", "lead_unit": "suzhou", "models": [kunshan_model.pk], "units": ["kunshan", "changshu"]},
        format="json")
    project = SpecialProject.objects.get(pk=r.json()["id"])
    type(source).objects.filter(pk=source.pk).update(kind="screening")
    alerts = [make_alert(org_unit=unit, rule_code=kunshan_model.code, status=status, conclusion=conclusion)
              for unit, status, conclusion in [
                  (org.kunshan, Status.CLOSED, Conclusion.SUBSTANTIATED), (org.kunshan_office, Status.WARNING, ""),
                  (org.changshu, Status.CLOSED, Conclusion.UNFOUNDED), (org.city, Status.ASSIGNED, "")]]
    for i, alert in enumerate(alerts[:3]):
        for n in range(2):  # an older and a newer disposition: only the newer counts
            Disposition.objects.create(alert=alert, decided_by=people.kunshan_supervisor, outcome="form_1",
                                       case_filed=bool((i + n) % 2),
                                       amount_recovered=Decimal(100 * (i + 1) + n))
    rollups.rebuild()  # the rows above were written by hand, not through the services
    rows = project_unit_figures(people.city_leader, project)
    assert [r["org_unit"] for r in rows] == ["suzhou", "changshu", "kunshan"]
    for row in rows:
        unit = type(org.city).objects.get(code=row["org_unit"])
        mine = project_alerts(project).filter(org_unit__path__startswith=unit.path)
        latest = {}
        for d in Disposition.objects.filter(alert__in=mine).order_by("-created_at", "-id"):
            latest.setdefault(d.alert_id, d)
        assert row["alerts"] == mine.count() and sum(row["stages"].values()) == mine.count()
        assert row["substantiated"] == mine.filter(conclusion=Conclusion.SUBSTANTIATED).count()
        assert row["cases_filed"] == sum(1 for d in latest.values() if d.case_filed)
        assert row["amount_recovered"] == sum((d.amount_recovered for d in latest.values()), Decimal(0))
    assert rows[0]["alerts"] == 4 and rows[0]["amount_recovered"] > 0
