"""The deadline sweep: the source of truth for reminders and escalation.

Deadlines are columns, not timers. Every minute (Celery beat, or `manage.py run_sweeper` on the
embedded default) `sweep()`:

1. records the 'deadline approaching' notice (step 0) for alerts entering their warning window;
2. climbs the escalation ladder for overdue alerts: step 1 reminder to the assignee, step 2 yellow
   card to the unit's supervisors, step 3 督办 red card to its leaders with `supervised = True`;
3. notifies the issuer of rectification orders past their due date without feedback (once);
4. retries outbox deliveries that are still pending.

Exactly once: alerts are claimed in batches with SELECT … FOR UPDATE SKIP LOCKED, so concurrent
sweeps take disjoint rows; the claimed row is re-read under the lock, so its `stage_seq` (bumped on
every stage entry — the fencing token) and `escalation_level` are current; and the unique
constraint on (alert, stage_seq, step) makes a doubled step impossible even if all of that were
bypassed. Steps, timeline entries, inbox rows and outbox rows commit together; messages are sent
after commit. Each query is driven by the partial index on `due_at` of open alerts, so the cost
follows the number of due alerts, not the number of open ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.states import ActionKind, Status
from cases import timeline
from cases.models import ResultAction
from workflow import deadlines
from workflow.calendar import local
from workflow.models import EscalationStep, Notification
from workflow.notify import Message, RoleDirectory, deliveries_send, notify_many
from workflow.referrals import referrals_overdue_return

STEP_LABELS = {
    0: EscalationStep.Step.APPROACHING.label,
    1: EscalationStep.Step.REMINDER.label,
    2: EscalationStep.Step.YELLOW_CARD.label,
    3: EscalationStep.Step.RED_CARD.label,
}


@dataclass
class SweepReport:
    at: datetime
    approaching: int = 0
    steps: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0})
    supervised: int = 0
    orders_overdue: int = 0
    orders_notified: int = 0
    referrals_returned: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(), "approaching": self.approaching,
            "steps": {str(k): v for k, v in self.steps.items()}, "supervised": self.supervised,
            "orders_overdue": self.orders_overdue, "orders_notified": self.orders_notified,
            "referrals_returned": self.referrals_returned, "deliveries": self.deliveries,
        }

    def lines(self) -> list[str]:
        return [
            _("Sweep as of %(at)s") % {"at": local(self.at).isoformat(timespec="seconds")},
            _("  deadline approaching notices: %(n)d") % {"n": self.approaching},
            _("  step 1 reminders: %(n)d") % {"n": self.steps[1]},
            _("  step 2 yellow cards: %(n)d") % {"n": self.steps[2]},
            _("  step 3 supervision orders (督办): %(n)d") % {"n": self.steps[3]},
            _("  rectification orders overdue: %(n)d (newly notified: %(m)d)")
            % {"n": self.orders_overdue, "m": self.orders_notified},
            _("  referrals overdue, back to dispatch: %(n)d") % {"n": self.referrals_returned},
            _("  deliveries retried: %(d)s") % {"d": self.deliveries or {}},
        ]


def ladder_offsets() -> list[timedelta]:
    return [timedelta(hours=h) for h in settings.HUOYAN_ESCALATION_AFTER_HOURS][:3]


def responsible_for(alert: Alert, directory: RoleDirectory) -> list[User]:
    """Who has to act on the alert in its current stage (`alerts.policy.stage_actor`)."""
    actor = policy.stage_actor(alert)
    if actor == policy.ASSIGNEE:
        return [alert.assignee]
    return directory.get(alert.org_unit, actor)


def _open_due() -> Q:
    # Written as NOT (status = 'closed') so PostgreSQL uses the partial index alert_open_due_idx.
    return ~Q(status=Status.CLOSED) & Q(due_at__isnull=False)


def _claim(qs, batch: int) -> list[Alert]:  # noqa: ANN001 - a QuerySet[Alert]
    return list(
        qs.select_for_update(skip_locked=True, of=("self",))
        .select_related("org_unit", "assignee")
        .order_by("due_at", "id")[:batch]
    )


def _step_message(alert: Alert, step: int, directory: RoleDirectory) -> Message:
    ref = {"id": alert.pk, "title": alert.title, "due": local(alert.due_at).strftime("%Y-%m-%d %H:%M")}
    if step == 0:
        return Message(
            responsible_for(alert, directory), Notification.Kind.APPROACHING,
            _("Alert #%(id)s is due at %(due)s") % ref,
            _("“%(title)s” is due at %(due)s. Act on it or request an extension before then.") % ref,
            alert=alert, event={"step": 0},
        )
    if step == 1:
        return Message(
            responsible_for(alert, directory), Notification.Kind.OVERDUE,
            _("Reminder: alert #%(id)s is overdue") % ref,
            _("“%(title)s” was due at %(due)s.") % ref, alert=alert, event={"step": 1},
        )
    if step == 2:
        return Message(
            directory.supervisors(alert.org_unit), Notification.Kind.ESCALATION,
            _("Yellow card: alert #%(id)s is overdue") % ref,
            _("Written reminder: “%(title)s” was due at %(due)s and is still open.") % ref,
            alert=alert, event={"step": 2},
        )
    return Message(
        [*directory.leaders(alert.org_unit), *directory.supervisors(alert.org_unit)],
        Notification.Kind.ESCALATION,
        _("Supervision order (督办): alert #%(id)s") % ref,
        _("Red card: “%(title)s” was due at %(due)s; it is now under supervision.") % ref,
        alert=alert, event={"step": 3},
    )


def _record_steps(claimed: list[tuple[Alert, list[int]]], now: datetime, directory: RoleDirectory) -> None:
    """Write steps, timeline entries and messages for claimed alerts (inside the transaction)."""
    if not claimed:
        return
    directory.preload(a.org_unit for a, _ in claimed)
    EscalationStep.objects.bulk_create(
        EscalationStep(alert=a, stage_seq=a.stage_seq, stage=a.status, step=s, due_at=a.due_at, at=now)
        for a, steps in claimed for s in steps
    )
    timeline.escalation_steps(
        steps=((a, s, str(STEP_LABELS[s])) for a, steps in claimed for s in steps if s > 0), at=now,
    )
    notify_many([_step_message(a, s, directory) for a, steps in claimed for s in steps], now=now)


def sweep_approaching(*, now: datetime, report: SweepReport, batch: int) -> None:
    window = deadlines.max_warning_window()
    already = EscalationStep.objects.filter(alert=OuterRef("pk"), stage_seq=OuterRef("stage_seq"), step=0)
    base = Alert.objects.filter(
        _open_due(), due_at__gt=now, due_at__lte=now + window, escalation_level=0
    ).filter(~Exists(already))
    after: tuple[datetime, int] | None = None
    while True:
        directory = RoleDirectory()
        with transaction.atomic():
            qs = base
            if after is not None:
                qs = qs.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], pk__gt=after[1]))
            rows = _claim(qs, batch)
            if not rows:
                return
            after = (rows[-1].due_at, rows[-1].pk)
            claimed = [(a, [0]) for a in rows if a.due_at - deadlines.warning_window_for(a) <= now]
            _record_steps(claimed, now, directory)
            report.approaching += len(claimed)
        if len(rows) < batch:
            return


def sweep_overdue(
    *, now: datetime, report: SweepReport, batch: int, on_claimed: Callable[[list[Alert]], None] | None = None,
) -> None:
    offsets = ladder_offsets()
    reached = Q()
    for level, offset in enumerate(offsets):
        reached |= Q(escalation_level=level, due_at__lte=now - offset)
    base = Alert.objects.filter(_open_due(), due_at__lte=now - offsets[0]).filter(reached)
    while True:
        directory = RoleDirectory()
        with transaction.atomic():
            rows = _claim(base, batch)
            if not rows:
                return
            claimed: list[tuple[Alert, list[int]]] = []
            for alert in rows:
                target = sum(1 for off in offsets if alert.due_at + off <= now)
                steps = list(range(alert.escalation_level + 1, target + 1))
                if not steps:
                    continue
                alert.escalation_level = target
                if target >= 3 and not alert.supervised:
                    alert.supervised = True
                    report.supervised += 1
                claimed.append((alert, steps))
                for s in steps:
                    report.steps[s] += 1
            _record_steps(claimed, now, directory)
            # One UPDATE per (level, supervised) group: a handful of statements per batch.
            groups: dict[tuple[int, bool], list[int]] = {}
            for alert, _ in claimed:
                groups.setdefault((alert.escalation_level, alert.supervised), []).append(alert.pk)
            for (level, supervised), ids in groups.items():
                Alert.objects.filter(pk__in=ids).update(escalation_level=level, supervised=supervised)
            if on_claimed is not None:
                on_claimed(rows)
        if len(rows) < batch:
            return


def sweep_orders(*, now: datetime, report: SweepReport) -> None:
    today = local(now).date()
    overdue = list(
        ResultAction.objects.filter(
            kind=ActionKind.RECTIFICATION_ORDER, feedback_at__isnull=True, due_date__lt=today
        ).select_related("alert", "alert__org_unit", "issued_by")
    )
    report.orders_overdue = len(overdue)
    if not overdue:
        return
    messages = [
        Message(
            [order.issued_by], Notification.Kind.RECTIFICATION_OVERDUE,
            _("Rectification order #%(id)s is overdue") % {"id": order.pk},
            _("The order to %(to)s on alert #%(alert)s was due on %(due)s and has no feedback yet.")
            % {"to": order.recipient, "alert": order.alert_id, "due": order.due_date},
            alert=order.alert, key=f"order-overdue:{order.pk}", event={"order": order.pk},
        )
        for order in overdue
    ]
    with transaction.atomic():
        kind = Notification.objects.filter(kind=Notification.Kind.RECTIFICATION_OVERDUE)
        before = kind.count()
        notify_many(messages, now=now)
        report.orders_notified = kind.count() - before


def sweep(
    *, now: datetime | None = None, deliveries: bool = True,
    on_claimed: Callable[[list[Alert]], None] | None = None,
) -> SweepReport:
    """One sweep as of `now` (default: the current time). Safe to run concurrently and repeatedly."""
    now = now or timezone.now()
    batch = settings.HUOYAN_SWEEP_BATCH
    report = SweepReport(at=now)
    sweep_overdue(now=now, report=report, batch=batch, on_claimed=on_claimed)
    sweep_approaching(now=now, report=report, batch=batch)
    sweep_orders(now=now, report=report)
    report.referrals_returned = referrals_overdue_return(now=now)
    if deliveries:
        report.deliveries = deliveries_send(now=max(now, timezone.now()))
    return report
