"""The rectification ledger (整改台账): every notice that asks for a reply, its state, the reply
recorded by the supervisor and the supervisor's review of it, and the reminder ladder that
overdue replies climb.

States (computed in the query, so the list filters and counts on them):
awaiting reply → due soon → overdue while no reply is recorded; replied once it is; accepted or
rejected after review. A rejected reply keeps the order open: a new reply can be recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update, alert_scope_q, alerts_visible_to
from cases import timeline
from cases.evidence import check_evidence_file
from cases.models import FeedbackAttachment, ResultAction
from core.errors import Conflict, Forbidden, NotFound
from workflow import rollups
from workflow.calendar import WorkCalendar, current_calendar, local
from workflow.models import Notification
from workflow.notify import Message, RoleDirectory, notify_many

AWAITING = "awaiting"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
REPLIED = "replied"
ACCEPTED = "accepted"
REJECTED = "rejected"
LEDGER_STATES = {
    AWAITING: gettext_lazy("Awaiting reply"),
    DUE_SOON: gettext_lazy("Due soon"),
    OVERDUE: gettext_lazy("Overdue"),
    REPLIED: gettext_lazy("Replied"),
    ACCEPTED: gettext_lazy("Accepted"),
    REJECTED: gettext_lazy("Rejected"),
}
DUE_SOON_DAYS = 3  # calendar days before the due date


def today() -> date:
    return local(timezone.now()).date()


def _state_expression(on: date) -> Case:
    return Case(
        When(review=ResultAction.Review.ACCEPTED, then=Value(ACCEPTED)),
        When(review=ResultAction.Review.REJECTED, then=Value(REJECTED)),
        When(feedback_at__isnull=False, then=Value(REPLIED)),
        When(due_date__lt=on, then=Value(OVERDUE)),
        When(due_date__lte=on + timedelta(days=DUE_SOON_DAYS), then=Value(DUE_SOON)),
        default=Value(AWAITING),
        output_field=CharField(),
    )


def pending_reply() -> Q:
    """Orders in force whose reply is not accepted: they keep the alert from closing."""
    return Q(state=ResultAction.State.ISSUED, due_date__isnull=False) & ~Q(review=ResultAction.Review.ACCEPTED)


def ledger_for(user: User, *, on: date | None = None) -> QuerySet[ResultAction]:
    """Every notice in force that asks for a reply, in the user's scope, with `ledger_state`."""
    if not user.is_authenticated or user.org_unit_id is None:
        return ResultAction.objects.none()
    return (
        ResultAction.objects.filter(
            alert_scope_q(user, "alert__"), state=ResultAction.State.ISSUED, due_date__isnull=False,
        )
        .annotate(ledger_state=_state_expression(on or today()))
        .select_related("alert", "alert__org_unit", "issued_by", "issuing_unit")
        .order_by("due_date", "id")
    )


def state_of(order: ResultAction, *, on: date | None = None) -> str:
    """The ledger state of one order (the same rule as the query's annotation)."""
    on = on or today()
    if order.review == ResultAction.Review.ACCEPTED:
        return ACCEPTED
    if order.review == ResultAction.Review.REJECTED:
        return REJECTED
    if order.feedback_at is not None:
        return REPLIED
    if order.due_date is None:
        return AWAITING
    if order.due_date < on:
        return OVERDUE
    if order.due_date <= on + timedelta(days=DUE_SOON_DAYS):
        return DUE_SOON
    return AWAITING


def open_orders_of(alert: Alert) -> QuerySet[ResultAction]:
    return ResultAction.objects.filter(pending_reply(), alert=alert)


# ----- the reply and its review -----


def _locked_order(*, order_id: int, by: User) -> tuple[Alert, ResultAction]:
    found = (
        ResultAction.objects.filter(pk=order_id, due_date__isnull=False, alert__in=alerts_visible_to(by))
        .values_list("alert_id", flat=True).first()
    )
    if found is None:
        raise NotFound(_("Rectification order not found."))
    alert = alert_for_update(user=by, alert_id=found)
    return alert, ResultAction.objects.select_for_update().get(pk=order_id)


def rectification_feedback_record(
    *, order_id: int, by: User, feedback: str, files: Sequence[UploadedFile] = (),
) -> ResultAction:
    """A supervisor records the recipient's reply (text and attachments); it then awaits review."""
    if not feedback.strip():
        raise ValidationError({"feedback": [_("Feedback is required.")]})
    checked = [check_evidence_file(f) for f in files]
    with transaction.atomic():
        alert, order = _locked_order(order_id=order_id, by=by)
        if not policy.may_record_feedback(by):
            raise Forbidden(_("Only a supervisor can record feedback."))
        if order.is_withdrawn:
            raise Conflict(_("This notice has been withdrawn."))
        if order.feedback_at is not None and order.review != ResultAction.Review.REJECTED:
            raise Conflict(_("Feedback on this order has already been recorded."))
        counted_before = rollups.order_counted(alert.org_unit_id, order)
        order.feedback, order.feedback_at = feedback, timezone.now()
        order.review, order.review_note, order.reviewed_by, order.reviewed_at = "", "", None, None
        order.save(update_fields=["feedback", "feedback_at", "review", "review_note", "reviewed_by", "reviewed_at"])
        # Replied on time or not: the assessment's count moves with the reply, in this transaction.
        rollups.apply(rollups.difference(rollups.order_counted(alert.org_unit_id, order), counted_before))
        for upload, content_type in zip(files, checked, strict=True):
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            FeedbackAttachment.objects.create(
                order=order, file=upload, original_name=upload.name[:255], content_type=content_type,
                size=upload.size, sha256=digest.hexdigest(),
            )
        timeline.feedback_recorded(
            alert=alert, by=by, order=order, files=len(checked),
            late=bool(order.due_date and local(order.feedback_at).date() > order.due_date),
        )
    return order


