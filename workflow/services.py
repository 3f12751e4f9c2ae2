"""Every state change of an alert goes through `_run_transition`: one transaction that checks
scope and permission, locks the row, transitions, writes the stage record, the timeline entry,
the audit entry and the inbox/outbox rows whose sending is scheduled for after the commit.

The public functions are typed and keyword-only (`alert_assign(alert_id=…, by=…, …)`);
`alert_transition` dispatches an API/screen request to them by transition name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update
from alerts.states import DISPOSAL_OUTCOMES, SEND_BACK_STAGES, Conclusion, DismissReason, Outcome, Status
from alerts.transitions import TRANSITIONS, TransitionSpec
from audit.models import AuditEvent
from audit.services import audit_record
from cases import timeline
from cases.models import (
    Assignment,
    Dismissal,
    Disposition,
    DispositionPerson,
    Evaluation,
    Referral,
    TimelineEntry,
    Verification,
)
from core.errors import Conflict, Forbidden, NotFound
from workflow import deadlines, effects, rollups
from workflow.calendar import add_working_days, current_calendar, local
from workflow.ledger import open_orders_of
from workflow.notices import ActionInput, check_action, notice_create

# What a transition's `apply` returns: its timeline writer with the details filled in, called
# with the state the alert left once the new stage is entered.
Record = Callable[..., TimelineEntry]


def _spec(name: str) -> TransitionSpec:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise NotFound(_("Unknown transition %(name)s.") % {"name": name}) from None


def _check_actor(spec: TransitionSpec, alert: Alert, user: User) -> None:
    """403 for the wrong role, 409 for the wrong state, 403 for someone else's assignment."""
    if not policy.has_transition_role(user, spec.name):
        raise Forbidden(
            _("Your role may not %(action)s alerts.") % {"action": str(spec.label).lower()}
        )
    if not spec.allowed_from(alert):
        raise Conflict(_conflict_message(alert, spec))
    if not policy.is_transition_actor(user, alert, spec.name):
        raise Forbidden(_("Only the assigned verifier can do this."))


def _when(at: Any) -> str:
    local = timezone.localtime(at)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def _conflict_message(alert: Alert, spec: TransitionSpec) -> str:
    """Who moved the alert on, and when (from its last stage change on the timeline), so the
    second of two people acting at once knows what happened."""
    last = (
        TimelineEntry.objects.filter(alert=alert, kind=TimelineEntry.Kind.TRANSITION, actor__isnull=False)
        .select_related("actor").order_by("-at", "-id").first()
    )
    if last is None or last.action not in TRANSITIONS:
        return _("This alert is %(status)s; “%(action)s” is not possible now.") % {
            "status": alert.get_status_display(), "action": spec.label}
    return _(
        "#%(n)s was already handled by %(who)s at %(when)s (%(done)s); it is now %(status)s, so "
        "“%(action)s” is not possible."
    ) % {
        "n": alert.pk, "who": last.actor.display_name, "when": _when(last.at),
        "done": TRANSITIONS[last.action].label, "status": alert.get_status_display(), "action": spec.label,
    }


def alert_transition_precheck(*, alert: Alert, name: str, by: User) -> None:
    """Refuse early (before the body is even validated) what the service would refuse."""
    _check_actor(_spec(name), alert, by)


def _enter_stage(alert: Alert, at: Any) -> None:
    alert.stage_entered_at = at
    alert.stage_seq += 1
    alert.escalation_level = 0
    alert.due_at = deadlines.due_at_for(alert, at) if alert.is_open else None
    alert.closed_at = at if alert.status == Status.CLOSED else None


def _run_transition(
    *, alert_id: int, name: str, by: User, apply: Callable[[Alert], Record], also_lock: int | None = None,
) -> Alert:
    spec = _spec(name)
    with transaction.atomic():
        if also_lock is not None and also_lock < alert_id:
            # Two alerts change together (merging): lock them in id order, so two people merging
            # the same pair in opposite directions wait for each other instead of deadlocking.
            alert_for_update(user=by, alert_id=also_lock)
        alert = alert_for_update(user=by, alert_id=alert_id)
        _check_actor(spec, alert, by)
        from_status = alert.status
        counted_before = rollups.contribution(alert)
        record = apply(alert)
        now = timezone.now()
        # The stage just left, how long it lasted and its deadline, stored once on the entry.
        stage_time = deadlines.stage_time(alert, now)
        _enter_stage(alert, now)
        alert.save()
        entry = record(alert=alert, by=by, from_status=from_status, stage_time=stage_time)
        # The dashboard's and the assessment's counts move with the alert, in this same transaction.
        changes = rollups.difference(rollups.contribution(alert), counted_before)
        rollups.apply(rollups.merge(changes, rollups.stage_left(alert, entry)))
        # Inbox and outbox rows for who must hear about it, in this same transaction.
        effects.transition_recorded(alert=alert, name=name, by=by)
        audit_record(
            action=AuditEvent.Action.STATE_CHANGE, actor=by, object_type="alert", object_id=alert.pk,
            data={"transition": name, "from": from_status, "to": alert.status},
        )
    return alert


