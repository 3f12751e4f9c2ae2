"""Supervision fields as an editable table, free tags on alerts and models, and business systems'
embedded indicators with their results."""

from __future__ import annotations

import pytest
from django.utils import translation

from alerts.domains import domain_choices, domain_names
from alerts.models import Alert, SourceIndicator, SupervisionDomain
from alerts.states import Status
from screening import services
from tests.conftest import SOURCE_KEY

pytestmark = pytest.mark.django_db

CSV = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


def push(client, items):
    return client.post("/api/v1/intake/alerts/", items, format="json", HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")


def test_the_fields_are_seeded_with_the_citys_names_and_the_stored_codes_keep_their_meaning():
    names = {d.code: d.name for d in SupervisionDomain.objects.all()}
    assert names["procurement"] == "招标采购" and names["rural_assets"] == "农村集体“三资”"
    seeded = {"教育医疗", "养老社保", "惠民资金", "资源交易", "审批监管", "安全环保", "综合执法", "四风问题"}
    assert seeded <= set(names.values())
    with translation.override("zh-hans"):
        assert domain_names()["subsidies"] == "惠民资金"
        assert ("four_winds", "四风问题") in domain_choices()


def test_an_administrator_renames_and_hides_a_field(client, people, make_dataset, org):
    SupervisionDomain.objects.filter(code="procurement").update(name="工程招投标")
    SupervisionDomain.objects.filter(code="land").update(is_active=False)
    with translation.override("zh-hans"):
        assert "land" not in dict(domain_choices()) and domain_names()["land"]  # still named where it is used
    services.screening_model_create(by=people.kunshan_supervisor, name="标王", org_unit=org.kunshan,
                                    datasets={"awards": make_dataset(CSV)}, template="repeat_winner", params=PARAMS,
                                    status="active")
    client.force_login(people.kunshan_supervisor)
    page = client.get("/screening/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工程招投标" in page


def test_a_business_system_may_push_the_new_fields_and_the_old_codes(api, source, org):
    r = push(api(), [{"dedup_key": "a", "domain": "four_winds", "org_unit": "kunshan"},
                     {"dedup_key": "b", "domain": "procurement", "org_unit": "kunshan"}])
    assert r.status_code == 201, r.json()
    assert set(Alert.objects.values_list("domain", flat=True)) == {"four_winds", "procurement"}
    assert push(api(), [{"dedup_key": "c", "domain": "no-such-field"}]).status_code == 400


def test_alerts_carry_free_tags(api, people, make_alert):
    alert = make_alert()
    r = api(people.kunshan_supervisor).put(f"/api/v1/alerts/{alert.pk}/tags/", {"tags": [" 专项 ", "重点", "专项"]},
                                           format="json")
    assert r.status_code == 200 and r.json()["tags"] == ["专项", "重点"]
    assert api(people.kunshan_supervisor).get(f"/api/v1/alerts/{alert.pk}/").json()["tags"] == ["专项", "重点"]
    assert api(people.kunshan_verifier).put(f"/api/v1/alerts/{alert.pk}/tags/", {"tags": ["x"]},
                                            format="json").status_code == 403
    assert api(people.changshu_supervisor).put(f"/api/v1/alerts/{alert.pk}/tags/", {"tags": ["x"]},
                                               format="json").status_code == 404
    assert api(people.kunshan_supervisor).put(f"/api/v1/alerts/{alert.pk}/tags/", {"tags": ["长" * 40]},
                                              format="json").status_code == 400
    alert.refresh_from_db()
    assert alert.tags == ["专项", "重点"]


def test_models_carry_free_tags_without_a_new_version_and_the_warehouse_filters_by_them(api, people, make_dataset,
                                                                                       org):
    model = services.screening_model_create(by=people.kunshan_supervisor, name="标王", org_unit=org.kunshan,
                                            datasets={"awards": make_dataset(CSV)}, template="repeat_winner",
                                            params=PARAMS, status="active")
    client = api(people.kunshan_supervisor)
    r = client.put(f"/api/v1/screening-models/{model.pk}/tags/", {"tags": ["招投标", "重点"]}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["tags"] == ["招投标", "重点"]
    changshu = api(people.changshu_supervisor)
    assert changshu.get("/api/v1/screening-models/?tag=重点").json()["count"] == 1
    assert changshu.get("/api/v1/screening-models/?tag=别的").json()["count"] == 0
    assert changshu.put(f"/api/v1/screening-models/{model.pk}/tags/", {"tags": ["x"]}, format="json").status_code \
        == 404


def test_indicators_are_listed_when_first_pushed_edited_and_counted(api, people, source, org):
    client = api()
    push(client, [{"dedup_key": "t1", "rule": "TAX-07", "org_unit": "kunshan"},
                  {"dedup_key": "t2", "rule": "TAX-07", "org_unit": "kunshan"},
                  {"dedup_key": "t3", "rule": "SOC-01", "org_unit": "changshu"}])
    push(client, [{"dedup_key": "t4", "rule": "TAX-07", "org_unit": "kunshan"}])
    assert sorted(SourceIndicator.objects.values_list("code", flat=True)) == ["SOC-01", "TAX-07"]
    Alert.objects.filter(dedup_key="t1").update(status=Status.CLOSED, conclusion="substantiated")
    Alert.objects.filter(dedup_key="t2").update(status=Status.CLOSED, conclusion="unfounded")
    tax = SourceIndicator.objects.get(code="TAX-07")
    city = api(people.city_supervisor)
    r = city.patch(f"/api/v1/indicators/{tax.pk}/", {"name": "发票异常", "module": "税务", "threshold": "单张≥10万元",
                                                      "department": "税务局"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["warnings"] == 3 and r.json()["substantiated"] == 1 and r.json()["substantiation_rate"] == 0.5
    # A county counts only the warnings it may see, and may not rename the city's indicators.
    rows = {r["code"]: r for r in api(people.changshu_supervisor).get("/api/v1/indicators/").json()}
    assert rows["TAX-07"]["warnings"] == 0 and rows["SOC-01"]["warnings"] == 1
    assert api(people.changshu_supervisor).patch(f"/api/v1/indicators/{tax.pk}/", {"name": "x"},
                                                 format="json").status_code == 404
    assert api(people.kunshan_verifier).patch(f"/api/v1/indicators/{tax.pk}/", {"name": "x"},
                                              format="json").status_code == 403
    groups = {g["group"]: g for g in city.get("/api/v1/indicators/groups/?by=module").json()}
    assert groups["税务"]["warnings"] == 3 and groups[""]["warnings"] == 1


def test_the_indicator_screens_list_group_and_edit(client, people, api, source):
    push(api(), [{"dedup_key": "t1", "rule": "TAX-07", "org_unit": "kunshan"}])
    tax = SourceIndicator.objects.get()
    client.force_login(people.city_supervisor)
    assert "TAX-07" in client.get("/screening/indicators/").content.decode()
    r = client.post(f"/screening/indicators/{tax.pk}/", {"name": "发票异常", "module": "税务"})
    assert r.status_code == 302
    assert "税务" in client.get("/screening/indicators/?by=module").content.decode()
    client.force_login(people.kunshan_verifier)
    assert client.get(f"/screening/indicators/{tax.pk}/").status_code == 403
