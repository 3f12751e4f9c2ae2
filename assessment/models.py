"""考核 that supervises the supervisors: the weights of the unit score, re-check samples of closed
alerts, unit-level escalation states and stored analysis reports."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from alerts.states import SEND_BACK_STAGES, Status

USER = settings.AUTH_USER_MODEL


class AssessmentWeight(models.Model):
    """One term of the unit score (docs/assessment.md has the formula); edited in the admin."""

    class Metric(models.TextChoices):
        DISPATCH_ON_TIME = "dispatch_on_time", _("Dispatched on time")
        VERIFY_ON_TIME = "verify_on_time", _("Verified on time")
        CLOSURE = "closure", _("Closed")
        NEVER_OVERDUE = "never_overdue", _("Never overdue")
        SUBSTANTIATION = "substantiation", _("Substantiated")
        ORDERS_ON_TIME = "orders_on_time", _("Rectification replies on time")
        NO_RECURRENCE = "no_recurrence", _("No recurrence")
        RECHECK_PASSED = "recheck_passed", _("Re-checks confirmed")

    metric = models.CharField(_("figure"), max_length=32, choices=Metric.choices, unique=True)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2, default=Decimal("1"),
                                 validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("assessment weight")
        verbose_name_plural = _("assessment weights")
        ordering = ["metric"]

    def __str__(self) -> str:
        return f"{self.get_metric_display()}: {self.weight}"


class Recheck(models.Model):
    """A reproducible random sample of closed alerts, drawn by a leader for one period."""

    period = models.CharField(_("period"), max_length=16)
    seed = models.BigIntegerField(_("random seed"))
    size = models.PositiveIntegerField(_("alerts per unit"), null=True, blank=True)
    ratio = models.DecimalField(_("share per unit"), max_digits=5, decimal_places=4, null=True, blank=True)
    units = models.ManyToManyField("accounts.OrgUnit", related_name="+", verbose_name=_("units"))
    drawn_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("drawn by"))
    created_at = models.DateTimeField(_("drawn at"), auto_now_add=True)

    class Meta:
        verbose_name = _("re-check sample")
        verbose_name_plural = _("re-check samples")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period} #{self.pk}"


class RecheckItem(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for the re-check")
        CONFIRMED = "confirmed", _("Confirmed")
        PROBLEM_FOUND = "problem_found", _("Problem found: reopened")

    recheck = models.ForeignKey(Recheck, on_delete=models.CASCADE, related_name="items")
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="recheck_items")
    handled_by_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("unit that handled it"))
    assignee = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="rechecks",
                                 verbose_name=_("re-checking verifier"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    reopened_to = models.CharField(_("reopened to"), max_length=16, blank=True,
                                   choices=[(s.value, s.label) for s in SEND_BACK_STAGES])
    note = models.TextField(_("note"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-check")
        verbose_name_plural = _("re-checks")
        ordering = ["recheck", "id"]
        constraints = [models.UniqueConstraint(fields=["recheck", "alert"], name="recheck_alert_once")]

    def __str__(self) -> str:
        return f"#{self.alert_id}: {self.get_outcome_display()}"


class UnitEscalation(models.Model):
    """A unit whose share of overdue open alerts crossed the line: one row per crossing, so the
    notice goes out once per crossing and not again until the unit falls below and crosses anew."""

    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.CASCADE, related_name="+")
    crossing = models.PositiveIntegerField(_("crossing"))
    open_alerts = models.PositiveIntegerField(_("open alerts"))
    overdue = models.PositiveIntegerField(_("overdue"))
    started_at = models.DateTimeField(_("crossed at"))
    ended_at = models.DateTimeField(_("fell below at"), null=True, blank=True)

    class Meta:
        verbose_name = _("unit-level supervision notice")
        verbose_name_plural = _("unit-level supervision notices")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "crossing"], name="unit_escalation_once_per_crossing"),
            models.UniqueConstraint(fields=["org_unit"], condition=models.Q(ended_at__isnull=True),
                                    name="unit_escalation_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} #{self.crossing}"


def report_upload_to(instance: AnalysisReport, filename: str) -> str:
    return f"reports/{instance.created_at:%Y%m}/report-{instance.pk or 'new'}.docx"


class AnalysisReport(models.Model):
    """A 数据分析专项报告: what it covers (period, units, domains, sources or models) and its .docx."""

    class Schedule(models.TextChoices):
        NONE = "", _("Once")
        MONTHLY = "monthly", _("Every month")
        QUARTERLY = "quarterly", _("Every quarter")

    title = models.CharField(_("title"), max_length=200)
    preset = models.CharField(_("preset"), max_length=32, blank=True)
    params = models.JSONField(_("what it covers"), default=dict)
    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("unit"))
    schedule = models.CharField(_("schedule"), max_length=16, choices=Schedule.choices, blank=True, default="")
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    file = models.FileField(_("document"), upload_to=report_upload_to, blank=True, max_length=255)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("analysis report")
        verbose_name_plural = _("analysis reports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


# The documented default weights (docs/assessment.md), used for any figure without a row.
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "dispatch_on_time": Decimal("1.5"), "verify_on_time": Decimal("2"), "closure": Decimal("2"),
    "never_overdue": Decimal("1.5"), "substantiation": Decimal("1"), "orders_on_time": Decimal("1"),
    "no_recurrence": Decimal("0.5"), "recheck_passed": Decimal("0.5"),
}

# What a re-check may reopen an alert to.
REOPEN_STAGES = [Status.VERIFYING, Status.DISPOSING, Status.APPLYING]
