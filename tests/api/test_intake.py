"""Intake from business systems: API keys, validation, all-or-nothing batches, dedup."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from cases.models import TimelineEntry
from tests.conftest import SOURCE_KEY
from workflow import services as wf

pytestmark = pytest.mark.django_db
URL = "/api/v1/intake/alerts/"
VALID_ID = "11010519491231002X"


def item(key="k1", **overrides):
    body = {"dedup_key": key, "title": "同一供应商连续中标", "domain": "procurement", "risk_level": "red",
            "org_unit": "kunshan", "subject": {"name": "某公司", "credit_code": "91320583MA1XXXXX0X"},
            "amount": "12345.67", "occurred_at": "2026-11-20T10:00:00+08:00",
            "details": {"wins": 7, "buyer": "某局"}, "rule": "PROC-001"}
    body.update(overrides)
    return body


@pytest.fixture
def feed(api, source):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    return client


def test_one_alert_is_taken_in_with_every_field(feed):
    r = feed.post(URL, item(), format="json")
    assert r.status_code == 201
    [res] = r.json()["results"]
    assert res["dedup_key"] == "k1" and res["created"] is True
    alert = Alert.objects.get(pk=res["id"])
    assert (alert.status, alert.org_unit.code, alert.risk_level) == ("warning", "kunshan", "red")
    assert alert.rule_code == "PROC-001"
    assert alert.subject_name == "某公司" and str(alert.amount) == "12345.67"
    assert alert.details == {"wins": 7, "buyer": "某局"}
    assert TimelineEntry.objects.filter(alert=alert, kind="created").count() == 1


def test_a_batch_returns_results_in_request_order(feed):
    r = feed.post(URL, [item("b"), item("a"), item("c", subject="张三")], format="json")
    assert r.status_code == 201
    assert [x["dedup_key"] for x in r.json()["results"]] == ["b", "a", "c"]
    assert Alert.objects.get(dedup_key="c").subject_name == "张三"


def test_an_invalid_item_rejects_the_whole_batch_with_per_item_errors(feed):
    r = feed.post(URL, [item("a"), item("b", risk_level="purple"), item("c", org_unit="nowhere")], format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors[0] == {} and "risk_level" in errors[1] and "org_unit" in errors[2]
    assert Alert.objects.count() == 0


@pytest.mark.parametrize(
    ("override", "field"),
    [({"dedup_key": ""}, "dedup_key"), ({"title": None}, "title"), ({"amount": "abc"}, "amount"),
     ({"details": [1, 2]}, "details"), ({"subject": {"id_number": "110105194912310021"}}, "subject"),
     ({"occurred_at": "yesterday"}, "occurred_at"), ({"domain": "astrology"}, "domain")],
)
def test_bad_fields_get_a_400_naming_the_field(feed, override, field):
    r = feed.post(URL, item(**override), format="json")
    assert r.status_code == 400 and field in r.json()["errors"], r.json()
    assert Alert.objects.count() == 0


def test_a_valid_id_number_is_accepted(feed):
    assert feed.post(URL, item(subject={"name": "张三", "id_number": VALID_ID}), format="json").status_code == 201


def test_a_unit_outside_the_source_systems_unit_is_refused(feed, source, org):
    source.org_unit = org.kunshan
    source.save()
    r = feed.post(URL, item(org_unit="changshu"), format="json")
    assert r.status_code == 400 and "org_unit" in r.json()["errors"]


def test_more_than_1000_items_is_a_400(feed):
    r = feed.post(URL, [item(f"k{i}") for i in range(1001)], format="json")
    assert r.status_code == 400 and Alert.objects.count() == 0


def test_a_full_batch_of_1000_is_stored(feed):
    r = feed.post(URL, [item(f"k{i}") for i in range(1000)], format="json")
    assert r.status_code == 201 and Alert.objects.count() == 1000


def test_a_repeated_key_increments_the_open_alert(feed):
    first = feed.post(URL, item(), format="json").json()["results"][0]
    r = feed.post(URL, item(), format="json")
    assert r.status_code == 200
    again = r.json()["results"][0]
    assert again == {"id": first["id"], "dedup_key": "k1", "created": False}
    assert Alert.objects.get().occurrence_count == 2


def test_the_same_key_twice_in_one_batch_is_one_alert(feed):
    results = feed.post(URL, [item("x"), item("x")], format="json").json()["results"]
    assert [r["created"] for r in results] == [True, False]
    assert results[0]["id"] == results[1]["id"]
    assert Alert.objects.get().occurrence_count == 2


def test_after_the_alert_is_closed_the_same_key_opens_a_new_one(feed, people):
    first = feed.post(URL, item(), format="json").json()["results"][0]
    wf.alert_dismiss(alert_id=first["id"], by=people.kunshan_supervisor, reason="duplicate")
    second = feed.post(URL, item(), format="json").json()["results"][0]
    assert second["created"] is True and second["id"] != first["id"]


def test_a_bad_or_missing_key_is_refused(api, source):
    assert api().post(URL, item(), format="json").status_code in (401, 403)
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Api-Key hy_testfeed_wrong-wrong-wrong-wrong")
    assert client.post(URL, item(), format="json").status_code == 401
    source.is_active = False
    source.save()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    assert client.post(URL, item(), format="json").status_code == 401
    assert Alert.objects.count() == 0


def test_a_user_token_cannot_push_alerts(api, people):
    assert api(people.kunshan_supervisor).post(URL, item(), format="json").status_code in (401, 403)


def test_the_key_is_stored_hashed(source):
    assert SOURCE_KEY not in (source.key_hash, source.key_prefix)
    assert len(source.key_hash) == 64
