"""Side effects of changes.

`transition_recorded` runs inside the transition's transaction and writes the inbox and outbox
rows (so a crash right after the commit cannot lose them); `notify` schedules the sending for
after the commit.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert
from alerts.states import Status
from cases.models import Assignment
from workflow.models import Notification
from workflow.notify import Message, RoleDirectory, notify_many


def _messages_for(alert: Alert, name: str, by: User) -> list[Message]:
    ref = {"id": alert.pk, "title": alert.title, "by": by.display_name}
    if name == "assign" and alert.assignee_id:
        return [Message(
            [alert.assignee], Notification.Kind.ASSIGNED, _("Alert #%(id)s was assigned to you") % ref,
            _("%(by)s assigned “%(title)s” to you. Sign for it or return it.") % ref, alert=alert,
        )]
    if name == "return":
        last = (
            Assignment.objects.filter(alert=alert, returned_at__isnull=False)
            .select_related("assigned_by").order_by("-returned_at", "-id").first()
        )
        if last is None:
            return []
        return [Message(
            [last.assigned_by], Notification.Kind.RETURNED, _("Alert #%(id)s was returned to you") % ref,
            _("%(by)s returned “%(title)s”: %(reason)s") % {**ref, "reason": last.return_reason}, alert=alert,
        )]
    if name == "send_back":
        directory = RoleDirectory()
        if alert.status == Status.VERIFYING and alert.assignee_id:
            to = [alert.assignee]
        else:
            to = directory.supervisors(alert.org_unit)
        return [Message(
            to, Notification.Kind.SENT_BACK, _("Alert #%(id)s was sent back to you") % ref,
            _("%(by)s sent “%(title)s” back to %(stage)s.") % {**ref, "stage": alert.get_status_display()},
            alert=alert,
        )]
    if alert.status == Status.EVALUATING and name in ("apply_results", "submit_verification"):
        return [Message(
            RoleDirectory().leaders(alert.org_unit), Notification.Kind.AWAITING_EVALUATION,
            _("Alert #%(id)s awaits your evaluation") % ref,
            _("“%(title)s” has reached evaluation: review the handling, then close it or send it back.") % ref,
            alert=alert,
        )]
    return []


def transition_recorded(*, alert: Alert, name: str, by: User) -> None:
    """Inside the transition's transaction: write who must hear about it."""
    notify_many(_messages_for(alert, name, by))

