"""预警纠治: recording the department's reply to a referral, and returning warnings whose reply
is overdue to dispatch. Referring, accepting and rejecting are transitions
(`workflow.services.alert_refer`, `alert_accept_referral`, `alert_reject_referral`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update
from alerts.states import Status
from cases import timeline
from cases.models import Finding, Referral
from cases.services import evidence_store
from core.errors import Conflict, Forbidden
from workflow import deadlines, rollups
from workflow.calendar import local
from workflow.models import Notification
from workflow.notify import Message, RoleDirectory, notify_many


def referral_reply_record(
    *, alert_id: int, by: User, reply: str, files: Sequence[UploadedFile] = (),
) -> Referral:
    """A supervisor records what the department answered (text and attachments, kept as a
    finding so they download like any evidence). Accepting or rejecting it is the next step."""
    if not reply.strip():
        raise ValidationError({"reply": [_("Write down what the department answered.")]})
    with transaction.atomic():
        alert = alert_for_update(user=by, alert_id=alert_id)
        if not policy.is_transition_actor(by, alert, "accept_referral"):
            raise Forbidden(_("Only a supervisor can record the department's reply."))
        if alert.status != Status.REFERRED:
            raise Conflict(_("This alert is not waiting for a department's reply."))
        referral = (
            Referral.objects.select_for_update().filter(alert=alert, state=Referral.State.AWAITING)
            .order_by("-created_at", "-id").first()
        )
        if referral is None:
            raise Conflict(_("The department's reply has already been recorded."))
        finding = Finding.objects.create(alert=alert, author=by, text=reply, method=Finding.Method.DEPARTMENT_REPLY)
        stored = evidence_store(finding=finding, files=files)
        referral.reply, referral.replied_at, referral.reply_finding = reply, timezone.now(), finding
        referral.state = Referral.State.REPLIED
        referral.save(update_fields=["reply", "replied_at", "reply_finding", "state"])
        timeline.referral_reply_recorded(alert=alert, by=by, referral_id=referral.pk, reply=reply, files=stored)
    return referral


def referrals_overdue_return(*, now: datetime) -> int:
    """The sweep: warnings whose department did not reply by the due date go back to dispatch.
    Claimed with SKIP LOCKED, so two sweepers never return one twice."""
    today = local(now).date()
    with transaction.atomic():
        alerts = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.REFERRED, pk__in=Referral.objects.filter(
                state=Referral.State.AWAITING, due_date__lt=today).values("alert_id"))
            .select_related("org_unit", "source").order_by("id")[:500]
        )
        if not alerts:
            return 0
        directory = RoleDirectory()
        messages = []
        for alert in alerts:
            Referral.objects.filter(alert=alert, state=Referral.State.AWAITING).update(
                state=Referral.State.OVERDUE, decided_at=now,
            )
            counted_before, stage_time = rollups.contribution(alert), deadlines.stage_time(alert, now)
            alert.reject_referral()
            alert.stage_entered_at, alert.stage_seq, alert.escalation_level = now, alert.stage_seq + 1, 0
            alert.due_at = deadlines.due_at_for(alert, now)
            alert.save()
            entry = timeline.referral_rejected(alert=alert, by=None, from_status=Status.REFERRED,
                                               reason=_("The department did not reply in time."), overdue=True,
                                               stage_time=stage_time)
            # The dashboard's counts move with the alert, in this same transaction.
            rollups.apply(rollups.merge(rollups.difference(rollups.contribution(alert), counted_before),
                                        rollups.stage_left(alert, entry)))
            messages.append(Message(
                directory.supervisors(alert.org_unit), Notification.Kind.OVERDUE,
                _("Alert #%(id)s is back for dispatch") % {"id": alert.pk},
                _("The department did not reply to the referral in time; dispatch the warning again."),
                alert=alert, key=f"referral-overdue:{alert.pk}:{alert.stage_seq}",
            ))
        notify_many(messages, now=now)
    return len(alerts)
