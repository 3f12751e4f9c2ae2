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
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from alerts.states import ActionKind, Conclusion, DismissReason, Outcome, Status

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
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["-created_at", "-id"]


class ResultAction(CaseRecord):
    """A notice, recommendation, rectification order or case study issued in use of results."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="result_actions")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by"))
    kind = models.CharField(_("kind"), max_length=32, choices=ActionKind.choices)
    recipient = models.CharField(_("recipient"), max_length=255)
    text = models.TextField(_("text"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    feedback = models.TextField(_("recipient's feedback"), blank=True)
    feedback_at = models.DateTimeField(_("feedback recorded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("result action")
        verbose_name_plural = _("result actions")
        ordering = ["created_at", "id"]


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


class Evidence(CaseRecord):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), upload_to=evidence_upload_to, max_length=255)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

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

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="timeline_alert_at_idx")]
