"""The sweep: approaching notice once, the ladder step by step, leaving the stage stops it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from cases.models import TimelineEntry
from workflow.models import EscalationStep, Notification
from workflow.services import alert_accept, alert_assign
from workflow.sweep import sweep

SH = ZoneInfo("Asia/Shanghai")
DUE = datetime(2025, 11, 20, 23, 59, 59, tzinfo=SH)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(make_alert, people):
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert.refresh_from_db()
    alert.due_at = DUE
    alert.save(update_fields=["due_at"])
    return alert


def steps_of(alert) -> list[int]:
    return list(EscalationStep.objects.filter(alert=alert).order_by("step").values_list("step", flat=True))


def test_it_sends_the_approaching_notice_once(assigned, people):
    sweep(now=DUE - timedelta(hours=30), deliveries=False)
    assert steps_of(assigned) == []
    report = sweep(now=DUE - timedelta(hours=20), deliveries=False)
    assert report.approaching == 1
    sweep(now=DUE - timedelta(hours=10), deliveries=False)
    assert steps_of(assigned) == [0]
    assert Notification.objects.filter(
        recipient=people.kunshan_verifier, kind=Notification.Kind.APPROACHING
    ).count() == 1


def test_it_climbs_the_ladder_once_per_step(assigned, people, settings):
    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 24, 72]
    report = sweep(now=DUE + timedelta(minutes=1), deliveries=False)
    assert report.steps == {1: 1, 2: 0, 3: 0}
    sweep(now=DUE + timedelta(minutes=2), deliveries=False)
    assigned.refresh_from_db()
    assert (assigned.escalation_level, assigned.supervised) == (1, False)
    assert Notification.objects.filter(recipient=people.kunshan_verifier, kind="overdue").count() == 1

    sweep(now=DUE + timedelta(hours=25), deliveries=False)
    assigned.refresh_from_db()
    assert assigned.escalation_level == 2
    assert Notification.objects.filter(recipient=people.kunshan_supervisor, kind="escalation").count() == 1

    report = sweep(now=DUE + timedelta(hours=73), deliveries=False)
    assert report.steps[3] == 1 and report.supervised == 1
    assigned.refresh_from_db()
    assert (assigned.escalation_level, assigned.supervised) == (3, True)
    assert Notification.objects.filter(recipient=people.kunshan_leader, kind="escalation").count() == 1
    assert steps_of(assigned) == [1, 2, 3]
    assert TimelineEntry.objects.filter(alert=assigned, kind=TimelineEntry.Kind.ESCALATION).count() == 3

    sweep(now=DUE + timedelta(days=30), deliveries=False)
    assert steps_of(assigned) == [1, 2, 3]


def test_a_late_sweep_records_every_step_it_missed(assigned):
    report = sweep(now=DUE + timedelta(days=10), deliveries=False)
    assert report.steps == {1: 1, 2: 1, 3: 1}
    assert steps_of(assigned) == [1, 2, 3]


def test_leaving_the_stage_stops_the_ladder_and_starts_a_new_clock(assigned, people):
    sweep(now=DUE - timedelta(hours=10), deliveries=False)  # only the approaching notice
    assigned.refresh_from_db()
    assert not assigned.ever_overdue
    sweep(now=DUE + timedelta(minutes=1), deliveries=False)
    alert = alert_accept(alert_id=assigned.pk, by=people.kunshan_verifier)
    assert alert.escalation_level == 0 and alert.stage_seq == assigned.stage_seq + 1
    # The new stage starts on time, but the alert went past a deadline once (the assessment's
    # "ever overdue"), and its 接收 stage was left late.
    assert alert.ever_overdue
    left = TimelineEntry.objects.get(alert=alert, action="accept")
    assert left.stage_due_at == DUE and left.at > DUE
    sweep(now=DUE + timedelta(hours=30), deliveries=False)
    assert EscalationStep.objects.filter(alert=alert, stage_seq=alert.stage_seq).count() == 0


def test_the_command_prints_what_it_did(assigned, capsys):
    call_command("sweep_deadlines", "--at", (DUE + timedelta(minutes=5)).isoformat(), "--no-deliveries")
    out = capsys.readouterr().out
    assert "step 1 reminders: 1" in out
    call_command("sweep_deadlines", "--at", "2025-11-21T00:10:00", "--no-deliveries")
    assert "step 1 reminders: 0" in capsys.readouterr().out


def test_it_notifies_the_issuer_of_an_overdue_rectification_order_once(make_alert, people):
    from datetime import date

    from cases.models import ResultAction

    alert = make_alert()
    order = ResultAction.objects.create(
        alert=alert, issued_by=people.kunshan_supervisor, kind="rectification_order",
        recipient="某局", text="整改", due_date=date(2025, 11, 10),
    )
    report = sweep(now=datetime(2025, 11, 12, 9, 0, tzinfo=SH), deliveries=False)
    assert (report.orders_overdue, report.orders_notified) == (1, 1)
    report = sweep(now=datetime(2025, 11, 12, 15, 0, tzinfo=SH), deliveries=False)
    assert (report.orders_overdue, report.orders_notified) == (1, 0)
    assert Notification.objects.filter(kind="rectification_overdue", recipient=people.kunshan_supervisor).count() == 1
    assert order.pk


def test_the_database_refuses_a_doubled_step_even_without_the_claim(assigned):
    from django.db import IntegrityError, transaction

    EscalationStep.objects.create(alert=assigned, stage_seq=assigned.stage_seq, stage="assigned", step=1,
                                  due_at=DUE, at=DUE)
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationStep.objects.create(alert=assigned, stage_seq=assigned.stage_seq, stage="assigned", step=1,
                                      due_at=DUE, at=DUE)


def test_run_sweeper_once_sweeps(assigned, capsys, monkeypatch):
    import ops.management.commands.run_sweeper as cmd

    monkeypatch.setattr(cmd, "sweep", lambda: sweep(now=DUE + timedelta(minutes=1), deliveries=False))
    # It drops stale connections between sweeps; inside the test's transaction that would end the test.
    monkeypatch.setattr(cmd, "close_old_connections", lambda: None)
    call_command("run_sweeper", "--once")
    captured = capsys.readouterr()
    assert "step 1 reminders: 1" in captured.out, captured.err
    assert steps_of(assigned) == [1]
