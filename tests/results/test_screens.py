"""The screens of the use of results: the printable notice, the per-order reply forms, the
ledger, the close form's override, people in the disposal form, the inbox and its bell."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from alerts.states import ActionKind
from cases.models import DispositionPerson, FeedbackAttachment, ResultAction
from tests.api.helpers import drive
from workflow import services as wf
from workflow.calendar import local
from workflow.models import Notification

pytestmark = pytest.mark.django_db


def _orders(alert, people, n=2):
    due = local(timezone.now()).date() + timedelta(days=10)
    wf.alert_apply_results(alert_id=alert.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient=f"第{i}局", text="请整改", due_date=due,
                       copy_to=["昆山市财政局"]) for i in range(n)
    ])
    return list(ResultAction.objects.filter(alert=alert).order_by("id"))


def test_the_printable_notice_has_the_official_layout_and_no_inline_script(applying, people, client_for):
    applying.title = "内部标题：某某围标"
    applying.save()
    order = _orders(applying, people, 1)[0]
    body = client_for(people.kunshan_supervisor).get(reverse("web:notice", args=[order.pk])).content.decode()
    assert order.doc_number in body and "第0局：" in body and "昆山市财政局" in body and "data-print" in body
    assert "围标" not in body
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert "src=" in tag
    assert client_for(people.changshu_supervisor).get(reverse("web:notice", args=[order.pk])).status_code == 404


def test_each_order_has_its_own_reply_form_ids(applying, people, client_for):
    orders = _orders(applying, people)
    body = client_for(people.kunshan_supervisor).get(reverse("web:alert_detail", args=[applying.pk])).content.decode()
    ids = re.findall(r'\bid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for o in orders:
        assert f'id="fb-{o.pk}-feedback"' in body


def test_a_reply_recorded_on_the_screen_then_accepted(applying, people, client_for):
    order = _orders(applying, people, 1)[0]
    c = client_for(people.kunshan_supervisor)
    c.post(reverse("web:feedback", args=[order.pk]), {"feedback": "已整改到位"})
    order.refresh_from_db()
    assert order.feedback == "已整改到位" and order.review == ""
    c.post(reverse("web:feedback_review", args=[order.pk]), {"decision": "reject"})
    order.refresh_from_db()
    assert order.review == ""  # a rejection needs a reason
    c.post(reverse("web:feedback_review", args=[order.pk]), {"decision": "accept", "note": "认可"})
    order.refresh_from_db()
    assert order.review == "accepted"
    assert client_for(people.kunshan_verifier).post(
        reverse("web:feedback_review", args=[order.pk]), {"decision": "reject", "note": "x"}).status_code == 403


def test_withdraw_and_reissue_on_the_screens(applying, people, client_for):
    order = _orders(applying, people, 1)[0]
    c = client_for(people.kunshan_supervisor)
    page = c.get(reverse("web:notice_reissue", args=[order.pk]))
    assert page.status_code == 200 and "第0局" in page.content.decode()
    r = c.post(reverse("web:notice_reissue", args=[order.pk]), {
        "recipient": "第9局", "text": "请整改", "due_date": order.due_date.isoformat()})
    assert r.status_code == 400  # the reason is required while the old one is in force
    r = c.post(reverse("web:notice_reissue", args=[order.pk]), {
        "reason": "主送写错", "recipient": "第9局", "text": "请整改", "due_date": order.due_date.isoformat()})
    assert r.status_code == 302
    new = ResultAction.objects.get(replaces=order)
    printed = c.get(reverse("web:notice", args=[order.pk])).content.decode()
    assert 'data-testid="withdrawn-stamp"' in printed
    assert new.doc_number in c.get(reverse("web:alert_detail", args=[applying.pk])).content.decode()


def test_the_ledger_screen_filters_and_exports(applying, people, client_for):
    _orders(applying, people)
    c = client_for(people.kunshan_supervisor)
    body = c.get(reverse("web:ledger")).content.decode()
    assert body.count("data-order=") == 2
    assert c.get(reverse("web:ledger") + "?state=overdue").content.decode().count("data-order=") == 0
    r = c.get(reverse("web:ledger_export") + "?state=awaiting")
    assert r["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert client_for(people.kunshan_verifier).get(reverse("web:ledger")).status_code == 403
    assert client_for(people.changshu_supervisor).get(reverse("web:ledger")).content.decode().count("data-order=") == 0


def test_closing_on_the_screen_needs_the_reason_while_an_order_is_open(applying, people, client_for):
    _orders(applying, people, 1)
    c = client_for(people.kunshan_leader)
    url = reverse("web:alert_action", args=[applying.pk, "close"])
    r = c.post(url, {"close-score": "4"})
    assert r.status_code == 409
    applying.refresh_from_db()
    assert applying.status == "evaluating"
    r = c.post(url, {"close-score": "4", "close-override_reason": "已现场确认整改"})
    assert r.status_code == 302
    applying.refresh_from_db()
    assert applying.status == "closed"


def test_people_are_recorded_from_the_disposal_form(make_alert, people, client_for):
    alert = drive(make_alert(), "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = client_for(people.kunshan_supervisor).post(reverse("web:alert_action", args=[alert.pk, "dispose"]), {
        "dispose-outcome": "form_2", "dispose-amount_recovered": "1000", "dispose-amount_confiscated": "200",
        "people-TOTAL_FORMS": "2", "people-INITIAL_FORMS": "0",
        "people-0-name": "张三", "people-0-form": "form_2", "people-0-sanction": "gov_demerit",
        "people-1-name": "", "people-1-form": "none",
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    person = DispositionPerson.objects.get()
    assert (person.name, person.form, person.sanction) == ("张三", "form_2", "gov_demerit")
    assert person.disposition.amount_confiscated == 200


def test_the_bell_counts_unread_and_the_inbox_marks_them_read(applying, people, client_for):
    wf.alert_apply_results(alert_id=applying.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="某局", text="请注意")])
    assert Notification.objects.filter(recipient=people.kunshan_leader, kind="awaiting_evaluation").exists()
    c = client_for(people.kunshan_leader)
    unread = Notification.objects.filter(recipient=people.kunshan_leader, read_at__isnull=True).count()
    body = c.get(reverse("web:evaluation")).content.decode()
    assert f'data-testid="bell-count">{unread}<' in body
    inbox = c.get(reverse("web:inbox") + "?unread=on&kind=awaiting_evaluation").content.decode()
    note = Notification.objects.get(recipient=people.kunshan_leader, kind="awaiting_evaluation")
    assert f'data-notification="{note.pk}"' in inbox
    r = c.get(reverse("web:notification_open", args=[note.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("web:alert_detail", args=[applying.pk])
    c.post(reverse("web:notifications_read"))
    assert 'data-testid="bell-count"' not in c.get(reverse("web:evaluation")).content.decode()
    other = client_for(people.kunshan_supervisor)
    assert other.get(reverse("web:notification_open", args=[note.pk])).status_code == 404


def test_the_dashboard_shows_people_and_links_to_their_alerts(make_alert, people, client_for):
    alert = drive(make_alert(), "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    wf.alert_dispose(alert_id=alert.pk, by=people.kunshan_supervisor, outcome="form_2", people=[
        wf.PersonInput(name="张三", form="form_2")])
    drive(make_alert(), "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    c = client_for(people.city_leader)
    body = c.get(reverse("web:dashboard") + "?period=all").content.decode()
    assert 'data-testid="people-figures"' in body and "person=form_2" in body
    listed = c.get(reverse("web:alert_list") + "?person=form_2").content.decode()
    assert listed.count("data-alert=") == 1 and f'data-alert="{alert.pk}"' in listed


def test_a_reply_attachment_is_downloaded_only_in_scope(applying, people, client_for, api):
    order = _orders(applying, people, 1)[0]
    r = api(people.kunshan_supervisor).post(
        f"/api/v1/rectification-orders/{order.pk}/feedback/",
        {"feedback": "整改报告见附件", "files": [SimpleUploadedFile("report.txt", "整改完成".encode(), "text/plain")]},
        format="multipart",
    )
    assert r.status_code == 200, r.content
    att = FeedbackAttachment.objects.get(order=order)
    got = client_for(people.kunshan_supervisor).get(reverse("web:attachment", args=[att.pk]))
    assert got.status_code == 200 and got["Cache-Control"] == "private, no-store"
    assert client_for(people.changshu_supervisor).get(reverse("web:attachment", args=[att.pk])).status_code == 404
