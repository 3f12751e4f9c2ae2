"""The rectification ledger and the close guard: an order without accepted feedback keeps the
alert from closing unless the leader gives a reason; replies are accepted or rejected; overdue
replies climb the reminder ladder on working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts.states import ActionKind
from audit.models import AuditEvent
from cases.models import Evaluation, ResultAction
from tests.api.helpers import transition_url
from workflow import services as wf
from workflow.calendar import local
from workflow.models import Notification
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _evaluating_with_order(alert, people):
    due = local(timezone.now()).date() + timedelta(days=10)
    wf.alert_apply_results(alert_id=alert.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient="某局", text="请整改", due_date=due),
    ])
    return ResultAction.objects.get(alert=alert)


def test_close_is_refused_while_an_order_lacks_accepted_feedback(applying, people, api):
    order = _evaluating_with_order(applying, people)
    leader = api(people.kunshan_leader)
    r = leader.post(transition_url(applying, "close"), {"score": 4}, format="json")
    assert r.status_code == 409, r.content
    applying.refresh_from_db()
    assert applying.status == "evaluating"
    # A reply recorded but not accepted still holds it.
    sup = api(people.kunshan_supervisor)
    assert sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "已整改"}).status_code == 200
    assert leader.post(transition_url(applying, "close"), {"score": 4}, format="json").status_code == 409
    assert sup.post(f"/api/v1/rectification-orders/{order.pk}/accept/", {}).status_code == 200
    assert leader.post(transition_url(applying, "close"), {"score": 4}, format="json").status_code == 200


def test_the_leader_may_close_anyway_with_a_recorded_reason(applying, people, api):
    _evaluating_with_order(applying, people)
    r = api(people.kunshan_leader).post(
        transition_url(applying, "close"), {"score": 3, "override_reason": "整改已由巡察组确认"}, format="json")
    assert r.status_code == 200, r.content
    ev = Evaluation.objects.get(alert=applying)
    assert ev.override_reason == "整改已由巡察组确认"
    assert AuditEvent.objects.filter(action="closed_open_orders", object_id=str(applying.pk)).exists()
    assert "整改已由巡察组确认" in applying.timeline.get(action="close").text


def test_a_rejected_reply_keeps_the_order_open_and_a_new_reply_can_follow(applying, people, api):
    order = _evaluating_with_order(applying, people)
    sup = api(people.kunshan_supervisor)
    assert sup.post(f"/api/v1/rectification-orders/{order.pk}/accept/", {}).status_code == 409  # no reply yet
    sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "已整改"})
    assert sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "again"}).status_code == 409
    assert sup.post(f"/api/v1/rectification-orders/{order.pk}/reject/", {}).status_code == 400
    assert api(people.kunshan_verifier).post(
        f"/api/v1/rectification-orders/{order.pk}/reject/", {"reason": "x"}).status_code == 403
    r = sup.post(f"/api/v1/rectification-orders/{order.pk}/reject/", {"reason": "材料不全"})
    assert r.json()["state"] == "rejected" and r.json()["is_closed"] is False
    assert sup.get("/api/v1/rectification-orders/?state=rejected").json()["count"] == 1
    r = sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "补充材料"})
    assert r.json()["state"] == "replied"


def test_the_ledger_lists_states_and_exports_xlsx(applying, people, api, make_alert, client_for):
    import io

    from openpyxl import load_workbook

    _evaluating_with_order(applying, people)
    ResultAction.objects.create(alert=make_alert(), issued_by=people.kunshan_supervisor, kind="rectification_order",
                                recipient="旧局", text="整改", due_date=date(2020, 1, 1))
    sup = api(people.kunshan_supervisor)
    states = {o["recipient"]: o["state"] for o in sup.get("/api/v1/rectification-orders/").json()["results"]}
    assert states == {"某局": "awaiting", "旧局": "overdue"}
    assert [o["recipient"] for o in sup.get("/api/v1/rectification-orders/?overdue=true").json()["results"]] == ["旧局"]
    assert api(people.changshu_supervisor).get("/api/v1/rectification-orders/").json()["count"] == 0
    r = client_for(people.kunshan_supervisor).get("/ledger/export.xlsx?state=overdue")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert [row[4] for row in ws.iter_rows(min_row=2, values_only=True)] == ["旧局"]
    assert isinstance(ws.cell(row=2, column=7).value, datetime)


def test_overdue_replies_climb_the_ladder_on_working_days_only(make_alert, people):
    order = ResultAction.objects.create(
        alert=make_alert(), issued_by=people.kunshan_supervisor, kind="rectification_order",
        recipient="某局", text="整改", due_date=date(2025, 11, 10),  # a Monday
    )
    report = sweep(now=datetime(2025, 11, 11, 9, 0, tzinfo=SH), deliveries=False)  # 1 working day late
    assert (report.orders_overdue, report.orders_notified) == (1, 1)
    assert sweep(now=datetime(2025, 11, 11, 15, 0, tzinfo=SH), deliveries=False).orders_notified == 0
    assert Notification.objects.filter(kind="rectification_overdue", recipient=people.kunshan_supervisor).count() == 1
    # Saturday 15th and Sunday 16th are not working days: nothing moves.
    assert sweep(now=datetime(2025, 11, 15, 9, 0, tzinfo=SH), deliveries=False).orders_notified == 0
    # Thursday 13th is the 3rd working day late: the yellow card.
    sweep(now=datetime(2025, 11, 13, 9, 0, tzinfo=SH), deliveries=False)
    order.refresh_from_db()
    assert order.reminder_level == 2
    # Monday 17th is the 5th: the red card reaches the leader.
    sweep(now=datetime(2025, 11, 17, 9, 0, tzinfo=SH), deliveries=False)
    order.refresh_from_db()
    assert order.reminder_level == 3
    assert Notification.objects.filter(recipient=people.kunshan_leader, kind="rectification_overdue").exists()


def test_the_assessments_order_counts_follow_the_order_and_its_replies(applying, people, api, monkeypatch):
    """Issued: one order due, not replied on time. Replied before the due day: on time. Rejected and
    replied again after the due day: late again. Each step leaves the rollups equal to a recount."""
    from workflow import rollups
    from workflow.models import AlertRollup

    order = _evaluating_with_order(applying, people)

    def counted():
        assert rollups.differences() == []
        row = AlertRollup.objects.get(dim=AlertRollup.Dim.ORDERS, org_unit=applying.org_unit, day=order.due_date)
        return row.n, row.n - row.late

    assert counted() == (1, 0)
    sup = api(people.kunshan_supervisor)
    sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "已整改"})
    assert counted() == (1, 1)
    sup.post(f"/api/v1/rectification-orders/{order.pk}/reject/", {"reason": "材料不全"})
    after_due = datetime.combine(order.due_date + timedelta(days=1), datetime.min.time(), tzinfo=SH)
    monkeypatch.setattr(timezone, "now", lambda: after_due + timedelta(hours=9))
    sup.post(f"/api/v1/rectification-orders/{order.pk}/feedback/", {"feedback": "补充材料"})
    monkeypatch.undo()
    assert counted() == (1, 0)


def test_the_ledgers_pager_counts_orders_without_calling_them_alerts(applying, people, client):
    _evaluating_with_order(applying, people)
    client.force_login(people.kunshan_supervisor)
    for lang, text, wrong in (("zh-hans", "共 1 条", "条预警"), ("en", "1 in all", "alert")):
        client.cookies["django_language"] = lang
        page = client.get("/ledger/")
        counted = page.content.decode().split('data-testid="page-count">')[1].split("</span>")[0]
        assert text in counted and wrong not in counted, counted