def _review(*, order_id: int, by: User, accept: bool, note: str) -> ResultAction:
    if not accept and not note.strip():
        raise ValidationError({"reason": [_("Say why the reply is rejected.")]})
    with transaction.atomic():
        alert, order = _locked_order(order_id=order_id, by=by)
        if not policy.may_review_feedback(by):
            raise Forbidden(_("Only a supervisor can accept or reject a reply."))
        if order.is_withdrawn:
            raise Conflict(_("This notice has been withdrawn."))
        if order.feedback_at is None or order.review:
            raise Conflict(_("There is no reply waiting for review on this order."))
        order.review = ResultAction.Review.ACCEPTED if accept else ResultAction.Review.REJECTED
        order.review_note, order.reviewed_by, order.reviewed_at = note.strip(), by, timezone.now()
        order.save(update_fields=["review", "review_note", "reviewed_by", "reviewed_at"])
        timeline.feedback_reviewed(alert=alert, by=by, order=order, accepted=accept)
    return order


def feedback_accept(*, order_id: int, by: User, note: str = "") -> ResultAction:
    return _review(order_id=order_id, by=by, accept=True, note=note)


def feedback_reject(*, order_id: int, by: User, reason: str) -> ResultAction:
    return _review(order_id=order_id, by=by, accept=False, note=reason)


# ----- the reminder ladder (run by the sweep) -----


def working_days_overdue(cal: WorkCalendar, due: date, on: date) -> int:
    """Working days after `due` up to and including `on`."""
    n, day = 0, due
    while day < on:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            n += 1
    return n


def ladder_target(cal: WorkCalendar, due: date, on: date) -> int:
    late = working_days_overdue(cal, due, on)
    return sum(1 for threshold in settings.HUOYAN_ORDER_REMINDER_WORKING_DAYS if late >= threshold)


def _order_message(order: ResultAction, step: int, directory: RoleDirectory) -> Message:
    ref = {"id": order.pk, "doc": order.doc_number or f"#{order.pk}", "to": order.recipient,
           "alert": order.alert_id, "due": order.due_date}
    key = f"order-overdue:{order.pk}:{step}"
    unit = order.alert.org_unit
    if step == 1:
        return Message(
            [order.issued_by], Notification.Kind.RECTIFICATION_OVERDUE,
            _("Reply to %(doc)s is overdue") % ref,
            _("The reply from %(to)s on alert #%(alert)s was due on %(due)s and is not in yet.") % ref,
            alert=order.alert, key=key, event={"order": order.pk, "step": 1},
        )
    if step == 2:
        return Message(
            directory.supervisors(unit), Notification.Kind.RECTIFICATION_OVERDUE,
            _("Yellow card: reply to %(doc)s is overdue") % ref,
            _("Written reminder: the reply from %(to)s on alert #%(alert)s was due on %(due)s.") % ref,
            alert=order.alert, key=key, event={"order": order.pk, "step": 2},
        )
    return Message(
        [*directory.leaders(unit), *directory.supervisors(unit)], Notification.Kind.RECTIFICATION_OVERDUE,
        _("Supervision (督办): reply to %(doc)s is overdue") % ref,
        _("Red card: the reply from %(to)s on alert #%(alert)s was due on %(due)s and is still missing.") % ref,
        alert=order.alert, key=key, event={"order": order.pk, "step": 3},
    )


def orders_climb_ladder(*, now: datetime) -> tuple[int, int]:
    """Move overdue replies up the reminder ladder; returns (overdue orders, steps taken).

    Only on working days: a weekend or holiday neither counts towards the ladder nor sends
    reminders. Rows are claimed with SKIP LOCKED and each step is a keyed notification, so
    concurrent sweeps never send a step twice.
    """
    on = local(now).date()
    cal = current_calendar()
    waiting = Q(state=ResultAction.State.ISSUED, due_date__lt=on) & (
        Q(feedback_at__isnull=True) | Q(review=ResultAction.Review.REJECTED)
    )
    overdue = ResultAction.objects.filter(waiting).count()
    if not overdue or not cal.is_working_day(on):
        return overdue, 0
    top = len(settings.HUOYAN_ORDER_REMINDER_WORKING_DAYS)
    steps = 0
    with transaction.atomic():
        rows = list(
            ResultAction.objects.filter(waiting, reminder_level__lt=top)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("alert", "alert__org_unit", "issued_by").order_by("due_date", "id")[:1000]
        )
        directory = RoleDirectory()
        directory.preload(o.alert.org_unit for o in rows)
        messages: list[Message] = []
        reached: list[tuple[ResultAction, int]] = []
        for order in rows:
            target = ladder_target(cal, order.due_date, on)
            if target <= order.reminder_level:
                continue
            for step in range(order.reminder_level + 1, target + 1):
                messages.append(_order_message(order, step, directory))
                reached.append((order, step))
                steps += 1
            ResultAction.objects.filter(pk=order.pk).update(reminder_level=target)
        timeline.order_reminder_steps(steps=reached, at=now)
        notify_many(messages, now=now)
    return overdue, steps
