"""Deadlines, escalation and notifications.

- `CalendarYear` / `CalendarDay`: the working-day calendar (public holidays and 调休 make-up
  working days), seeded from `chinese_calendar`, editable in the admin.
- `DeadlinePolicy`: how long each stage may take (optionally per risk level / domain).
- `EscalationStep`: one row per (alert, stage entry, step) — the unique constraint makes a
  doubled step impossible whatever the sweepers do.
- `Extension`: a request for more time on the current stage and its decision.
- `Notification` (in-app inbox) and `Delivery` (outbox of emails and webhook posts, written in
  the same transaction as the change, sent after commit and retried by the sweep).
- `OrgUnitWebhook`: where a unit wants its events posted.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.models import Domain, RiskLevel
from alerts.states import OPEN_STATUSES, Status
from core.masking import mask_text
from core.outbound import UnsafeDestination, check_url

USER = settings.AUTH_USER_MODEL


class CalendarYear(models.Model):
    """A year whose holidays and make-up days are known. Other years count Monday–Friday."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=64, default="chinese_calendar")
    synced_at = models.DateTimeField(_("synced at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that differs from the Monday–Friday rule: a holiday on a weekday, or a make-up
    working day (调休) on a weekend. Only exceptions are stored."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        WORKDAY = "workday", _("Make-up working day (调休)")

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinese_calendar package")
        ADMIN = "admin", _("Entered by an administrator")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    @property
    def is_working_day(self) -> bool:
        return self.kind == self.Kind.WORKDAY


class DeadlinePolicy(models.Model):
    """Time allowed for one stage. The most specific active row wins: stage + risk + domain,
    then stage + risk, then stage + domain, then the stage alone."""

    class Unit(models.TextChoices):
        WORKING_DAYS = "working_days", _("working days")
        HOURS = "hours", _("working hours")

    stage = models.CharField(
        _("stage"), max_length=16, choices=[c for c in Status.choices if c[0] in OPEN_STATUSES]
    )
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices, blank=True)
    amount = models.PositiveIntegerField(_("time allowed"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.WORKING_DAYS)
    warning_hours = models.PositiveIntegerField(
        _("warning window (hours)"), null=True, blank=True,
        help_text=_("Yellow starts this long before the deadline; empty uses the site default."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["stage", "risk_level", "domain"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "risk_level", "domain"], name="deadline_policy_uniq"),
        ]

    def __str__(self) -> str:
        scope = " / ".join(x for x in [self.get_stage_display(), self.risk_level, self.domain] if x)
        return f"{scope}: {self.amount} {self.get_unit_display()}"


class EscalationStep(models.Model):
    """One rung of the ladder reached by one stage entry of one alert (step 0 is the
    'deadline approaching' notice). Written once, in the sweep's transaction."""

    class Step(models.IntegerChoices):
        APPROACHING = 0, _("Deadline approaching")
        REMINDER = 1, _("Reminder to the assignee")
        YELLOW_CARD = 2, _("Written reminder to the unit supervisor (yellow card)")
        RED_CARD = 3, _("Supervision order (督办, red card)")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="escalation_steps")
    stage_seq = models.PositiveIntegerField(_("stage entry"))
    stage = models.CharField(_("stage"), max_length=16, choices=Status.choices)
    step = models.PositiveSmallIntegerField(_("step"), choices=Step.choices)
    due_at = models.DateTimeField(_("due at"))
    at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering = ["alert", "stage_seq", "step"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "stage_seq", "step"], name="escalation_step_once"),
        ]

    def __str__(self) -> str:
        return f"#{self.alert_id}/{self.stage_seq}: {self.get_step_display()}"


