"""Phone numbers in titles, comments, timeline data and notifications are masked for readers who
may not see them, and shown to the supervisor handling the case."""

from __future__ import annotations

import pytest

from cases.services import comment_add
from tests.api.helpers import drive, transition_url
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
