"""Masked numbers cannot be rebuilt through search: `q` never matches inside a hidden digit of
an ID or phone number; a complete number is matched exactly and that search is audited."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.models import AuditEvent
from core.masking import mask_text

pytestmark = pytest.mark.django_db

ID = "320583199001011234"
PHONE = "13912345678"


def api_ids(api, user, q: str) -> list[int]:
    r = api(user).get("/api/v1/alerts/", {"q": q})
    assert r.status_code == 200, r.content
    return [row["id"] for row in r.json()["results"]]


def screen_ids(client, user, q: str) -> list[int]:
    client.force_login(user)
    r = client.get("/alerts/", {"q": q})
    assert r.status_code == 200
    return [a.pk for a in r.context["page"]]


def rebuild_hidden_digits(search, known_prefix: str, hidden: int) -> str:
    """The attack as a leader ran it: extend the visible prefix one digit at a time and keep the
    digit whose search still finds the alert (42 searches on average for 10 digits)."""
    prefix = known_prefix
    for _ in range(hidden):
        for digit in "0123456789":
            if search(prefix + digit):
                prefix += digit
                break
        else:
            return prefix
    return prefix


@pytest.fixture
def id_alert(make_alert):
    return make_alert(title=f"身份证{ID}的人员重复领取补贴", subject_name=f"李四 {PHONE}")


@pytest.mark.parametrize("surface", ["api", "screen"])
def test_a_leader_cannot_rebuild_a_masked_id_number_by_prefix_searches(api, client, people, id_alert, surface):
    leader = people.city_leader
    listing = api(leader).get("/api/v1/alerts/").json()["results"][0]
    assert "3205**********1234" in listing["title"]

    def search(q: str) -> bool:
        ids = api_ids(api, leader, q) if surface == "api" else screen_ids(client, leader, q)
        return id_alert.pk in ids

    assert search("3205") and search("1234")  # the visible digits still find it
    recovered = rebuild_hidden_digits(search, "3205", 10)
    assert recovered == "3205", f"rebuilt {recovered}"


def test_a_masked_phone_number_in_the_subject_cannot_be_rebuilt(api, people, id_alert):
    leader = people.city_leader
    recovered = rebuild_hidden_digits(lambda q: id_alert.pk in api_ids(api, leader, f"李四 {q}"), "139", 4)
    assert recovered == "139"
    assert id_alert.pk in api_ids(api, leader, "李四 139")  # what the leader sees, found


@pytest.mark.parametrize("text", ["139-8765-4321", "139 8765 4321", "+86 139-8765-4321"])
def test_separated_phone_numbers_cannot_be_probed_group_by_group(api, people, make_alert, text):
    alert = make_alert(title=f"联系人电话 {text}")
    for probe in ("8765", "-8765-", " 8765 ", "139-8765", "139 8765"):
        assert alert.pk not in api_ids(api, people.city_leader, probe), probe
    assert alert.pk in api_ids(api, people.city_leader, "4321")


def test_the_whole_number_finds_the_alert_and_the_search_is_audited(api, client, people, id_alert, make_alert):
    other = make_alert(title="无关预警", subject_id_number=ID)
    leader = people.city_leader
    assert sorted(api_ids(api, leader, ID)) == sorted([id_alert.pk, other.pk])
    assert api_ids(api, leader, PHONE) == [id_alert.pk]
    assert api_ids(api, leader, "李四 +86 139-1234-5678") == [id_alert.pk]
    assert screen_ids(client, leader, ID) != []
    events = AuditEvent.objects.filter(action="pii_view", object_type="alert_search", actor="suzhou_leader")
    assert events.count() == 4
    # The audit record names the search, never the full number.
    assert all(ID not in str(e.data) and PHONE not in str(e.data) for e in events)
    assert events.filter(data__query=mask_text(ID)).exists()


def test_ordinary_searches_are_not_audited(api, people, id_alert):
    api_ids(api, people.city_leader, "补贴")
    api_ids(api, people.city_leader, "3205")
    assert not AuditEvent.objects.filter(object_type="alert_search").exists()


def test_a_phone_shaped_run_inside_an_id_number_is_not_a_whole_number(api, people, id_alert):
    # Digits 7-17 of the ID look like a mobile number; guessing them must not confirm the ID.
    assert api_ids(api, people.city_leader, ID[6:17]) == []


def test_the_masked_form_as_shown_finds_the_alert(api, people, id_alert):
    assert api_ids(api, people.city_leader, "3205**********1234") == [id_alert.pk]
    assert api_ids(api, people.city_leader, "139****5678") == [id_alert.pk]


def test_plain_text_and_other_numbers_still_match_in_part(api, people, make_alert):
    alert = make_alert(title="订单号 2024030512345678901234 重复报销")
    assert api_ids(api, people.city_leader, "重复报") == [alert.pk]
    assert api_ids(api, people.city_leader, "20240305") == [alert.pk]


@pytest.mark.parametrize("text", [
    f"身份证{ID}，电话{PHONE}。订单号 2024030512345678901234",
    "李四 139-8765-4321 / 139 1234 5678 / +86 139-1234-5678 / +8613912345678",
    "旧证 320583900101123 与 320583 19900101 123X、32058319900101123x",
    "电话：１３９１２３４５６７８ 身份证３２０５８３１９９００１０１１２３４",
    "no digits at all", "", "0086 13912345678 2026-11-30 金额 1390000",
])
def test_the_database_masks_exactly_as_the_application_does(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT hy_mask_text(%s)", [text])
        assert cursor.fetchone()[0] == mask_text(text)


@pytest.fixture
def admin_client_(client, people, org):
    from accounts.services import user_upsert

    admin = user_upsert(username="root", password="x-pass-123", role="admin", org_unit=org.city, is_superuser=True)
    client.force_login(admin)
    return client


def test_the_admin_search_goes_through_the_masked_copy(admin_client_, id_alert):
    r = admin_client_.get("/admin/alerts/alert/", {"q": "32058319"})
    assert r.status_code == 200
    assert id_alert.pk not in [o.pk for o in r.context["cl"].result_list]
    r = admin_client_.get("/admin/alerts/alert/", {"q": "李四"})
    assert id_alert.pk in [o.pk for o in r.context["cl"].result_list]


def test_only_queries_with_digits_pay_for_the_masked_copy(people):
    from alerts.models import Alert
    from alerts.search import alerts_search

    def sql(q: str) -> str:
        return str(alerts_search(Alert.objects.all(), q, user=people.city_leader).query)

    assert "hy_mask_text" not in sql("补贴")  # no digit: the masked copy matches like the raw text
    assert "hy_mask_text" in sql("3205") and "hy_mask_text" in sql("139****5678")
    # Paired with the raw condition it implies, so an index on the raw column still narrows rows.
    assert "UPPER(" in sql("3205") or "LIKE" in sql("3205")
