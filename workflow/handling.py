"""Cases handled across units: 提级办理 (a unit above takes an alert over). Cross-verification
(交叉核查) is a dispatch and lives in `workflow.services.alert_assign(cross_unit=True)`.

The alert keeps its owning unit and gains a handling unit: the handling unit's people see it
while it is open and act on it; the owning unit keeps reading it; nobody else gains sight.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update
from audit.models import AuditEvent
from audit.services import audit_record
from cases import timeline
from core.errors import Forbidden
from workflow.models import Notification
from workflow.notify import Message, RoleDirectory, notify_many


def alert_escalate_handling(*, alert_id: int, by: User, reason: str) -> Alert:
    if not reason.strip():
        raise ValidationError({"reason": [_("A reason is required.")]})
    with transaction.atomic():
        alert = alert_for_update(user=by, alert_id=alert_id)
        if not policy.may_escalate_handling(by, alert):
            raise Forbidden(_("Only a supervisor of a unit above the alert's unit can take an open alert over."))
        alert.handling_unit = by.org_unit
        alert.save(update_fields=["handling_unit", "updated_at"])
        timeline.handling_escalated(alert=alert, by=by, reason=reason, handling_unit_name=by.org_unit.name)
        audit_record(action=AuditEvent.Action.STATE_CHANGE, actor=by, object_type="alert", object_id=alert.pk,
                     data={"handling_unit": by.org_unit.code, "reason": reason})
        ref = {"id": alert.pk, "unit": by.org_unit.name, "reason": reason}
        notify_many([Message(
            RoleDirectory().supervisors(alert.org_unit), Notification.Kind.ESCALATION,
            _("Alert #%(id)s is now handled by %(unit)s") % ref,
            _("%(unit)s took the alert over (提级办理): %(reason)s") % ref, alert=alert,
        )])
    return alert