def _invalid(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def alert_assign(
    *, alert_id: int, by: User, assignee: User, note: str = "", cross_unit: bool = False,
) -> Alert:
    """Dispatch to a verifier of the handling unit; with `cross_unit`, a supervisor above the
    owning unit gives it to a verifier of another unit (交叉核查), whose unit then handles it."""
    def apply(alert: Alert) -> Record:
        if assignee.role != Role.VERIFIER or not assignee.is_active:
            raise _invalid("assignee", _("The assignee must be an active verifier."))
        crossing = cross_unit and not policy.may_take(assignee, alert)
        if crossing and not policy.may_cross_assign(by, alert, assignee):
            raise _invalid("assignee", _("Cross-verification: only a supervisor of a unit above the alert's "
                                         "unit may give it to a verifier of another unit below."))
        if not crossing and not policy.may_take(assignee, alert):
            raise _invalid("assignee", _("The assignee must belong to the alert's unit or a unit below it."))
        alert.assign()
        alert.assignee = assignee
        if crossing:
            alert.handling_unit = assignee.org_unit
            timeline.cross_assigned(alert=alert, by=by, handling_unit_name=assignee.org_unit.name)
        Assignment.objects.create(alert=alert, assignee=assignee, assigned_by=by, note=note)
        return partial(timeline.assigned, assignee=assignee, note=note)

    return _run_transition(alert_id=alert_id, name="assign", by=by, apply=apply)


def alert_accept(*, alert_id: int, by: User) -> Alert:
    def apply(alert: Alert) -> Record:
        alert.accept()
        Assignment.objects.filter(alert=alert, assignee=by, accepted_at=None, returned_at=None).update(
            accepted_at=timezone.now()
        )
        return timeline.accepted

    return _run_transition(alert_id=alert_id, name="accept", by=by, apply=apply)


def alert_return(*, alert_id: int, by: User, reason: str) -> Alert:
    if not reason.strip():
        raise _invalid("reason", _("A reason is required."))

    def apply(alert: Alert) -> Record:
        alert.return_()
        alert.assignee = None
        Assignment.objects.filter(alert=alert, assignee=by, returned_at=None).update(
            returned_at=timezone.now(), return_reason=reason
        )
        return partial(timeline.returned, reason=reason)

    return _run_transition(alert_id=alert_id, name="return", by=by, apply=apply)


def alert_submit_verification(
    *, alert_id: int, by: User, conclusion: str, summary: str, justification: str = ""
) -> Alert:
    """An unfounded conclusion skips disposal, so it needs at least one finding on the record or
    a written justification (kept with the summary)."""
    if conclusion not in Conclusion.values:
        raise _invalid("conclusion", _("Unknown conclusion."))
    if not summary.strip():
        raise _invalid("summary", _("A summary is required."))
    justification = justification.strip()

    def apply(alert: Alert) -> Record:
        if conclusion == Conclusion.UNFOUNDED and not justification and not alert.findings.exists():
            raise _invalid("justification", _(
                "An unfounded conclusion needs at least one finding or a written justification."
            ))
        alert.submit_verification(conclusion)
        alert.conclusion = conclusion
        text = f"{summary}\n\n{justification}" if justification else summary
        Verification.objects.create(alert=alert, verifier=by, conclusion=conclusion, summary=text)
        return partial(timeline.verification_submitted, conclusion=conclusion, summary=text)

    return _run_transition(alert_id=alert_id, name="submit_verification", by=by, apply=apply)


@dataclass(frozen=True)
class PersonInput:
    """One person dealt with by a disposition (see `cases.models.DispositionPerson`)."""

    name: str
    position: str = ""
    unit: str = ""
    form: str = DispositionPerson.Form.NONE
    id_number: str = ""
    sanction: str = ""
    case_filed: bool = False
    detained: bool = False
    transferred: bool = False


MAX_PEOPLE = 200


def check_people(people: list[PersonInput]) -> None:
    """Refuse an incomplete list of people, naming the person and the field."""
    if len(people) > MAX_PEOPLE:
        raise _invalid("people", _("At most %(n)d people per disposition.") % {"n": MAX_PEOPLE})
    for i, person in enumerate(people, start=1):
        ref = {"n": i}
        if not person.name.strip():
            raise _invalid("people", _("Person %(n)d: the name is required.") % ref)
        if person.form not in DispositionPerson.Form.values:
            raise _invalid("people", _("Person %(n)d: unknown form of handling.") % ref)
        if person.sanction and person.sanction not in DispositionPerson.Sanction.values:
            raise _invalid("people", _("Person %(n)d: unknown sanction.") % ref)


def alert_dispose(
    *, alert_id: int, by: User, outcome: str, case_filed: bool = False,
    amount_recovered: Decimal = Decimal("0"), amount_confiscated: Decimal = Decimal("0"), note: str = "",
    people: list[PersonInput] | None = None,
) -> Alert:
    """Record the disposition. `people` lists each person dealt with (the four forms count
    people); it may be empty for rectification-only and cleared outcomes. Money recovered and
    money confiscated (收缴) are recorded separately."""
    people = list(people or [])
    if outcome not in dict(DISPOSAL_OUTCOMES):
        raise _invalid("outcome", _("Unknown outcome."))
    if amount_recovered < 0:
        raise _invalid("amount_recovered", _("The amount recovered cannot be negative."))
    if amount_confiscated < 0:
        raise _invalid("amount_confiscated", _("The amount confiscated cannot be negative."))
    check_people(people)
    # A person whose case was filed, who was detained or transferred means the case was filed.
    case_filed = case_filed or any(p.case_filed or p.detained or p.transferred for p in people)

    def apply(alert: Alert) -> Record:
        alert.dispose()
        replaced = rollups.latest_disposition(alert)
        disposition = Disposition.objects.create(
            alert=alert, decided_by=by, outcome=outcome, case_filed=case_filed,
            amount_recovered=amount_recovered, amount_confiscated=amount_confiscated, note=note,
        )
        DispositionPerson.objects.bulk_create(
            DispositionPerson(
                disposition=disposition, name=p.name.strip(), id_number=p.id_number.strip(),
                position=p.position.strip(), unit=p.unit.strip(), form=p.form, sanction=p.sanction,
                case_filed=p.case_filed, detained=p.detained, transferred=p.transferred,
            )
            for p in people
        )
        # Outcomes and amounts on the dashboard: counted with the disposition, in its transaction.
        rollups.apply(rollups.disposition_replaced(alert, disposition, replaced))
        return partial(
            timeline.disposed, outcome=outcome, case_filed=case_filed, amount_recovered=amount_recovered, note=note,
            amount_confiscated=amount_confiscated, people=len(people),
        )

    return _run_transition(alert_id=alert_id, name="dispose", by=by, apply=apply)


def alert_apply_results(*, alert_id: int, by: User, actions: list[ActionInput]) -> Alert:
    """Issue the notices of the use-of-results stage; each document gets its 文号."""
    if not actions:
        raise _invalid("actions", _("Issue at least one notice, recommendation or order."))
    for action in actions:
        check_action(action)

    def apply(alert: Alert) -> Record:
        alert.apply_results()
        issued = [notice_create(alert=alert, by=by, action=a) for a in actions]
        return partial(timeline.results_applied, actions=[(n.kind, n.recipient) for n in issued], notices=issued)

    return _run_transition(alert_id=alert_id, name="apply_results", by=by, apply=apply)


def alert_close(*, alert_id: int, by: User, score: int, comment: str = "", override_reason: str = "") -> Alert:
    """Close (销号) after evaluation. Refused (409) while an order of the alert has no accepted
    reply, unless the leader gives `override_reason`, which is recorded with the evaluation, on
    the timeline and in the audit log."""
    if not 1 <= score <= 5:
        raise _invalid("score", _("The score must be from 1 to 5."))
    override_reason = override_reason.strip()

    def apply(alert: Alert) -> Record:
        pending = list(open_orders_of(alert).values_list("pk", flat=True))
        if pending and not override_reason:
            raise Conflict(
                _("%(n)d order(s) of this alert have no accepted reply. Wait until the reply is accepted, "
                  "or give a reason for closing anyway.") % {"n": len(pending)}
            )
        if pending and not policy.may_close_with_open_orders(by):
            raise Forbidden(_("Only a leader can close an alert whose orders lack an accepted reply."))
        alert.close()
        Evaluation.objects.create(
            alert=alert, evaluator=by, decision=Evaluation.Decision.CLOSE, score=score, comment=comment,
            override_reason=override_reason if pending else "",
        )
        if pending:
            audit_record(
                action=AuditEvent.Action.CLOSED_WITH_OPEN_ORDERS, actor=by, object_type="alert",
                object_id=alert.pk, data={"orders": pending, "reason": override_reason},
            )
        return partial(timeline.closed, score=score, comment=comment,
                       override_reason=override_reason if pending else "", open_orders=pending)

    return _run_transition(alert_id=alert_id, name="close", by=by, apply=apply)


def _back_to(stage: str, reason: str, *, wrong_stage: str, no_reason: str) -> None:
    """Sending back (evaluation) and reopening (re-check) both name an earlier stage and why."""
    if stage not in SEND_BACK_STAGES:
        raise _invalid("stage", wrong_stage)
    if not reason.strip():
        raise _invalid("reason", no_reason)


def _has_verifier_for(alert: Alert, stage: str) -> None:
    if stage == Status.VERIFYING and alert.assignee_id is None:
        raise _invalid("stage", _("This alert has no verifier to send it back to."))


def alert_send_back(*, alert_id: int, by: User, stage: str, reason: str) -> Alert:
    _back_to(stage, reason, wrong_stage=_("An alert can be sent back to verifying, disposing or applying."),
             no_reason=_("A reason is required."))

    def apply(alert: Alert) -> Record:
        _has_verifier_for(alert, stage)
        alert.send_back(stage)
        Evaluation.objects.create(
            alert=alert, evaluator=by, decision=Evaluation.Decision.SEND_BACK,
            comment=reason, sent_back_to=stage,
        )
        return partial(timeline.sent_back, stage=stage, reason=reason)

    return _run_transition(alert_id=alert_id, name="send_back", by=by, apply=apply)


def alert_dismiss(*, alert_id: int, by: User, reason: str, note: str = "") -> Alert:
    if reason not in DismissReason.values:
        raise _invalid("reason", _("Unknown dismissal reason."))

    def apply(alert: Alert) -> Record:
        alert.dismiss()
        Dismissal.objects.create(alert=alert, dismissed_by=by, reason=reason, note=note)
        return partial(timeline.dismissed, reason=reason, note=note)

    return _run_transition(alert_id=alert_id, name="dismiss", by=by, apply=apply)


def alert_merge(*, alert_id: int, by: User, into: int, reason: str) -> Alert:
    """The alert leaves the loop as merged into its lead: its occurrences go to the lead, its
    evidence and source are shown there, and a model credited with it counts the lead's
    conclusion. `alert_unmerge` restores it to the state it left."""
    if not reason.strip():
        raise _invalid("reason", _("A reason is required."))
    if into == alert_id:
        raise _invalid("into", _("An alert cannot be merged into itself."))

    def apply(alert: Alert) -> Record:
        lead = alert_for_update(user=by, alert_id=into)  # locked (in id order) by _run_transition
        if not lead.is_open or lead.status == Status.REFERRED:
            raise _invalid("into", _("The lead must be an open alert in the loop."))
        alert.merged_from_status = alert.status
        alert.merge()
        alert.merged_into = lead
        Alert.objects.filter(pk=lead.pk).update(occurrence_count=F("occurrence_count") + alert.occurrence_count)
        timeline.lead_gained(lead=lead, by=by, merged_alert=alert, reason=reason)
        return partial(timeline.merged, lead=lead, reason=reason)

    return _run_transition(alert_id=alert_id, name="merge", by=by, apply=apply, also_lock=into)


def alert_unmerge(*, alert_id: int, by: User, reason: str) -> Alert:
    if not reason.strip():
        raise _invalid("reason", _("A reason is required."))
    lead_id = Alert.objects.filter(pk=alert_id).values_list("merged_into_id", flat=True).first()

    def apply(alert: Alert) -> Record:
        if alert.merged_into_id is None:
            raise Conflict(_("This alert is not merged."))
        lead = Alert.objects.select_for_update().get(pk=alert.merged_into_id)
        alert.unmerge()
        alert.merged_into = None
        alert.merged_from_status = ""
        Alert.objects.filter(pk=lead.pk).update(occurrence_count=F("occurrence_count") - alert.occurrence_count)
        timeline.lead_lost(lead=lead, by=by, merged_alert=alert, reason=reason)
        return partial(timeline.unmerged, lead=lead, reason=reason)

    return _run_transition(alert_id=alert_id, name="unmerge", by=by, apply=apply, also_lock=lead_id)


MAX_REFERRAL_DAYS = 60


def alert_refer(*, alert_id: int, by: User, department: str, due_days: int, note: str = "") -> Alert:
    """预警纠治: the warning goes to the department that owns the business, to correct itself
    within `due_days` working days."""
    if not department.strip():
        raise _invalid("department", _("Name the department."))
    if not 1 <= due_days <= MAX_REFERRAL_DAYS:
        raise _invalid("due_days", _("Give 1 to %(max)d working days.") % {"max": MAX_REFERRAL_DAYS})

    def apply(alert: Alert) -> Record:
        alert.refer()
        due = local(add_working_days(current_calendar(), timezone.now(), due_days)).date()
        Referral.objects.create(alert=alert, referred_by=by, department=department.strip(), note=note,
                                due_date=due)
        return partial(timeline.referred, department=department.strip(), due_date=due, note=note)

    return _run_transition(alert_id=alert_id, name="refer", by=by, apply=apply)


def _open_referral(alert: Alert) -> Referral:
    referral = (
        Referral.objects.select_for_update().filter(
            alert=alert, state__in=[Referral.State.AWAITING, Referral.State.REPLIED]
        ).order_by("-created_at", "-id").first()
    )
    if referral is None:
        raise Conflict(_("This alert has no open referral."))
    return referral


def alert_accept_referral(*, alert_id: int, by: User, comment: str = "") -> Alert:
    """The department corrected it: the alert closes as self-corrected (its own outcome)."""
    def apply(alert: Alert) -> Record:
        referral = _open_referral(alert)
        if referral.state != Referral.State.REPLIED:
            raise Conflict(_("Record the department's reply before accepting it."))
        alert.accept_referral()
        now = timezone.now()
        Referral.objects.filter(pk=referral.pk).update(
            state=Referral.State.ACCEPTED, decided_by=by, decided_at=now, decision_reason=comment,
        )
        replaced = rollups.latest_disposition(alert)
        disposition = Disposition.objects.create(alert=alert, decided_by=by, outcome=Outcome.SELF_CORRECTED,
                                                 note=comment)
        rollups.apply(rollups.disposition_replaced(alert, disposition, replaced))
        return partial(timeline.referral_accepted, comment=comment)

    return _run_transition(alert_id=alert_id, name="accept_referral", by=by, apply=apply)


def alert_reject_referral(*, alert_id: int, by: User, reason: str) -> Alert:
    """The reply does not correct it: the warning goes back to dispatch."""
    if not reason.strip():
        raise _invalid("reason", _("A reason is required."))

    def apply(alert: Alert) -> Record:
        referral = _open_referral(alert)
        alert.reject_referral()
        Referral.objects.filter(pk=referral.pk).update(
            state=Referral.State.REJECTED, decided_by=by, decided_at=timezone.now(), decision_reason=reason,
        )
        return partial(timeline.referral_rejected, reason=reason)

    return _run_transition(alert_id=alert_id, name="reject_referral", by=by, apply=apply)


def alert_reopen(*, alert_id: int, by: User, stage: str, reason: str) -> Alert:
    """复查 found a problem: the verifier re-checking a closed alert reopens it to a stage. The
    pending re-check is recorded as 'problem found' in the same transaction (through the reverse
    relation: the re-check models live in `assessment`, above this layer)."""
    _back_to(stage, reason, wrong_stage=_("A re-check can reopen an alert to verifying, disposing or applying."),
             no_reason=_("Say what the re-check found."))

    def apply(alert: Alert) -> Record:
        _has_verifier_for(alert, stage)
        alert.reopen(stage)
        alert.recheck_unit = None
        alert.recheck_items.filter(assignee_id=by.pk, outcome="pending").update(
            outcome="problem_found", reopened_to=stage, note=reason, decided_at=timezone.now(),
        )
        return partial(timeline.reopened, stage=stage, reason=reason)

    return _run_transition(alert_id=alert_id, name="reopen", by=by, apply=apply)


_DISPATCH: dict[str, Callable[..., Alert]] = {
    "assign": alert_assign,
    "accept": alert_accept,
    "return": alert_return,
    "submit_verification": alert_submit_verification,
    "dispose": alert_dispose,
    "apply_results": alert_apply_results,
    "close": alert_close,
    "send_back": alert_send_back,
    "dismiss": alert_dismiss,
    "merge": alert_merge,
    "unmerge": alert_unmerge,
    "refer": alert_refer,
    "accept_referral": alert_accept_referral,
    "reject_referral": alert_reject_referral,
    "reopen": alert_reopen,
}

__all__ = ["ActionInput", "PersonInput", "alert_transition"]


def alert_transition(*, alert_id: int, name: str, by: User, data: dict[str, Any]) -> Alert:
    """Run transition `name` with already-typed `data` (see `api.serializers.workflow`)."""
    _spec(name)
    return _DISPATCH[name](alert_id=alert_id, by=by, **data)
