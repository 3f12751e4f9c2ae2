"""The model warehouse: datasets (Parquet files), supervision models (cards), their runs and hits.

Writes go through `screening.services`; reads that screens and the API share go through
`screening.selectors`, which scope everything to the requester's unit and below.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.models import Domain, RiskLevel
from core.masking import mask_text


class ColumnType(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")


class Dataset(models.Model):
    """An uploaded table, stored as one Parquet file under MEDIA_ROOT/datasets/ (generated name)."""

    name = models.CharField(_("name"), max_length=128)
    org_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="datasets"
    )
    file = models.FileField(_("Parquet file"), max_length=255, upload_to="datasets/")
    original_filename = models.CharField(_("uploaded file"), max_length=255, blank=True)
    columns = models.JSONField(_("columns"), default=list, help_text=_("[{name, type}] in file order"))
    row_count = models.PositiveBigIntegerField(_("rows"), default=0)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org_unit", "created_at"], name="dataset_unit_created_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def column_types(self) -> dict[str, str]:
        return {c["name"]: c["type"] for c in self.columns}


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class Schedule(models.TextChoices):
    NONE = "", _("Not scheduled")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class ScreeningModel(models.Model):
    """A supervision model card. One row per version: editing an active model adds a row with the
    same `code` and `version + 1`; runs point at the row (the version) they used."""

    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    is_latest = models.BooleanField(_("latest version"), default=True)
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(_("description"), blank=True)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices, default=Domain.OTHER)
    org_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
        related_name="screening_models",
    )
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.ORANGE)
    status = models.CharField(_("status"), max_length=8, choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    supervision_points = models.TextField(_("supervision points"), blank=True)
    template = models.CharField(_("template"), max_length=32, blank=True)
    params = models.JSONField(_("template parameters"), default=dict, blank=True)
    spec = models.JSONField(_("rule spec"), default=dict)
    schedule = models.CharField(_("schedule"), max_length=8, choices=Schedule.choices, default=Schedule.NONE,
                                blank=True)
    next_run_at = models.DateTimeField(_("next scheduled run"), null=True, blank=True)
    origin = models.ForeignKey(
        "self", verbose_name=_("copied from"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="copies",
    )
    previous_version = models.ForeignKey(
        "self", verbose_name=_("previous version"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("screening model")
        verbose_name_plural = _("screening models")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="screening_model_code_version_uniq"),
            models.UniqueConstraint(fields=["code"], condition=Q(is_latest=True), name="screening_model_one_latest"),
        ]
        indexes = [
            models.Index(fields=["org_unit", "is_latest", "status"], name="smodel_unit_latest_idx"),
            models.Index(fields=["schedule", "next_run_at"], name="smodel_schedule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class ModelDataset(models.Model):
    """Which dataset plays which role (`awards`, `relations`, …) in a model version."""

    model = models.ForeignKey(ScreeningModel, on_delete=models.CASCADE, related_name="dataset_links")
    role = models.CharField(_("role"), max_length=32)
    dataset = models.ForeignKey(Dataset, verbose_name=_("dataset"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("model dataset")
        verbose_name_plural = _("model datasets")
        constraints = [models.UniqueConstraint(fields=["model", "role"], name="model_dataset_role_uniq")]

    def __str__(self) -> str:
        return f"{self.role}: {self.dataset_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ScreeningRun(models.Model):
    model = models.ForeignKey(ScreeningModel, verbose_name=_("model version"), on_delete=models.PROTECT,
                              related_name="runs")
    status = models.CharField(_("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    hit_count = models.PositiveIntegerField(_("hits"), default=0)
    alerts_created = models.PositiveIntegerField(_("alerts created"), default=0)
    error = models.TextField(_("error"), blank=True)
    scheduled = models.BooleanField(_("scheduled run"), default=False)
    dry_run = models.BooleanField(
        _("dry run"), default=False, help_text=_("A run of a draft: hits are kept and shown, no alert is raised."))
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    spec = models.JSONField(_("spec used"), default=dict)
    datasets = models.JSONField(_("datasets used"), default=dict, help_text=_("{role: {id, name, rows}}"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("query time (ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("screening run")
        verbose_name_plural = _("screening runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run #{self.pk} of {self.model}"


class ScreeningHit(models.Model):
    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="hits")
    group_key = models.JSONField(_("group key"), default=list)
    dedup_key = models.CharField(_("dedup key"), max_length=255)
    title = models.CharField(_("title"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=18, decimal_places=2, null=True, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    rows = models.JSONField(_("triggering rows"), default=list)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    alert = models.ForeignKey("alerts.Alert", verbose_name=_("alert"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    alert_created = models.BooleanField(_("new alert"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    evidence = models.JSONField(_("evidence tables"), default=list, blank=True,
                                help_text=_("[{dataset, columns, rows}] with the datasets' own headers"))
    suppressed = models.BooleanField(
        _("not raised again"), default=False,
        help_text=_("Its alert was dismissed or closed and the evidence has not changed since."))

    class Meta:
        verbose_name = _("screening hit")
        verbose_name_plural = _("screening hits")
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return mask_text(self.title)
