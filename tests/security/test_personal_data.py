from __future__ import annotations

import pytest

from audit.models import AuditEvent
from cases.services import comment_add
from core.masking import mask_id_number, mask_phone, mask_text

pytestmark = pytest.mark.django_db
ID = "32058319900101123X"


def test_masking_shapes():
    assert mask_id_number("320583199001011234") == "3205**********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_text(f"身份证{ID}，电话13812345678。订单号 2024030512345678901234") == (
        "身份证3205**********123X，电话138****5678。订单号 2024030512345678901234")


@pytest.fixture
def pii_alert(make_alert):
    return make_alert(subject_id_number=ID, details={"联系人": "张三", "电话": "13812345678", "身份证": ID})


def test_lists_mask_personal_data_for_everyone(api, people, pii_alert):
    for user in (people.kunshan_supervisor, people.city_leader):
        row = api(user).get("/api/v1/alerts/").json()["results"][0]
        assert row["subject"]["id_number"] == "3205**********123X"
        assert row["details"]["电话"] == "138****5678" and ID not in str(row)


def test_a_leader_sees_masked_values_on_the_detail_page(api, people, pii_alert):
    body = api(people.city_leader).get(f"/api/v1/alerts/{pii_alert.pk}/").json()
    assert body["subject"]["id_number"] == "3205**********123X" and ID not in str(body)
    assert not AuditEvent.objects.filter(action="pii_view").exists()


def test_a_supervisor_sees_full_values_and_the_view_is_audited(api, people, pii_alert):
    body = api(people.kunshan_supervisor).get(f"/api/v1/alerts/{pii_alert.pk}/").json()
    assert body["subject"]["id_number"] == ID and body["details"]["电话"] == "13812345678"
    event = AuditEvent.objects.get(action="pii_view")
    assert (event.actor, event.object_id) == ("kunshan_supervisor", str(pii_alert.pk))


def test_comments_and_timeline_mask_numbers_for_roles_without_need(api, people, pii_alert):
    comment_add(alert_id=pii_alert.pk, author=people.kunshan_supervisor, text=f"当事人电话13812345678 {ID}")
    for path in ("comments", "timeline"):
        text = str(api(people.city_leader).get(f"/api/v1/alerts/{pii_alert.pk}/{path}/").json())
        assert "13812345678" not in text and "138****5678" in text


def test_exports_are_masked_for_everyone_and_audited(client, people, pii_alert):
    client.force_login(people.kunshan_supervisor)
    r = client.get("/alerts/export.csv?risk_level=orange")
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    assert "3205**********123X" in body and ID not in body
    event = AuditEvent.objects.get(action="export")
    assert event.actor == "kunshan_supervisor" and event.data == {"format": "csv", "filters": {"risk_level": "orange"}}
    client.get("/alerts/export.xlsx")
    assert AuditEvent.objects.filter(action="export", data__format="xlsx").count() == 1


@pytest.mark.parametrize(
    ("who", "full"),
    [("kunshan_supervisor", True), ("city_leader", False), ("kunshan_verifier", False)],
)
def test_the_detail_screen_shows_full_values_only_to_case_handlers_and_audits_them(client, people, pii_alert,
                                                                                    who, full):
    client.force_login(getattr(people, who))
    html = client.get(f"/alerts/{pii_alert.pk}/").content.decode()
    assert (ID in html) is full and ("13812345678" in html) is full
    assert "3205**********123X" in html or full
    assert AuditEvent.objects.filter(action="pii_view", actor=who).exists() is full


def test_the_assigned_verifier_sees_full_values(client, people, pii_alert):
    from tests.api.helpers import drive

    drive(pii_alert, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    client.force_login(people.kunshan_verifier)
    assert ID in client.get(f"/alerts/{pii_alert.pk}/").content.decode()


@pytest.mark.parametrize(("text", "masked"), [
    ("电话139-8765-4321", "电话139-****-4321"),
    ("电话139 1234 5678。", "电话139 **** 5678。"),
    ("+86 139-1234-5678", "+86 139-****-5678"),
    ("+8613912345678", "+86139****5678"),
    ("８６１３９１２３４５６７８", "８６１３９****５６７８"),
    ("证件 320583 19900101 123X", "证件 3205** ******** 123X"),
    ("旧证320583900101123", "旧证3205*******1123"),
])
def test_phone_and_id_numbers_are_masked_however_they_are_written(text, masked):
    assert mask_text(text) == masked


def test_dict_keys_are_masked_too():
    from core.masking import mask_value

    assert mask_value({"联系人13912345678": {ID: ["139-8765-4321"]}}) == {
        "联系人139****5678": {"3205**********123X": ["139-****-4321"]}}
