"""Evidence a verifier can read: `hit` on the alert API and the alert's screens."""

from __future__ import annotations

import json

import pytest

from alerts.models import Alert
from screening import services

pytestmark = pytest.mark.django_db

PONDS = ("户主,身份证号,村,用电量,面积\n甲,320583199001011234,一村,1000,3\n乙,320583199001015678,一村,1100,3\n"
         "丙,320583199001019999,一村,9000,3\n")
SPEC = {"steps": [
    {"id": "s", "type": "source", "dataset": "ponds"},
    {"id": "c", "type": "compute", "input": "s", "columns": [
        {"name": "每亩用电量", "expr": {"op": "div", "args": [{"field": "用电量"}, {"field": "面积"}]}}]},
    {"id": "p", "type": "peer", "input": "c", "value_field": "每亩用电量", "group_by": ["村"], "factor": 3},
    {"id": "o", "type": "emit", "input": "p", "subject_field": "户主", "subject_id_field": "身份证号",
     "title": "{户主} 用电异常"},
]}


@pytest.fixture
def alert(make_dataset, run_model, people):
    ds = make_dataset(PONDS, name="鱼塘用电")
    model = services.screening_model_create(by=people.kunshan_supervisor, name="鱼塘用电异常",
                                            org_unit=ds.org_unit, datasets={"ponds": ds}, spec=SPEC, status="active")
    _, run = run_model("", {}, {}, model=model)
    assert run.hit_count == 1, run.error
    return Alert.objects.get()


def test_the_alert_api_explains_a_model_hit(alert, api, people):
    body = api(people.kunshan_supervisor).get(f"/api/v1/alerts/{alert.pk}/").json()
    hit = body["hit"]
    assert hit["model"]["name"] == "鱼塘用电异常" and hit["model"]["version"] == 1 and hit["model"]["code"]
    assert "「每亩用电量」高于同组" in hit["reason"] and "3.0" not in hit["reason"]
    [table] = hit["evidence"]
    assert table["dataset"] == "鱼塘用电"
    assert table["columns"] == ["户主", "身份证号", "村", "用电量", "面积", "每亩用电量"]
    assert table["rows"] == [["丙", "320583199001019999", "一村", 9000, 3, 3000]]
    labels = {m["label"]: m["value"] for m in hit["metrics"]}
    assert labels["Times the group benchmark"] == round(3000 / (1100 / 3), 2)
    text = json.dumps(hit, ensure_ascii=False)
    assert "_row" not in text and "_window" not in text and "{'" not in text
    assert body["subject"]["id_number"] == "320583199001019999"  # the subject's identity came from the row


def test_personal_data_in_evidence_is_masked_for_roles_that_may_not_see_it(alert, api, people):
    hit = api(people.city_leader).get(f"/api/v1/alerts/{alert.pk}/").json()["hit"]
    assert "320583199001019999" not in json.dumps(hit)
    assert hit["evidence"][0]["rows"][0][1] != "320583199001019999"


def test_other_alerts_have_no_hit_and_lists_carry_none(alert, api, people, make_alert):
    other = make_alert()
    client = api(people.kunshan_supervisor)
    assert client.get(f"/api/v1/alerts/{other.pk}/").json()["hit"] is None
    assert all("hit" not in a for a in client.get("/api/v1/alerts/").json()["results"])


def test_the_alert_page_shows_the_reason_and_evidence_tables(alert, client, people):
    client.force_login(people.kunshan_supervisor)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="hit-reason"' in page and "高于同组" in page
    assert "<th>每亩用电量</th>" in page and "<td>3000</td>" in page
    assert "_row" not in page and "{&#x27;" not in page
