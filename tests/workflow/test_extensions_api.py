"""Extensions, the inbox and rectification feedback, through the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cases.models import ResultAction, TimelineEntry
from workflow.calendar import add_working_days, current_calendar
from workflow.models import Extension, Notification
from workflow.services import alert_assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(make_alert, people):
    alert = make_alert()
    return alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)


def test_it_lets_the_assignee_request_and_a_supervisor_approve_an_extension(api, assigned, people):
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 3, "reason": "需要调取银行流水"}
    )
    assert r.status_code == 201, r.content
    ext_id = r.json()["id"]
    assert Notification.objects.filter(recipient=people.kunshan_supervisor, kind="extension_requested").exists()

    r = api(people.kunshan_supervisor).post(f"/api/v1/extensions/{ext_id}/approve/", {"note": "同意"})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "approved"
    assigned.refresh_from_db()
    assert assigned.due_at == add_working_days(current_calendar(), Extension.objects.get().due_at_before, 3)
    actions = list(TimelineEntry.objects.filter(alert=assigned, kind="extension").values_list("action", flat=True))
    assert actions == ["extension_requested", "extension_approved"]
    assert Notification.objects.filter(recipient=people.kunshan_verifier, kind="extension_decided").exists()

    r = api(people.kunshan_supervisor).post(f"/api/v1/extensions/{ext_id}/refuse/", {})
    assert r.status_code == 409


def test_a_refusal_keeps_the_deadline_and_is_on_the_timeline(api, assigned, people):
    due = assigned.due_at
    ext = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"}
    ).json()
    r = api(people.kunshan_supervisor).post(f"/api/v1/extensions/{ext['id']}/refuse/", {"note": "no"})
    assert r.json()["state"] == "refused"
    assigned.refresh_from_db()
    assert assigned.due_at == due
    assert TimelineEntry.objects.filter(alert=assigned, action="extension_refused").count() == 1


def test_it_refuses_an_extension_after_the_deadline(api, assigned, people):
    type(assigned).objects.filter(pk=assigned.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"})
    assert r.status_code == 409


def test_only_the_responsible_person_may_ask_and_only_a_supervisor_may_decide(api, assigned, people):
    r = api(people.kunshan_verifier2).post(f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"})
    assert r.status_code == 403
    r = api(people.changshu_verifier).post(f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"})
    assert r.status_code == 404
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 0, "reason": "r"})
    assert r.status_code == 400
    ext = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"}
    ).json()
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{assigned.pk}/extensions/", {"days": 2, "reason": "r"})
    assert r.status_code == 409  # one open request per stage
    assert api(people.kunshan_verifier).post(f"/api/v1/extensions/{ext['id']}/approve/", {}).status_code == 403
    assert api(people.changshu_supervisor).post(f"/api/v1/extensions/{ext['id']}/approve/", {}).status_code == 404
    assert api(people.kunshan_leader).post(f"/api/v1/extensions/{ext['id']}/approve/", {}).status_code == 403
    r = api(people.changshu_supervisor).get(f"/api/v1/alerts/{assigned.pk}/extensions/")
    assert r.status_code == 404
    r = api(people.kunshan_supervisor).get(f"/api/v1/alerts/{assigned.pk}/extensions/")
    assert r.json()["count"] == 1


def test_the_inbox_counts_unread_and_marks_read(api, assigned, people):
    client = api(people.kunshan_verifier)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}  # "assigned to you"
    items = client.get("/api/v1/notifications/").json()["results"]
    assert [n["kind"] for n in items] == ["assigned"]
    r = client.post(f"/api/v1/notifications/{items[0]['id']}/read/")
    assert r.status_code == 200 and r.json()["is_read"] is True
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    # Someone else's notification is not found.
    assert api(people.kunshan_verifier2).post(f"/api/v1/notifications/{items[0]['id']}/read/").status_code == 404


def test_mark_all_read(api, assigned, people):
    client = api(people.kunshan_verifier)
    r = client.post("/api/v1/notifications/read-all/", {})
    assert r.json() == {"marked": 1, "unread": 0}


def test_a_return_notifies_the_supervisor_who_assigned(assigned, people):
    from workflow.services import alert_return

    alert_return(alert_id=assigned.pk, by=people.kunshan_verifier, reason="不属于本单位")
    assert Notification.objects.filter(recipient=people.kunshan_supervisor, kind="returned").count() == 1


def test_a_supervisor_records_feedback_then_accepting_it_closes_the_order(api, make_alert, people):
    alert = make_alert()
    order = ResultAction.objects.create(
        alert=alert, issued_by=people.kunshan_supervisor, kind="rectification_order",
        recipient="某局", text="整改", due_date=date(2020, 1, 1),
    )
    client = api(people.kunshan_supervisor)
    assert [o["id"] for o in client.get("/api/v1/rectification-orders/?overdue=true").json()["results"]] == [order.pk]
    assert api(people.changshu_supervisor).get("/api/v1/rectification-orders/").json()["count"] == 0
    assert api(people.changshu_supervisor).post(
        f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "x"}
    ).status_code == 404
    assert api(people.kunshan_verifier).post(
        f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "x"}
    ).status_code == 403
    r = client.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "已整改完毕"})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "replied" and r.json()["is_overdue"] is False
    assert TimelineEntry.objects.filter(alert=alert, kind="feedback").count() == 1
    assert client.post(
        f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "again"}
    ).status_code == 409
    # The order holds the alert open until the supervisor accepts the reply.
    assert client.get("/api/v1/rectification-orders/?open=true").json()["count"] == 1
    r = client.post(f"/api/v1/rectification-orders/{order.pk}/accept/", {})
    assert r.json()["is_closed"] is True
    assert client.get("/api/v1/rectification-orders/?open=true").json()["count"] == 0


def test_the_schema_validates(api, people):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/notifications/unread-count/" in schema["paths"]
