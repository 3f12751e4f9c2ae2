"""Regressions for what the code review found: personal data on screens, in the timeline's data
and in notifications; uniform 404s; inputs that used to give a 500; contract details."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from cases.services import comment_add
from tests.api.helpers import drive, transition_url
from tests.conftest import SOURCE_KEY
from workflow.models import Notification
from workflow.notify import Message, notify_many

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


@pytest.fixture
def phone_alert(make_alert):
    return make_alert(title=f"举报人电话{PHONE}反映问题")


def test_screens_mask_phone_numbers_in_titles_and_comments_for_a_leader(client, people, phone_alert):
    comment_add(alert_id=phone_alert.pk, author=people.kunshan_supervisor, text=f"回电{PHONE}")
    client.force_login(people.city_leader)
    for url in ("/alerts/", f"/alerts/{phone_alert.pk}/"):
        html = client.get(url).content.decode()
        assert PHONE not in html and "138****5678" in html, url


def test_the_supervisor_handling_the_case_sees_them_on_the_detail_page(client, people, phone_alert):
    client.force_login(people.kunshan_supervisor)
    assert PHONE in client.get(f"/alerts/{phone_alert.pk}/").content.decode()
    assert PHONE not in client.get("/alerts/").content.decode()  # lists stay masked


def test_the_timeline_data_is_masked_too(api, people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = api(people.kunshan_verifier).post(transition_url(alert, "return"), {"reason": f"请联系{PHONE}"},
                                          format="json")
    assert r.status_code == 200
    body = str(api(people.city_leader).get(f"/api/v1/alerts/{alert.pk}/timeline/").json())
    assert PHONE not in body


def test_notifications_carry_masked_text(people, phone_alert):
    notify_many([Message(kind="assigned", title=f"新预警 {phone_alert.title}", body=f"电话{PHONE}",
                         recipients=[people.kunshan_verifier], alert=phone_alert)])
    note = Notification.objects.get(recipient=people.kunshan_verifier)
    assert PHONE not in note.title + note.body


def test_a_keyed_notification_written_concurrently_is_skipped_not_fatal(people, phone_alert):
    from workflow.notify import _insert_skipping_duplicates

    Notification.objects.create(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue",
                                title="t", body="", key="order-1-overdue", created_at=phone_alert.created_at)
    dup = Notification(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue", title="t", body="",
                       key="order-1-overdue", created_at=phone_alert.created_at)
    other = Notification(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue", title="u", body="",
                         key="", created_at=phone_alert.created_at)
    notes, owners = _insert_skipping_duplicates([dup, other], ["a", "b"])
    assert notes == [other] and owners == ["b"]
    assert Notification.objects.filter(key="order-1-overdue").count() == 1


def test_another_countys_extension_and_a_missing_one_read_the_same(api, people, make_alert, org):
    from workflow.extensions import extension_request

    alert = drive(make_alert(org_unit=org.kunshan), "verifying", supervisor=people.kunshan_supervisor,
                  verifier=people.kunshan_verifier)
    ext = extension_request(alert_id=alert.pk, by=people.kunshan_verifier, days=3, reason="材料多")
    theirs = api(people.changshu_supervisor).post(f"/api/v1/extensions/{ext.pk}/approve/", {}, format="json")
    missing = api(people.changshu_supervisor).post("/api/v1/extensions/999999/approve/", {}, format="json")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_intake_needs_only_a_dedup_key(api, source):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    r = client.post("/api/v1/intake/alerts/", {"dedup_key": "bare-1"}, format="json")
    assert r.status_code == 201, r.json()
    alert = Alert.objects.get(dedup_key="bare-1")
    assert alert.org_unit == source.org_unit and alert.risk_level == "yellow" and "bare-1" in alert.title


@pytest.mark.parametrize(
    "body",
    [{"dedup_key": "n", "details": {"a": "x\u0000y"}}, {"dedup_key": "n", "details": {"k\u0000": 1}},
     {"dedup_key": "n", "occurred_at": "0001-01-01T00:00:00"},
     {"dedup_key": "n", "occurred_at": "9999-12-31T23:59:59"}],
    ids=["nul-value", "nul-key", "year-1", "year-9999"],
)
def test_inputs_that_used_to_500_are_400(api, source, body):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    r = client.post("/api/v1/intake/alerts/", body, format="json")
    assert r.status_code == 400 and Alert.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["/alerts/?created_to=9999-12-31", "/alerts/export.csv?created_to=9999-12-31",
     "/dashboard/?period=custom&start=0001-01-01&end=9999-12-31", "/api/v1/alerts/?created_before=9999-12-31T00:00:00"],
)
def test_far_dates_in_filters_do_not_break_pages(client, people, url):
    client.force_login(people.city_leader)
    r = client.get(url)
    assert r.status_code in (200, 400)
    if hasattr(r, "streaming_content"):
        b"".join(r.streaming_content)


def test_a_detail_ignores_list_filters(api, people, make_alert):
    alert = make_alert()
    assert api(people.kunshan_supervisor).get(f"/api/v1/alerts/{alert.pk}/?status=closed").status_code == 200


def test_the_dashboards_own_unit_row_links_to_that_unit_only(client, people, make_alert, org):
    make_alert(org_unit=org.city)
    make_alert(org_unit=org.kunshan)
    client.force_login(people.city_leader)
    html = client.get("/dashboard/").content.decode()
    assert "unit=suzhou&amp;unit_only=1" in html or "unit_only=1&amp;unit=suzhou" in html
    listed = client.get("/alerts/?unit=suzhou&unit_only=1").content.decode()
    assert listed.count('href="/alerts/') >= 1
    from web.filters import AlertFilterForm

    form = AlertFilterForm({"unit": "suzhou", "unit_only": "1"}, user=people.city_leader)
    assert list(form.filter(Alert.objects.all()).values_list("org_unit__code", flat=True)) == ["suzhou"]
