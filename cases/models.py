"""What is recorded at each stage of an alert, and the timeline of everything that happened.

Each transition keeps its own record (assignment, verification, disposition, result actions,
evaluation, dismissal). Rows are written by `workflow.services` in the same transaction as the
state change they describe, and are never edited afterwards except where a later step of the
same record is filled in (an assignment's return, a rectification order's feedback).
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.states import DOCUMENT_KINDS, ActionKind, Conclusion, DismissReason, Outcome, Status

USER = settings.AUTH_USER_MODEL


class CaseRecord(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Assignment(CaseRecord):
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="assignments")
    assignee = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("assignee"))
    assigned_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("assigned by"))
    note = models.TextField(_("dispatch note"), blank=True)
    created_at = models.DateTimeField(_("assigned at"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("signed for at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("return reason"), blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-created_at", "-id"]


class Verification(CaseRecord):
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="verifications")
    verifier = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("verifier"))
    conclusion = models.CharField(_("conclusion"), max_length=32, choices=Conclusion.choices)
    summary = models.TextField(_("summary"))
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("verification conclusion")
        verbose_name_plural = _("verification conclusions")
        ordering = ["-created_at", "-id"]


class Disposition(CaseRecord):
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="dispositions")
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by"))
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices)
    case_filed = models.BooleanField(_("case filed (立案)"), default=False)
    amount_recovered = models.DecimalField(_("amount recovered (yuan)"), max_digits=18, decimal_places=2, default=0)
    amount_confiscated = models.DecimalField(
        _("amount confiscated (收缴, yuan)"), max_digits=18, decimal_places=2, default=0
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["-created_at", "-id"]
        # "The latest disposition of each alert" (model cards, figures): one index probe.
        indexes = [models.Index(fields=["alert", "created_at", "id"], name="disposition_latest_idx")]


class DispositionPerson(CaseRecord):
    """One person dealt with by a disposition: the commission counts people, not alerts."""

    class Form(models.TextChoices):
        FORM_1 = "form_1", _("Form 1 (first of the four forms)")
        FORM_2 = "form_2", _("Form 2")
        FORM_3 = "form_3", _("Form 3")
        FORM_4 = "form_4", _("Form 4")
        NONE = "none", _("None of the four forms")

    class Sanction(models.TextChoices):
        # 党纪处分
        PARTY_WARNING = "party_warning", _("Party discipline: warning (警告)")
        PARTY_SERIOUS_WARNING = "party_serious_warning", _("Party discipline: serious warning (严重警告)")
        PARTY_REMOVAL = "party_removal", _("Party discipline: removal from party posts (撤销党内职务)")
        PARTY_PROBATION = "party_probation", _("Party discipline: probation (留党察看)")
        PARTY_EXPULSION = "party_expulsion", _("Party discipline: expulsion (开除党籍)")
        # 政务处分
        GOV_WARNING = "gov_warning", _("Government sanction: warning (警告)")
        GOV_DEMERIT = "gov_demerit", _("Government sanction: demerit (记过)")
        GOV_MAJOR_DEMERIT = "gov_major_demerit", _("Government sanction: major demerit (记大过)")
        GOV_DEMOTION = "gov_demotion", _("Government sanction: demotion (降级)")
        GOV_REMOVAL = "gov_removal", _("Government sanction: removal from post (撤职)")
        GOV_DISMISSAL = "gov_dismissal", _("Government sanction: dismissal (开除)")

    disposition = models.ForeignKey(Disposition, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(_("name"), max_length=64)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    position = models.CharField(_("position"), max_length=128, blank=True)
    unit = models.CharField(_("work unit"), max_length=255, blank=True)
    form = models.CharField(_("form of handling"), max_length=8, choices=Form.choices, default=Form.NONE)
    sanction = models.CharField(_("sanction"), max_length=32, choices=Sanction.choices, blank=True)
    case_filed = models.BooleanField(_("case filed (立案)"), default=False)
    detained = models.BooleanField(_("detained (留置)"), default=False)
    transferred = models.BooleanField(_("transferred to the judiciary (移送司法)"), default=False)

    class Meta:
        verbose_name = _("person dealt with")
        verbose_name_plural = _("people dealt with")
        ordering = ["id"]
        indexes = [models.Index(fields=["form"], name="disposition_person_form_idx")]


class NoticeNumbering(models.Model):
    """How an issuing unit numbers one kind of document, e.g. 昆纪提〔{year}〕{seq}号."""

    org_unit = models.ForeignKey(
        "accounts.OrgUnit", on_delete=models.CASCADE, related_name="notice_numberings", verbose_name=_("issuing unit")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=ActionKind.choices)
    pattern = models.CharField(
        _("number pattern"), max_length=64,
        help_text=_("{year} is the year and {seq} the sequence number, e.g. 昆纪提〔{year}〕{seq}号."),
    )
    issuer_name = models.CharField(
        _("issuing organ"), max_length=128, blank=True,
        help_text=_("Printed in red at the head of the document; empty uses the unit's name."),
    )

    class Meta:
        verbose_name = _("document numbering")
        verbose_name_plural = _("document numberings")
        ordering = ["org_unit", "kind"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "kind"], name="notice_numbering_uniq")]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.get_kind_display()}: {self.pattern}"

    def clean(self) -> None:
        # Shape only (the admin form): a number without its sequence would repeat.
        if "{seq}" not in self.pattern:
            raise ValidationError({"pattern": _("The pattern must contain {seq}.")})


class NoticeCounter(models.Model):
    """The last sequence number used per issuing unit, kind and year. Locked (SELECT … FOR UPDATE)
    by the transaction that issues a document, so numbers have no gaps and no duplicates."""

    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=ActionKind.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("document counter")
        verbose_name_plural = _("document counters")
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "kind", "year"], name="notice_counter_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_id}/{self.kind}/{self.year}: {self.last}"


class ResultAction(CaseRecord):
    """A notice, recommendation, rectification order or case study issued in use of results.

    Documents (`alerts.states.DOCUMENT_KINDS`) carry a 文号 and print in an official layout.
    Any notice with a `due_date` asks for a reply and is tracked in the rectification ledger.
    """

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        WITHDRAWN = "withdrawn", _("Withdrawn (作废)")

    class Review(models.TextChoices):
        NONE = "", _("Not reviewed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="result_actions")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by"))
    kind = models.CharField(_("kind"), max_length=32, choices=ActionKind.choices)
    # The document: 文号 (from the issuing unit's pattern), title, 主送, 抄送, body, 落款.
    doc_number = models.CharField(_("document number (文号)"), max_length=64, blank=True)
    issuing_unit = models.ForeignKey(
        "accounts.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("issuing unit"),
    )
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    seq = models.PositiveIntegerField(_("sequence number"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=255, blank=True)
    recipient = models.CharField(_("recipient"), max_length=255)
    copy_to = models.JSONField(_("copy to (抄送)"), default=list, blank=True)
    text = models.TextField(_("text"))
    signer = models.CharField(_("signer"), max_length=64, blank=True)
    issue_date = models.DateField(_("date of issue"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ISSUED)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("withdrawn by")
    )
    withdraw_reason = models.TextField(_("reason for withdrawal"), blank=True)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    # The reply (整改反馈) and the supervisor's review of it.
    feedback = models.TextField(_("recipient's feedback"), blank=True)
    feedback_at = models.DateTimeField(_("feedback recorded at"), null=True, blank=True)
    review = models.CharField(_("review"), max_length=16, choices=Review.choices, blank=True, default="")
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # Rungs of the reminder ladder reached by an overdue reply (set by the sweep).
    reminder_level = models.PositiveSmallIntegerField(_("reminder level"), default=0)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("result action")
        verbose_name_plural = _("result actions")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_unit", "kind", "year", "seq"], condition=Q(seq__isnull=False),
                name="notice_number_once",
            ),
        ]
        indexes = [
            models.Index(fields=["due_date"], condition=Q(due_date__isnull=False, state="issued"),
                         name="result_action_ledger_idx"),
        ]

    @property
    def is_document(self) -> bool:
        return self.kind in DOCUMENT_KINDS

    @property
    def asks_reply(self) -> bool:
        return self.due_date is not None

    @property
    def is_withdrawn(self) -> bool:
        return self.state == self.State.WITHDRAWN


class StoredFile(CaseRecord):
    """What is kept of an uploaded file besides the file itself (stored under a generated name):
    evidence of a finding and attachments of a reply share it."""

    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        abstract = True


def feedback_upload_to(instance: FeedbackAttachment, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"feedback/{instance.order.alert_id}/{uuid.uuid4().hex}{suffix}"


class FeedbackAttachment(StoredFile):
    """A file sent with a reply to a notice (the rectification report, photos)."""

    order = models.ForeignKey(ResultAction, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=feedback_upload_to, max_length=255)

    class Meta:
        verbose_name = _("feedback attachment")
        verbose_name_plural = _("feedback attachments")
        ordering = ["id"]


class Evaluation(CaseRecord):
    class Decision(models.TextChoices):
        CLOSE = "close", _("Closed")
        SEND_BACK = "send_back", _("Sent back")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="evaluations")
    evaluator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("evaluator"))
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    score = models.PositiveSmallIntegerField(
        _("quality score"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = models.TextField(_("comment"), blank=True)
    sent_back_to = models.CharField(_("sent back to"), max_length=16, choices=Status.choices, blank=True)
    override_reason = models.TextField(
        _("reason for closing with open orders"), blank=True,
        help_text=_("Given by the leader who closes an alert while an order has no accepted feedback."),
    )
    created_at = models.DateTimeField(_("evaluated at"), auto_now_add=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-created_at", "-id"]


class Dismissal(CaseRecord):
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="dismissals")
    dismissed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("dismissed by"))
    reason = models.CharField(_("reason"), max_length=32, choices=DismissReason.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("dismissed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dismissal")
        verbose_name_plural = _("dismissals")


class Referral(CaseRecord):
    """预警纠治: a warning sent to the business department that owns it, to correct itself by a
    due date. The department's reply (and its attachments, kept as a finding) is recorded by a
    supervisor, who accepts it — the alert closes as self-corrected — or rejects it, and the alert
    goes back to dispatch; an overdue reply sends it back too (the sweep)."""

    class State(models.TextChoices):
        AWAITING = "awaiting", _("Awaiting the department's reply")
        REPLIED = "replied", _("Replied")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        OVERDUE = "overdue", _("Overdue")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="referrals")
    referred_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("referred by"))
    department = models.CharField(_("department"), max_length=255)
    note = models.TextField(_("what to correct"), blank=True)
    due_date = models.DateField(_("reply due"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.AWAITING)
    reply = models.TextField(_("the department's reply"), blank=True)
    replied_at = models.DateTimeField(_("reply recorded at"), null=True, blank=True)
    reply_finding = models.ForeignKey(
        "Finding", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("reply and attachments"),
    )
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("referred at"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "due_date"], name="referral_state_due_idx")]


class Finding(CaseRecord):
    class Method(models.TextChoices):
        DOCUMENT_REVIEW = "document_review", _("Document review")
        SITE_VISIT = "site_visit", _("Site visit")
        INTERVIEW = "interview", _("Interview")
        SYSTEM_LOOKUP = "system_lookup", _("System lookup")
        DEPARTMENT_REPLY = "department_reply", _("Department's reply (预警纠治)")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="findings")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    method = models.CharField(_("method"), max_length=32, choices=Method.choices, default=Method.DOCUMENT_REVIEW)
    text = models.TextField(_("finding"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["created_at", "id"]


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # Generated names only: the uploader's file name is kept in a column, never used as a path.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"evidence/{instance.finding.alert_id}/{uuid.uuid4().hex}{suffix}"


class Evidence(StoredFile):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), upload_to=evidence_upload_to, max_length=255)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["id"]


class Comment(CaseRecord):
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("posted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]


class TimelineEntry(CaseRecord):
    """Append-only history of an alert: written with the change it records, never updated."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Raised")
        TRANSITION = "transition", _("Stage change")
        COMMENT = "comment", _("Comment")
        FINDING = "finding", _("Finding")
        EXTENSION = "extension", _("Deadline extension")
        ESCALATION = "escalation", _("Escalation")
        FEEDBACK = "feedback", _("Rectification feedback")
        MERGE = "merge", _("Merging")
        HANDLING = "handling", _("Handling unit")
        REFERRAL = "referral", _("Referral to the department")
        NOTICE = "notice", _("Notice")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # For transitions: the transition's name (assign, accept, …).
    action = models.CharField(_("action"), max_length=32, blank=True)
    from_status = models.CharField(_("from"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=Status.choices, blank=True)
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    # For transitions: how long the alert spent in the stage it left, stored when written, so
    # the dashboard's "average days per stage" never has to pair entries up again.
    stage_seconds = models.BigIntegerField(_("time in stage (seconds)"), null=True, blank=True)
    stage_working_days = models.DecimalField(
        _("time in stage (working days)"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    # For transitions: the deadline the stage left had then (None: it had none, or the entry
    # predates it being stored and no reminder recorded it). Left after it = left late, which the
    # assessment counts ("dispatched / verified on time").
    stage_due_at = models.DateTimeField(_("deadline of the stage left"), null=True, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="timeline_alert_at_idx")]
