"""Deadline extensions (延期) and rectification feedback: typed, keyword-only services that own
their transaction, lock the alert, check scope and role, and write the timeline entry and the
notifications with the change."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.selectors import alert_for_update, alerts_visible_to
from alerts.states import ActionKind
from cases import timeline
from cases.models import ResultAction
from core.errors import Conflict, Forbidden, NotFound
from workflow.calendar import add_working_days, current_calendar, local
from workflow.models import Extension, Notification
from workflow.notify import Message, RoleDirectory, notify_many

MAX_EXTENSION_DAYS = 30


def extension_request(*, alert_id: int, by: User, days: int, reason: str) -> Extension:
    if not reason.strip():
        raise ValidationError({"reason": [_("A reason is required.")]})
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationError({"days": [_("Ask for 1 to %(max)d working days.") % {"max": MAX_EXTENSION_DAYS}]})
    with transaction.atomic():
        alert = alert_for_update(user=by, alert_id=alert_id)
        if not policy.is_responsible(alert, by):
            raise Forbidden(_("Only the person responsible for the current stage can ask for more time."))
        now = timezone.now()
        if alert.due_at is None or alert.due_at <= now:
            raise Conflict(_("An extension must be requested before the deadline."))
        if Extension.objects.filter(alert=alert, stage_seq=alert.stage_seq, state=Extension.State.REQUESTED).exists():
            raise Conflict(_("An extension request for this stage is already waiting for a decision."))
        ext = Extension.objects.create(
            alert=alert, stage_seq=alert.stage_seq, stage=alert.status, requested_by=by, reason=reason,
            days=days, due_at_before=alert.due_at,
        )
        timeline.extension_requested(alert=alert, by=by, extension_id=ext.pk, days=days, reason=reason)
        supervisors = [u for u in RoleDirectory().supervisors(alert.org_unit) if u.pk != by.pk]
        ref = {"id": alert.pk, "by": by.display_name, "days": days, "reason": reason}
        notify_many([Message(
            supervisors, Notification.Kind.EXTENSION_REQUESTED,
            _("Extension requested on alert #%(id)s") % ref,
            _("%(by)s asks for %(days)d more working days: %(reason)s") % ref, alert=alert,
            event={"extension": ext.pk},
        )])
    return ext


def _decide(*, extension_id: int, by: User, approve: bool, note: str) -> Extension:
    with transaction.atomic():
        # Scoped in the look-up itself: another county's request and a missing one are the same
        # 404 with the same words, so nobody learns which ids exist elsewhere.
        ext = (
            Extension.objects.filter(pk=extension_id, alert__in=alerts_visible_to(by)).only("alert_id").first()
        )
        if ext is None:
            raise NotFound(_("Extension not found."))
        alert = alert_for_update(user=by, alert_id=ext.alert_id)
        ext = Extension.objects.select_for_update().select_related("requested_by").get(pk=extension_id)
        if not policy.may_decide_extension(by):
            raise Forbidden(_("Only a supervisor can decide on an extension."))
        if ext.requested_by_id == by.pk:
            raise Forbidden(_("You cannot decide on your own request."))
        if ext.state != Extension.State.REQUESTED:
            raise Conflict(_("This request has already been decided."))
        if ext.stage_seq != alert.stage_seq:
            raise Conflict(_("The alert has left the stage this request was for."))
        now = timezone.now()
        ext.decided_by, ext.decided_at, ext.decision_note = by, now, note
        if approve:
            ext.state = Extension.State.APPROVED
            ext.due_at_after = add_working_days(current_calendar(), alert.due_at, ext.days)
            alert.due_at = ext.due_at_after
            alert.save(update_fields=["due_at", "updated_at"])
        else:
            ext.state = Extension.State.REFUSED
        ext.save()
        ref = {
            "id": alert.pk, "days": ext.days, "note": note,
            "due": local(alert.due_at).strftime("%Y-%m-%d %H:%M") if alert.due_at else "",
        }
        text = (_("Extension of %(days)d working days approved; new deadline %(due)s. %(note)s") if approve
                else _("Extension of %(days)d working days refused. %(note)s")) % ref
        timeline.extension_decided(
            alert=alert, by=by, extension_id=ext.pk, days=ext.days, approved=approve, text=text.strip(),
        )
        notify_many([Message(
            [ext.requested_by], Notification.Kind.EXTENSION_DECIDED,
            (_("Extension approved on alert #%(id)s") if approve else _("Extension refused on alert #%(id)s")) % ref,
            text.strip(), alert=alert, event={"extension": ext.pk, "approved": approve},
        )])
    return ext


def extension_approve(*, extension_id: int, by: User, note: str = "") -> Extension:
    return _decide(extension_id=extension_id, by=by, approve=True, note=note)


def extension_refuse(*, extension_id: int, by: User, note: str = "") -> Extension:
    return _decide(extension_id=extension_id, by=by, approve=False, note=note)


def rectification_orders_visible_to(user: User):  # noqa: ANN201 - QuerySet[ResultAction]
    return ResultAction.objects.filter(
        kind=ActionKind.RECTIFICATION_ORDER, alert__in=alerts_visible_to(user)
    ).select_related("alert", "issued_by").order_by("due_date", "id")


def rectification_feedback_record(*, order_id: int, by: User, feedback: str) -> ResultAction:
    """A supervisor records the recipient's feedback, which closes the order."""
    if not feedback.strip():
        raise ValidationError({"feedback": [_("Feedback is required.")]})
    with transaction.atomic():
        order = rectification_orders_visible_to(by).filter(pk=order_id).first()
        if order is None:
            raise NotFound(_("Rectification order not found."))
        alert = alert_for_update(user=by, alert_id=order.alert_id)
        order = ResultAction.objects.select_for_update().get(pk=order_id)
        if not policy.may_record_feedback(by):
            raise Forbidden(_("Only a supervisor can record feedback."))
        if order.feedback_at is not None:
            raise Conflict(_("Feedback on this order has already been recorded."))
        order.feedback, order.feedback_at = feedback, timezone.now()
        order.save(update_fields=["feedback", "feedback_at"])
        timeline.feedback_recorded(
            alert=alert, by=by, order=order,
            late=bool(order.due_date and local(order.feedback_at).date() > order.due_date),
        )
    return order
