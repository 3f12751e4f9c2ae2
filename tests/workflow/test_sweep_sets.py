"""The set-based sweep: a step recorded before has no side effects, a stale stage entry is fenced,
levels only rise, the statements per batch do not grow with the batch, and two sweepers running
at once escalate every alert exactly once (timeline, inbox and outbox included)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert
from cases.models import TimelineEntry
from workflow.models import Delivery, EscalationStep, Notification, OrgUnitWebhook
from workflow.services import alert_accept, alert_assign
from workflow.sweep import SweepReport, record_steps, sweep, sweep_overdue

SH = ZoneInfo("Asia/Shanghai")
DUE = datetime(2025, 11, 20, 23, 59, 59, tzinfo=SH)


@pytest.fixture
def reachable(org, people):
    """Every inbox row also writes an email, and every message a webhook delivery, so a side
    effect that should not happen has somewhere to show."""
    for user in (people.kunshan_verifier, people.kunshan_supervisor, people.kunshan_leader):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    OrgUnitWebhook.objects.create(org_unit=org.kunshan, url="https://hooks.example.org/huoyan", secret="s")


def assigned_alert(make_alert, people, due: datetime = DUE) -> Alert:
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    Alert.objects.filter(pk=alert.pk).update(due_at=due)
    alert.refresh_from_db()
    return alert


def side_effects(alert: Alert) -> tuple[int, int, int]:
    """(escalation timeline entries, inbox rows, outbox rows) about the alert."""
    kinds = ["overdue", "escalation"]
    return (
        TimelineEntry.objects.filter(alert=alert, kind=TimelineEntry.Kind.ESCALATION).count(),
        Notification.objects.filter(alert=alert, kind__in=kinds).count(),
        Delivery.objects.filter(notification__alert=alert, notification__kind__in=kinds).count()
        + Delivery.objects.filter(webhook__isnull=False, payload__alert__id=alert.pk, payload__event__in=kinds).count(),
    )


@pytest.mark.django_db
def test_a_step_recorded_before_has_no_side_effects(make_alert, people, reachable):
    done = assigned_alert(make_alert, people)
    fresh = assigned_alert(make_alert, people)
    EscalationStep.objects.create(alert=done, stage_seq=done.stage_seq, stage=done.status, step=1, due_at=DUE, at=DUE)

    report = sweep(now=DUE + timedelta(minutes=1), deliveries=False)

    assert report.steps[1] == 1  # the fresh alert's step only
    assert EscalationStep.objects.filter(alert=done).count() == 1
    assert side_effects(done) == (0, 0, 0)
    # The same sweep did write everything for the alert whose step was new: inbox, email, webhook.
    assert side_effects(fresh) == (1, 1, 2)
    done.refresh_from_db()
    assert done.escalation_level == 1  # the level still matches the steps on record


@pytest.mark.django_db
def test_a_stale_stage_entry_is_fenced(make_alert, people, reachable):
    alert = assigned_alert(make_alert, people)
    stale = Alert.objects.select_related("org_unit", "assignee").get(pk=alert.pk)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)  # a new stage entry: stage_seq + 1
    stale.escalation_level = 1

    written = record_steps([(stale, [1])], now=DUE + timedelta(minutes=1))

    assert written.steps == []
    assert EscalationStep.objects.filter(alert=alert).count() == 0
    assert side_effects(alert) == (0, 0, 0)
    alert.refresh_from_db()
    assert (alert.stage_seq, alert.escalation_level) == (stale.stage_seq + 1, 0)


@pytest.mark.django_db
def test_levels_never_go_down_and_supervision_never_turns_off(make_alert, people):
    alert = assigned_alert(make_alert, people)
    Alert.objects.filter(pk=alert.pk).update(escalation_level=3, supervised=True)
    alert.refresh_from_db()
    lower = Alert.objects.select_related("org_unit", "assignee").get(pk=alert.pk)
    lower.escalation_level, lower.supervised = 1, False

    record_steps([(lower, [1])], now=DUE + timedelta(minutes=1))

    alert.refresh_from_db()
    assert (alert.escalation_level, alert.supervised) == (3, True)
    # And the sweep leaves an alert above its due rung alone.
    report = sweep(now=DUE + timedelta(minutes=5), deliveries=False)
    assert report.steps == {1: 0, 2: 0, 3: 0}
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.supervised) == (3, True)


@pytest.mark.django_db
def test_the_statements_per_batch_do_not_grow_with_the_batch(make_alert, people, reachable, settings):
    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 24, 72]

    def statements(n: int, offset: timedelta) -> int:
        for _ in range(n):
            assigned_alert(make_alert, people, due=DUE - offset)
        report = SweepReport(at=DUE)
        with CaptureQueriesContext(connection) as ctx:
            sweep_overdue(now=DUE + timedelta(days=4), report=report, batch=100)
        assert sum(report.steps.values()) == 3 * n  # every alert climbs all three rungs
        return len(ctx.captured_queries)

    few = statements(2, timedelta(0))
    many = statements(12, timedelta(hours=1))  # a different unit set would add lookups: same unit
    assert many == few


@pytest.mark.django_db
def test_the_rows_written_are_those_the_notification_service_would_write(make_alert, people, reachable):
    """On PostgreSQL the database builds the rows from the texts Python sends; they must be what
    `notify_many` writes (same masked texts, recipients, email and webhook payloads)."""
    from workflow.notify import RoleDirectory, inbox_texts, unique_recipients, webhook_payload
    from workflow.sweep import STEP_LABELS, _step_message

    alert = assigned_alert(make_alert, people)
    Alert.objects.filter(pk=alert.pk).update(title="核查 联系人 13912345678 的报销")
    now = DUE + timedelta(hours=80)  # a late sweep: steps 1, 2 and 3 at once
    sweep(now=now, deliveries=False)

    alert = Alert.objects.select_related("org_unit", "assignee").get(pk=alert.pk)
    assert (alert.escalation_level, alert.supervised) == (3, True)
    for step in (1, 2, 3):
        msg = _step_message(alert, step, RoleDirectory())
        title, body = inbox_texts(msg)
        assert "13912345678" not in title + body and "139****5678" in body
        notes = Notification.objects.filter(alert=alert, kind=msg.kind, title=title, body=body)
        assert sorted(n.recipient_id for n in notes) == sorted(u.pk for u in unique_recipients(msg))
        for note in notes:
            [mail] = note.deliveries.all()
            assert (mail.channel, mail.address, mail.payload) == (
                "email", note.recipient.email, {"subject": title, "body": body})
        [hook] = Delivery.objects.filter(channel="webhook", payload__alert__id=alert.pk, payload__step=step)
        assert hook.address == "https://hooks.example.org/huoyan"
        assert hook.payload == webhook_payload(msg, now=now)
        [entry] = TimelineEntry.objects.filter(alert=alert, kind=TimelineEntry.Kind.ESCALATION, action=f"step_{step}")
        assert (entry.text, entry.from_status, entry.to_status) == (str(STEP_LABELS[step]), alert.status, alert.status)
        assert entry.data == {"step": step, "stage_seq": alert.stage_seq, "due_at": alert.due_at.isoformat()}


def _mixed_overdue(org, source, n: int) -> dict[int, int]:
    """n overdue alerts in Kunshan whose deadlines are spread so they reach 1, 2 or 3 rungs;
    returns {alert id: rungs}."""
    from alerts.models import RISK_RANK

    now = DUE + timedelta(days=4)
    rungs = {}
    alerts = []
    for i in range(n):
        hours = (1, 30, 80)[i % 3]
        alerts.append(Alert(
            title=f"overdue {i}", risk_level="orange", risk_rank=RISK_RANK["orange"], org_unit=org.kunshan,
            source=source, dedup_key=f"mixed-{i}", stage_entered_at=now - timedelta(days=10),
            due_at=now - timedelta(hours=hours, seconds=i), created_at=now, updated_at=now,
        ))
    for alert, i in zip(Alert.objects.bulk_create(alerts), range(n), strict=True):
        rungs[alert.pk] = 1 + i % 3
    return rungs


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweepers_escalate_each_alert_exactly_once(org, people, source, reachable, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; concurrent claims need PostgreSQL's row locks")
    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 24, 72]
    settings.HUOYAN_SWEEP_BATCH = 20  # many small claims, so the two sweepers interleave
    rungs = _mixed_overdue(org, source, 240)
    now = DUE + timedelta(days=4)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            close_old_connections()  # each thread has its own connection
            barrier.wait()
            reports.append(sweep(now=now, deliveries=False))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    expected = sum(rungs.values())
    assert sum(sum(r.steps.values()) for r in reports) == expected
    assert EscalationStep.objects.filter(alert_id__in=rungs).count() == expected
    assert TimelineEntry.objects.filter(alert_id__in=rungs, kind=TimelineEntry.Kind.ESCALATION).count() == expected
    # Inbox: step 1 to the unit's supervisor (the alerts await dispatch), step 2 to the
    # supervisor, step 3 to the leader and the supervisor; one email each, one webhook per step.
    inbox = sum({1: 1, 2: 2, 3: 4}[r] for r in rungs.values())
    assert Notification.objects.filter(alert_id__in=rungs).count() == inbox
    assert Delivery.objects.filter(channel="email").count() == inbox
    assert Delivery.objects.filter(channel="webhook").count() == expected
    for pk, level in Alert.objects.filter(pk__in=rungs).values_list("pk", "escalation_level"):
        assert level == rungs[pk]
    assert Alert.objects.filter(pk__in=rungs, supervised=True).count() == sum(1 for r in rungs.values() if r == 3)
    # A third sweep finds nothing left to do.
    assert sweep(now=now, deliveries=False).steps == {1: 0, 2: 0, 3: 0}


def test_an_sqlite_too_old_for_the_sweep_fails_the_system_check(monkeypatch):
    import sqlite3

    from workflow import checks

    monkeypatch.setattr(checks, "connections", {"default": type("C", (), {"vendor": "sqlite"})()})
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    [error] = checks.sqlite_version_check()
    assert error.id == "workflow.E001" and "3.34.1" in error.msg
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 40, 1))
    assert checks.sqlite_version_check() == []
