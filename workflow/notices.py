"""Notices as official documents: what a notice must contain, its 文号, withdrawal (作废) and
re-issue.

A document's number comes from the pattern its issuing unit set for that kind in the admin
(`cases.models.NoticeNumbering`, e.g. ``昆纪提〔{year}〕{seq}号``). Sequences run per issuing unit,
kind and year on a counter row that the issuing transaction increments with one conditional
UPDATE: a concurrent issuer waits on the row lock and then takes the next number, and a rollback
returns the number with everything else — so numbers have no gaps and no duplicates (the unique
constraint `notice_number_once` would refuse a duplicate even if all of that were bypassed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OrgUnit, User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update, alerts_visible_to
from alerts.states import DOCUMENT_KINDS, ActionKind
from audit.models import AuditEvent
from audit.services import audit_record
from cases import timeline
from cases.models import NoticeCounter, NoticeNumbering, ResultAction
from core.errors import Conflict, Forbidden, NotFound
from workflow import rollups
from workflow.calendar import local

# Kinds that must name the date by which the recipient replies.
REPLY_REQUIRED_KINDS = frozenset({ActionKind.RECTIFICATION_ORDER})
MAX_COPY_TO = 20

# The name printed as the document's title when none is given (never the internal alert title).
DOCUMENT_TITLES = {
    ActionKind.WORK_NOTICE: gettext_lazy("Work notice"),
    ActionKind.INTEGRITY_NOTICE: gettext_lazy("Integrity notice"),
    ActionKind.RECOMMENDATION: gettext_lazy("Discipline inspection and supervision recommendation"),
    ActionKind.RECTIFICATION_ORDER: gettext_lazy("Rectification notice"),
    ActionKind.SUPERVISION_ORDER: gettext_lazy("Supervision order"),
    ActionKind.CASE_STUDY: gettext_lazy("Case study"),
}
# The kind's character in a default 文号 when the unit has set no pattern.
DEFAULT_ABBREVIATIONS = {
    ActionKind.WORK_NOTICE: "提",
    ActionKind.INTEGRITY_NOTICE: "廉",
    ActionKind.RECOMMENDATION: "建",
    ActionKind.RECTIFICATION_ORDER: "改",
    ActionKind.SUPERVISION_ORDER: "督",
}


@dataclass(frozen=True)
class ActionInput:
    """One notice to issue: kind, 主送 recipient, body text and, where a reply is asked for,
    its due date; optionally a title, 抄送 copy-to list and signer."""

    kind: str
    recipient: str
    text: str
    due_date: date | None = None
    title: str = ""
    copy_to: Sequence[str] = field(default_factory=tuple)
    signer: str = ""


def check_action(action: ActionInput, *, today: date | None = None) -> None:
    """Refuse a notice that is incomplete, with errors named by field (the API's 400 and the
    form's field errors both come from here)."""
    errors: dict[str, list[str]] = {}
    if not action.kind:
        errors["kind"] = [_("Choose the kind of notice.")]
    elif action.kind not in ActionKind.values:
        errors["kind"] = [_("Unknown action kind %(kind)s.") % {"kind": action.kind}]
    if not action.recipient.strip():
        errors["recipient"] = [_("Name the recipient (主送).")]
    if not action.text.strip():
        errors["text"] = [_("The body of the notice is required.")]
    if action.kind in REPLY_REQUIRED_KINDS and action.due_date is None:
        errors["due_date"] = [_("A rectification order needs a due date for the reply.")]
    today = today or local(timezone.now()).date()
    if action.due_date is not None and action.due_date < today:
        errors["due_date"] = [_("The due date cannot be in the past.")]
    if len(action.copy_to) > MAX_COPY_TO:
        errors["copy_to"] = [_("Copy to at most %(n)d recipients.") % {"n": MAX_COPY_TO}]
    elif any(not str(c).strip() or len(str(c)) > 255 for c in action.copy_to):
        errors["copy_to"] = [_("Each copy-to recipient must be a name of at most 255 characters.")]
    if errors:
        raise ValidationError(errors)


def parse_copy_to(value: str) -> list[str]:
    """A copy-to list typed on one line or one per line, separated by commas or 、."""
    for sep in ("\n", "，", "、", ";", "；"):
        value = value.replace(sep, ",")
    return [part.strip() for part in value.split(",") if part.strip()]


# ----- numbering -----


def numbering_for(unit: OrgUnit, kind: str) -> tuple[str, str]:
    """The 文号 pattern and the issuing organ's name for `kind` documents of `unit`."""
    row = NoticeNumbering.objects.filter(org_unit=unit, kind=kind).first()
    if row is not None:
        return row.pattern, row.issuer_name or unit.name
    return f"{unit.name}{DEFAULT_ABBREVIATIONS.get(kind, '')}〔{{year}}〕{{seq}}号", unit.name


def format_number(pattern: str, *, year: int, seq: int) -> str:
    return pattern.replace("{year}", str(year)).replace("{seq}", str(seq))


def next_sequence(*, unit: OrgUnit, kind: str, year: int) -> int:
    """Take the next number for (unit, kind, year). Call it inside the issuing transaction: the
    counter row stays locked until that transaction ends."""
    counters = NoticeCounter.objects.filter(org_unit=unit, kind=kind, year=year)
    if not counters.update(last=F("last") + 1):
        # First document of the year: create the row (a racing creator's insert waits on the
        # unique index and then does nothing), then increment it like everyone else.
        NoticeCounter.objects.bulk_create(
            [NoticeCounter(org_unit=unit, kind=kind, year=year, last=0)], ignore_conflicts=True
        )
        counters.update(last=F("last") + 1)
    return counters.values_list("last", flat=True).get()


def issuer_name(notice: ResultAction) -> str:
    unit = notice.issuing_unit or notice.alert.org_unit
    return numbering_for(unit, notice.kind)[1]


def document_title(notice: ResultAction) -> str:
    return notice.title or str(DOCUMENT_TITLES.get(notice.kind, ""))


# ----- issuing, withdrawing, re-issuing -----


def notice_create(*, alert: Alert, by: User, action: ActionInput, replaces: ResultAction | None = None) -> ResultAction:
    """Write one notice with its 文号 (inside the caller's transaction, alert locked)."""
    check_action(action)
    today = local(timezone.now()).date()
    unit = by.org_unit or alert.org_unit
    notice = ResultAction(
        alert=alert, issued_by=by, kind=action.kind, recipient=action.recipient.strip(),
        text=action.text, due_date=action.due_date, title=action.title.strip(),
        copy_to=[str(c).strip() for c in action.copy_to], signer=action.signer.strip(),
        issuing_unit=unit, issue_date=today, replaces=replaces,
    )
    if action.kind in DOCUMENT_KINDS:
        notice.year = today.year
        notice.seq = next_sequence(unit=unit, kind=action.kind, year=today.year)
        pattern, _organ = numbering_for(unit, action.kind)
        notice.doc_number = format_number(pattern, year=today.year, seq=notice.seq)
    notice.save()
    # A rectification order counts for the assessment by its reply's due day, in this transaction.
    rollups.apply(rollups.order_counted(alert.org_unit_id, notice))
    return notice


def notices_visible_to(user: User) -> QuerySet[ResultAction]:
    """Notices of alerts in the user's scope (every read of notices starts here)."""
    return ResultAction.objects.filter(alert__in=alerts_visible_to(user)).select_related(
        "alert", "alert__org_unit", "issued_by", "issuing_unit", "replaces", "withdrawn_by",
    )


def _locked_notice(*, notice_id: int, by: User) -> tuple[Alert, ResultAction]:
    found = notices_visible_to(by).filter(pk=notice_id).values_list("alert_id", flat=True).first()
    if found is None:
        raise NotFound(_("Notice not found."))
    alert = alert_for_update(user=by, alert_id=found)
    notice = ResultAction.objects.select_for_update(of=("self",)).select_related("issuing_unit").get(pk=notice_id)
    if not policy.may_manage_notices(by):
        raise Forbidden(_("Only a supervisor can withdraw or re-issue notices."))
    if not alert.is_open:
        raise Conflict(_("The alert is closed; its notices can no longer be changed."))
    return alert, notice


def _withdraw(*, alert: Alert, notice: ResultAction, by: User, reason: str) -> None:
    notice.state = ResultAction.State.WITHDRAWN
    notice.withdrawn_at, notice.withdrawn_by, notice.withdraw_reason = timezone.now(), by, reason
    notice.save(update_fields=["state", "withdrawn_at", "withdrawn_by", "withdraw_reason"])
    timeline.notice_withdrawn(alert=alert, by=by, notice=notice)
    audit_record(
        action=AuditEvent.Action.NOTICE_WITHDRAWN, actor=by, object_type="notice", object_id=notice.pk,
        data={"alert": alert.pk, "doc_number": notice.doc_number},
    )


def notice_withdraw(*, notice_id: int, by: User, reason: str) -> ResultAction:
    """Withdraw (作废) an issued notice, with a reason; it stays on the record marked 作废."""
    if not reason.strip():
        raise ValidationError({"reason": [_("A reason is required.")]})
    with transaction.atomic():
        alert, notice = _locked_notice(notice_id=notice_id, by=by)
        if notice.is_withdrawn:
            raise Conflict(_("This notice has already been withdrawn."))
        _withdraw(alert=alert, notice=notice, by=by, reason=reason.strip())
    return notice


def notice_reissue(*, notice_id: int, by: User, action: ActionInput, reason: str = "") -> ResultAction:
    """Issue a corrected notice in place of `notice_id`: the old one is withdrawn (a reason is
    required while it is still in force), the new one gets a new 文号 and points back to it."""
    with transaction.atomic():
        alert, old = _locked_notice(notice_id=notice_id, by=by)
        if old.replaced_by.exists():
            raise Conflict(_("This notice has already been re-issued."))
        if action.kind != old.kind:
            raise ValidationError({"kind": [_("A re-issued notice keeps the kind of the one it replaces.")]})
        if not old.is_withdrawn:
            if not reason.strip():
                raise ValidationError({"reason": [_("Give the reason the notice is withdrawn and re-issued.")]})
            _withdraw(alert=alert, notice=old, by=by, reason=reason.strip())
        new = notice_create(alert=alert, by=by, action=action, replaces=old)
        timeline.notice_reissued(alert=alert, by=by, notice=new, replaces=old)
        audit_record(
            action=AuditEvent.Action.NOTICE_REISSUED, actor=by, object_type="notice", object_id=new.pk,
            data={"alert": alert.pk, "replaces": old.pk, "doc_number": new.doc_number},
        )
    return new
