"""The timeline's writers: one typed function per kind of event, so what each entry holds is
decided here once, not by free-form action strings scattered over the services.

Every writer appends inside the transaction of the change it records (the timeline is
append-only: nothing here updates or deletes). The transition writers take the state the alert
left (`from_status`); the alert itself already holds the state it entered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert
from alerts.states import ActionKind
from cases.models import Comment, Finding, ResultAction, TimelineEntry

Kind = TimelineEntry.Kind


def _append(
    *, alert: Alert, actor: User | None, kind: str, action: str = "", from_status: str | None = None,
    text: str = "", data: dict[str, Any] | None = None, stage_time: StageTime | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        alert=alert, at=stage_time.at if stage_time else timezone.now(), actor=actor, kind=kind, action=action,
        from_status=alert.status if from_status is None else from_status, to_status=alert.status,
        text=text, data=data or {},
        stage_seconds=stage_time.seconds if stage_time else None,
        stage_working_days=stage_time.working_days if stage_time else None,
        stage_due_at=stage_time.due_at if stage_time else None,
    )


# ----- transitions: one writer per transition name -----

@dataclass(frozen=True)
class StageTime:
    """When the stage was left and how long the alert had been in it: stored on the transition
    entry when it is written, so figures sum it instead of pairing entries up again."""

    at: datetime
    seconds: int
    working_days: Decimal
    # The deadline the stage had when it was left (None: it had none).
    due_at: datetime | None = None


# Every transition writer takes `stage_time` (the services always pass it).
ST = StageTime | None


def _transition(alert: Alert, by: User | None, name: str, from_status: str, text: str = "",
                data: dict[str, Any] | None = None, *, stage_time: ST = None) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.TRANSITION, action=name, from_status=from_status,
                   text=text, data=data, stage_time=stage_time)


def assigned(*, alert: Alert, by: User, from_status: str, assignee: User, note: str,
             stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "assign", from_status, note,
                       {"assignee": assignee.pk, "assignee_name": assignee.display_name}, stage_time=stage_time)


def accepted(*, alert: Alert, by: User, from_status: str, stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "accept", from_status, stage_time=stage_time)


def returned(*, alert: Alert, by: User, from_status: str, reason: str, stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "return", from_status, reason, {"reason": reason}, stage_time=stage_time)


def verification_submitted(
    *, alert: Alert, by: User, from_status: str, conclusion: str, summary: str, stage_time: ST = None,
) -> TimelineEntry:
    return _transition(alert, by, "submit_verification", from_status, summary, {"conclusion": conclusion},
                       stage_time=stage_time)


def disposed(
    *, alert: Alert, by: User, from_status: str, outcome: str, case_filed: bool, amount_recovered: Decimal,
    note: str, amount_confiscated: Decimal = Decimal("0"), people: int = 0, stage_time: ST = None,
) -> TimelineEntry:
    return _transition(alert, by, "dispose", from_status, note, {
        "outcome": outcome, "case_filed": case_filed, "amount_recovered": str(amount_recovered),
        "amount_confiscated": str(amount_confiscated), "people": people,
    }, stage_time=stage_time)


def results_applied(
    *, alert: Alert, by: User, from_status: str, actions: Sequence[tuple[str, str]],
    notices: Sequence[ResultAction] = (), stage_time: ST = None,
) -> TimelineEntry:
    """`actions`: (kind, recipient) of each notice, recommendation or order issued; `notices`
    the rows written, whose 文号 the entry names."""
    numbers = [n.doc_number for n in notices] or [""] * len(actions)
    text = "; ".join(
        " ".join(x for x in [str(ActionKind(kind).label), number] if x) + f": {recipient}"
        for (kind, recipient), number in zip(actions, numbers, strict=False)
    )
    data: dict[str, Any] = {"actions": [k for k, _r in actions]}
    if notices:
        data.update(notices=[n.pk for n in notices], doc_numbers=[n.doc_number for n in notices if n.doc_number])
    return _transition(alert, by, "apply_results", from_status, text, data, stage_time=stage_time)


def closed(
    *, alert: Alert, by: User, from_status: str, score: int, comment: str, override_reason: str = "",
    open_orders: Sequence[int] = (), stage_time: ST = None,
) -> TimelineEntry:
    """`override_reason`: the leader closed while `open_orders` had no accepted reply."""
    data: dict[str, Any] = {"score": score}
    text = comment
    if override_reason:
        data.update(override_reason=override_reason, open_orders=list(open_orders))
        note = _("Closed with orders lacking an accepted reply: %(r)s") % {"r": override_reason}
        text = "\n".join(x for x in [comment, note] if x)
    return _transition(alert, by, "close", from_status, text, data, stage_time=stage_time)


def sent_back(*, alert: Alert, by: User, from_status: str, stage: str, reason: str,
              stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "send_back", from_status, reason, {"stage": stage}, stage_time=stage_time)


def dismissed(*, alert: Alert, by: User, from_status: str, reason: str, note: str,
              stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "dismiss", from_status, note, {"reason": reason}, stage_time=stage_time)


def merged(*, alert: Alert, by: User, from_status: str, lead: Alert, reason: str,
           stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "merge", from_status, reason, {"lead": lead.pk, "reason": reason},
                       stage_time=stage_time)


def unmerged(*, alert: Alert, by: User, from_status: str, lead: Alert, reason: str,
             stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "unmerge", from_status, reason, {"lead": lead.pk, "reason": reason},
                       stage_time=stage_time)


def referred(
    *, alert: Alert, by: User, from_status: str, department: str, due_date: date, note: str, stage_time: ST = None,
) -> TimelineEntry:
    return _transition(alert, by, "refer", from_status, note,
                       {"department": department, "due_date": due_date.isoformat()}, stage_time=stage_time)


def referral_accepted(*, alert: Alert, by: User, from_status: str, comment: str,
                      stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "accept_referral", from_status, comment, stage_time=stage_time)


def referral_rejected(*, alert: Alert, by: User | None, from_status: str, reason: str,
                      overdue: bool = False, stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "reject_referral", from_status, reason, {"overdue": overdue},
                       stage_time=stage_time)


def reopened(*, alert: Alert, by: User, from_status: str, stage: str, reason: str,
             stage_time: ST = None) -> TimelineEntry:
    return _transition(alert, by, "reopen", from_status, reason, {"stage": stage, "recheck": True},
                       stage_time=stage_time)


TRANSITION_WRITERS: dict[str, Callable[..., TimelineEntry]] = {
    "assign": assigned,
    "accept": accepted,
    "return": returned,
    "submit_verification": verification_submitted,
    "dispose": disposed,
    "apply_results": results_applied,
    "close": closed,
    "send_back": sent_back,
    "dismiss": dismissed,
    "merge": merged,
    "unmerge": unmerged,
    "refer": referred,
    "accept_referral": referral_accepted,
    "reject_referral": referral_rejected,
    "reopen": reopened,
}


# ----- events that do not change the stage -----

def alerts_raised(*, alert_ids: Iterable[int], at: datetime, status: str, source_name: str,
                  source_code: str) -> None:
    """Intake: one entry per newly raised alert, in one statement."""
    TimelineEntry.objects.bulk_create(
        TimelineEntry(alert_id=pk, at=at, kind=Kind.CREATED, to_status=status, text=source_name,
                      data={"source": source_code})
        for pk in alert_ids
    )


def comment_added(*, alert: Alert, comment: Comment) -> TimelineEntry:
    return _append(alert=alert, actor=comment.author, kind=Kind.COMMENT, text=comment.text,
                   data={"comment_id": comment.pk})


def finding_added(*, alert: Alert, finding: Finding, files: int) -> TimelineEntry:
    return _append(alert=alert, actor=finding.author, kind=Kind.FINDING, text=finding.text,
                   data={"finding_id": finding.pk, "files": files})


def extension_requested(*, alert: Alert, by: User, extension_id: int, days: int, reason: str) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.EXTENSION, action="extension_requested", text=reason,
                   data={"extension_id": extension_id, "days": days})


def extension_decided(
    *, alert: Alert, by: User, extension_id: int, days: int, approved: bool, text: str,
) -> TimelineEntry:
    return _append(
        alert=alert, actor=by, kind=Kind.EXTENSION,
        action="extension_approved" if approved else "extension_refused", text=text,
        data={"extension_id": extension_id, "days": days,
              "due_at": alert.due_at.isoformat() if approved and alert.due_at else None},
    )


def feedback_recorded(
    *, alert: Alert, by: User, order: ResultAction, late: bool, files: int = 0,
) -> TimelineEntry:
    return _append(
        alert=alert, actor=by, kind=Kind.FEEDBACK, action="rectification_feedback", text=order.feedback,
        data={"order_id": order.pk, "due_date": order.due_date.isoformat() if order.due_date else None,
              "late": late, "files": files},
    )


def feedback_reviewed(*, alert: Alert, by: User, order: ResultAction, accepted: bool) -> TimelineEntry:
    return _append(
        alert=alert, actor=by, kind=Kind.FEEDBACK, action="feedback_accepted" if accepted else "feedback_rejected",
        text=order.review_note or (str(_("Reply accepted")) if accepted else ""), data={"order_id": order.pk},
    )


def notice_withdrawn(*, alert: Alert, by: User, notice: ResultAction) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.NOTICE, action="notice_withdrawn", text=notice.withdraw_reason,
                   data={"notice_id": notice.pk, "doc_number": notice.doc_number})


def notice_reissued(*, alert: Alert, by: User, notice: ResultAction, replaces: ResultAction) -> TimelineEntry:
    text = _("%(new)s replaces %(old)s") % {"new": notice.doc_number or notice.pk,
                                            "old": replaces.doc_number or replaces.pk}
    return _append(alert=alert, actor=by, kind=Kind.NOTICE, action="notice_reissued", text=text,
                   data={"notice_id": notice.pk, "replaces": replaces.pk, "doc_number": notice.doc_number})


def order_reminder_steps(*, steps: Iterable[tuple[ResultAction, int]], at: datetime) -> None:
    """The sweep: an overdue reply reached rung `step` of its reminder ladder, in one statement."""
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            alert=order.alert, at=at, kind=Kind.ESCALATION, action=f"order_step_{step}",
            from_status=order.alert.status, to_status=order.alert.status,
            text=str(_("Reply to %(doc)s overdue: reminder step %(step)d")
                     % {"doc": order.doc_number or f"#{order.pk}", "step": step}),
            data={"order_id": order.pk, "step": step},
        )
        for order, step in steps
    )


def lead_gained(*, lead: Alert, by: User, merged_alert: Alert, reason: str) -> TimelineEntry:
    """On the lead: another alert (its occurrences, evidence and source) was merged into it."""
    return _append(alert=lead, actor=by, kind=Kind.MERGE, action="merged_in", text=reason,
                   data={"merged_alert": merged_alert.pk, "occurrences": merged_alert.occurrence_count})


def lead_lost(*, lead: Alert, by: User, merged_alert: Alert, reason: str) -> TimelineEntry:
    """On the lead: a merged alert was taken back out."""
    return _append(alert=lead, actor=by, kind=Kind.MERGE, action="merge_undone", text=reason,
                   data={"merged_alert": merged_alert.pk, "occurrences": merged_alert.occurrence_count})


def handling_escalated(*, alert: Alert, by: User, reason: str, handling_unit_name: str) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.HANDLING, action="escalate_handling", text=reason,
                   data={"handling_unit": handling_unit_name})


def cross_assigned(*, alert: Alert, by: User, handling_unit_name: str) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.HANDLING, action="cross_assign",
                   data={"handling_unit": handling_unit_name})


def referral_reply_recorded(*, alert: Alert, by: User, referral_id: int, reply: str, files: int) -> TimelineEntry:
    return _append(alert=alert, actor=by, kind=Kind.REFERRAL, action="referral_reply", text=reply,
                   data={"referral_id": referral_id, "files": files})


def escalation_steps(*, steps: Iterable[tuple[Alert, int, str]], at: datetime) -> None:
    """The sweep: one entry per (alert, ladder step, label) reached, in one statement."""
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            alert=alert, at=at, kind=Kind.ESCALATION, action=f"step_{step}", from_status=alert.status,
            to_status=alert.status, text=label,
            data={"step": step, "stage_seq": alert.stage_seq, "due_at": alert.due_at.isoformat()},
        )
        for alert, step, label in steps
    )