class Extension(models.Model):
    """A request for more time on the current stage (延期) and the supervisor's decision."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="extensions")
    stage_seq = models.PositiveIntegerField(_("stage entry"))
    stage = models.CharField(_("stage"), max_length=16, choices=Status.choices)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by"))
    reason = models.TextField(_("reason"))
    days = models.PositiveSmallIntegerField(_("working days wanted"), validators=[MinValueValidator(1)])
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.REQUESTED)
    due_at_before = models.DateTimeField(_("deadline when requested"))
    due_at_after = models.DateTimeField(_("new deadline"), null=True, blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    decision_note = models.TextField(_("decision note"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request per stage entry: a second one waits for the first decision.
            models.UniqueConstraint(
                fields=["alert", "stage_seq"], condition=Q(state="requested"), name="extension_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.alert_id} +{self.days}: {self.get_state_display()}"


class Notification(models.Model):
    """One message in one user's inbox."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned to you")
        RETURNED = "returned", _("Returned to you")
        SENT_BACK = "sent_back", _("Sent back")
        APPROACHING = "approaching", _("Deadline approaching")
        OVERDUE = "overdue", _("Overdue")
        ESCALATION = "escalation", _("Escalation")
        EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
        EXTENSION_DECIDED = "extension_decided", _("Extension decided")
        RECTIFICATION_OVERDUE = "rectification_overdue", _("Rectification order overdue")
        REPORT_READY = "report_ready", _("Analysis report ready")
        AWAITING_EVALUATION = "awaiting_evaluation", _("Awaiting your evaluation")
        EXPORT_READY = "export_ready", _("Export ready")
        EXPORT_FAILED = "export_failed", _("Export failed")

    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    # Makes a notification idempotent where the event could be seen twice (e.g. an overdue order).
    key = models.CharField(_("key"), max_length=128, blank=True)
    # Where opening a notification about something other than an alert goes (a path of this site).
    link = models.CharField(_("link"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~Q(key=""), name="notification_key_once"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return mask_text(self.title)


class OrgUnitWebhook(models.Model):
    """Events of alerts in this unit are POSTed here as JSON, signed with HMAC-SHA256."""

    org_unit = models.OneToOneField(
        "accounts.OrgUnit", on_delete=models.CASCADE, related_name="webhook", verbose_name=_("org unit")
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("shared secret"), max_length=128,
        help_text=_("Each request carries X-Huoyan-Signature: sha256=<HMAC-SHA256 of the body with this secret>."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit webhook")
        verbose_name_plural = _("unit webhooks")

    def __str__(self) -> str:
        return f"{self.org_unit}: {self.url}"

    def clean(self) -> None:
        # The admin form refuses an address the sender would refuse anyway (core.outbound).
        super().clean()
        if self.url:
            try:
                check_url(self.url)
            except UnsafeDestination as exc:
                raise ValidationError({"url": [exc.message]}) from None


class Delivery(models.Model):
    """Outbox row: an email or a webhook POST to send. Written in the transaction of the change,
    sent by a task after commit; whatever is still pending is retried by the sweep with backoff."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    webhook = models.ForeignKey(
        OrgUnitWebhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    address = models.CharField(_("address"), max_length=500, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.address} ({self.state})"


class AlertRollup(models.Model):
    """Counts the leadership figures read instead of the alerts and the timeline.

    One row per (dimension, unit, day the alerts were raised, key): e.g. ("domain", Kunshan,
    2026-03-02, "procurement") holds how many of Kunshan's alerts raised that day are in
    procurement, how many of them are closed, concluded, substantiated. Kept current by
    `workflow.rollups` in the same transaction as intake and every transition; rebuilt and
    checked from the source rows by `manage.py recompute_rollups [--check]`. Only "overdue now"
    is counted live. A new figure is a new dimension (or a new measure column), not a new scan.
    """

    class Dim(models.TextChoices):
        STATUS = "status", _("Stage")
        DOMAIN = "domain", _("Domain")
        SOURCE = "source", _("Source")
        CLOSED_DAY = "closed_day", _("Closed on (day)")
        CLOSED_MONTH = "closed_month", _("Closed in (month)")
        STAGE = "stage", _("Time in stage")
        # day = the day the stage was left (not the day raised): the assessment's "average
        # working days per stage" counts the stages left in its period.
        STAGE_EXIT = "stage_exit", _("Time in stage (by the day it was left)")
        OUTCOME = "outcome", _("Outcome")
        DISMISSED = "dismissed", _("Closed by dismissal")
        PEOPLE = "people", _("People dealt with and money (latest disposition)")
        # key "source id:rule code": a business system's embedded indicator.
        INDICATOR = "indicator", _("Indicator")
        # day = the day it happened (not the day raised), key = the transition's name (assign,
        # submit_verification, …) or "closed" for any transition into 办结: the assessment's
        # counts of what each unit did in a period, with how many were late.
        EVENT = "event", _("Stage changes (by the day they happened)")
        # day raised, key "": alerts marked as a recurrence (复发).
        RECURRENCE = "recurrence", _("Recurrences")
        # key "stage:model code" (n, substantiated) or "money:model code" (filed, amount, from the
        # latest disposition): a screening model's alerts, for its special projects' figures.
        MODEL = "model", _("Screening model")
        # day = the day the reply is due, key "": rectification orders (n) and, of them, those not
        # (yet) replied to by the end of that day (late).
        ORDERS = "orders", _("Rectification orders (by the day the reply is due)")

    dim = models.CharField(_("dimension"), max_length=16, choices=Dim.choices)
    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("raised on"))
    # 100: an indicator's key is its source's id, a colon and a rule code of up to 64 characters.
    key = models.CharField(_("key"), max_length=100)
    n = models.BigIntegerField(_("count"), default=0)
    closed = models.BigIntegerField(_("closed"), default=0)
    concluded = models.BigIntegerField(_("concluded"), default=0)
    substantiated = models.BigIntegerField(_("substantiated"), default=0)
    filed = models.BigIntegerField(_("cases filed"), default=0)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=20, decimal_places=2, default=0)
    seconds = models.BigIntegerField(_("time (seconds)"), default=0)
    working_days = models.DecimalField(_("time (working days)"), max_digits=14, decimal_places=2, default=0)
    # Of `n`, how many were late (a stage left after its deadline).
    late = models.BigIntegerField(_("late"), default=0, db_default=0)

    class Meta:
        verbose_name = _("dashboard rollup")
        verbose_name_plural = _("dashboard rollups")
        constraints = [
            models.UniqueConstraint(fields=["dim", "org_unit", "day", "key"], name="alert_rollup_uniq"),
        ]
        indexes = [
            # The reads: the counts ride along in the index (PostgreSQL INCLUDE), so a dashboard
            # never visits the table itself.
            models.Index(
                fields=["dim", "org_unit", "day"], name="alert_rollup_read_idx",
                include=["key", "n", "closed", "concluded", "substantiated", "filed", "amount", "seconds"],
            ),
            # A model's rows across units and months (a special project reads its models' keys); "in",
            # not a prefix match, so that PostgreSQL sees the index answers `dim = "model@m"`.
            models.Index(
                fields=["dim", "key"], name="alert_rollup_model_idx", condition=Q(dim__in=["model", "model@m"]),
                include=["org_unit", "n", "substantiated", "filed", "amount"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dim}/{self.org_unit_id}/{self.day}/{self.key}: {self.n}"


class ExportJob(models.Model):
    """An alert export too large for a request, written by the worker (`workflow.export_jobs`).

    The owner's unit and role are recorded when it is requested: the rows are those the owner may
    see, and the file is handed only to the owner, and only while their unit and role are still
    the recorded ones. The file is deleted when the job expires.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Being written")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="export_jobs", verbose_name=_("owner"))
    org_unit = models.ForeignKey("accounts.OrgUnit", null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("unit when requested"))
    role = models.CharField(_("role when requested"), max_length=16)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    query = models.CharField(_("list address"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=16)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    size_bytes = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="export_job_owner_idx"),
            models.Index(fields=["status", "created_at"], name="export_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename or self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.EXPIRED)
