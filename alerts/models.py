from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from alerts.states import MERGEABLE_STATUSES, OPEN_STATUSES, SEND_BACK_STAGES, Conclusion, Status
from core.masking import mask_text


class RiskLevel(models.TextChoices):
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    BLUE = "blue", _("Blue")


# Sorting "by risk" means red first; the rank is stored so the dispatch board can use an index.
RISK_RANK = {RiskLevel.RED: 0, RiskLevel.ORANGE: 1, RiskLevel.YELLOW: 2, RiskLevel.BLUE: 3}


class Domain(models.TextChoices):
    PROCUREMENT = "procurement", _("Procurement")
    SUBSIDIES = "subsidies", _("Subsidies")
    ENFORCEMENT = "enforcement", _("Law enforcement")
    ENVIRONMENT = "environment", _("Environment")
    FINANCE = "finance", _("Public finance")
    CONSTRUCTION = "construction", _("Construction")
    LAND = "land", _("Land and resources")
    EDUCATION_HEALTH = "education_health", _("Education and health care")
    PENSIONS = "pensions", _("Pensions and social security")
    RESOURCE_TRADING = "resource_trading", _("Public resource trading")
    APPROVALS = "approvals", _("Approvals and licensing")
    RURAL_ASSETS = "rural_assets", _("Rural collective assets")
    FOUR_WINDS = "four_winds", _("Conduct and discipline")
    OTHER = "other", _("Other")


class SourceIndicator(models.Model):
    """A warning indicator embedded in a business system (its `rule` when it pushes an alert):
    created the first time the system pushes it, then named and described by the warehouse's
    editors (module, threshold, owning department)."""

    source = models.ForeignKey("alerts.SourceSystem", verbose_name=_("source system"), on_delete=models.CASCADE,
                               related_name="indicators")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=128, blank=True)
    module = models.CharField(_("module"), max_length=64, blank=True)
    threshold = models.CharField(_("threshold"), max_length=128, blank=True)
    department = models.CharField(_("owning department"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("first pushed"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("embedded indicator")
        verbose_name_plural = _("embedded indicators")
        ordering = ["source", "module", "code"]
        constraints = [models.UniqueConstraint(fields=["source", "code"], name="source_indicator_code_uniq")]

    def __str__(self) -> str:
        return self.name or self.code


class SupervisionDomain(models.Model):
    """The supervision fields (领域) as the administrators name and order them. The codes are the
    values alerts and models store in `domain` (`Domain`); this table gives them their names."""

    code = models.SlugField(_("code"), max_length=32, unique=True, choices=Domain.choices)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("offered"), default=True,
                                    help_text=_("Hidden fields stay on the alerts and models that carry them."))

    class Meta:
        verbose_name = _("supervision field")
        verbose_name_plural = _("supervision fields")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class SourceSystem(models.Model):
    """A business system (or screening model feed) allowed to push alerts with an API key.

    Only a prefix (to find the row) and a SHA-256 of the whole key are stored: keys are long
    random strings, so a fast hash is enough, and the key itself is shown once at creation.
    """

    class Kind(models.TextChoices):
        BUSINESS = "business", _("Business system")
        SCREENING = "screening", _("Screening model")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.BUSINESS)
    org_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT,
        help_text=_("Alerts from this system may only be raised for this unit or below it."),
    )
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    """Who an alert is about (一企一档 / 一人一档): a company by its unified social credit code, a
    person by ID number, or — when neither is known — a normalised name within one unit. Name
    variants that share a code are one subject. `key` is that identity as one unique string, so
    a batch of alerts links to its subjects with one upsert."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")
        NAME = "name", _("Name only")

    key = models.CharField(_("identity key"), max_length=300, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=255, blank=True)
    normalized_name = models.CharField(_("normalised name"), max_length=255, blank=True, db_index=True)
    credit_code = models.CharField(_("credit code"), max_length=32, blank=True, db_index=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True, db_index=True)
    org_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org unit"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Only for subjects known by name alone: the unit the name belongs to."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        # Masked: the key of a person is their ID number, and a name may hold a phone number.
        return mask_text(self.name or self.credit_code) or mask_text(self.key)


def _referral_reply_recorded(alert: Alert) -> bool:
    """A referral can be accepted once the department's reply is on record. Read through the
    reverse relation: `cases.Referral` sits above this app ("replied" is its REPLIED state)."""
    return alert.referrals.filter(state="replied").exists()


def _under_recheck(alert: Alert) -> bool:
    """A closed alert reopens only from a re-check still waiting for its outcome ("pending" is
    `assessment.RecheckItem.Outcome.PENDING`; that app sits above this one)."""
    return alert.recheck_items.filter(outcome="pending").exists()


class Alert(FSMModelMixin, models.Model):
    """One alert driven through the closed loop.

    The state changes only through the transition methods below, and those are only called by
    `workflow.services.alert_transition`, which checks scope and permission, locks the row and
    writes the stage record and the timeline entry in the same transaction.
    """

    title = models.CharField(_("title"), max_length=255)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices, default=Domain.OTHER)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), editable=False)
    org_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="alerts"
    )
    source = models.ForeignKey(
        SourceSystem, verbose_name=_("source"), on_delete=models.PROTECT, related_name="alerts"
    )
    rule_code = models.CharField(_("rule"), max_length=64, blank=True)
    subject_name = models.CharField(_("subject"), max_length=255, blank=True)
    subject_id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    subject_credit_code = models.CharField(_("credit code"), max_length=32, blank=True)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=18, decimal_places=2, null=True, blank=True)
    subject = models.ForeignKey(
        Subject, verbose_name=_("subject file"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="alerts",
    )
    details = models.JSONField(_("data snapshot"), default=dict, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True,
                            help_text=_("Free labels, e.g. the name of a special project"))
    dedup_key = models.CharField(_("dedup key"), max_length=255)
    occurrence_count = models.PositiveIntegerField(_("occurrences"), default=1)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    last_occurred_at = models.DateTimeField(_("last occurrence"), null=True, blank=True)

    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.WARNING, protected=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="assigned_alerts",
    )
    conclusion = models.CharField(
        _("conclusion"), max_length=32, choices=Conclusion.choices, blank=True
    )
    # Counters of the current stage; the history is in cases.TimelineEntry.
    stage_entered_at = models.DateTimeField(_("stage entered at"))
    # Bumped on every stage entry: a fencing token for escalation steps, so a stale sweep or a
    # retry aimed at an earlier stage entry finds it changed and does nothing.
    stage_seq = models.PositiveIntegerField(_("stage entry"), default=1)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    supervised = models.BooleanField(_("supervised (督办)"), default=False)
    # Went past a deadline at some stage (the sweep raised its level to overdue at least once);
    # set by the sweep's level update, never cleared. The assessment's "ever overdue".
    ever_overdue = models.BooleanField(_("ever overdue"), default=False, db_default=False)
    # 提级办理 / 交叉核查: the unit handling the alert when it is not the owning unit. Its people see
    # the alert while it is open; the owning unit keeps seeing it; nobody else gains sight.
    handling_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("handling unit"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="handled_alerts",
    )
    # Merging: the lead this alert was merged into, and the state it left (restored by unmerge).
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="merged_alerts",
    )
    merged_from_status = models.CharField(_("state before merging"), max_length=16, blank=True)
    # 复发: the closed, substantiated alert about the same subject from the same model or
    # indicator that this one repeats after its rectification was due.
    recurrence_of = models.ForeignKey(
        "self", verbose_name=_("recurrence of"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="recurrences",
    )
    # 复查: while a verifier of another unit re-checks this closed alert, that unit may read it.
    recheck_unit = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("re-checking unit"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Dedup that survives races: one open alert per (source, key); a closed one frees it.
            models.UniqueConstraint(
                fields=["source", "dedup_key"], condition=~Q(status=Status.CLOSED),
                name="alert_open_dedup_key_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["org_unit", "status"], name="alert_unit_status_idx"),
            # The assessment's "ever overdue" of a period: the few alerts concerned, by day raised.
            models.Index(fields=["created_at"], include=["org_unit"], condition=models.Q(ever_overdue=True),
                         name="alert_ever_overdue_idx"),
            # The default list order: newest first. Lets a page of 50 be read straight off the
            # index instead of sorting the whole scope (1.8 s → 0.1 ms at 1,000,000 alerts). The
            # scope's and the open/closed filter's columns ride along, so a page's ids, a deep
            # page by number and the capped count read the index alone (page 200 of the closed
            # alerts at 500,000 alerts: 96 ms → 10 ms).
            models.Index(fields=["-created_at", "-id"], name="alert_newest_idx",
                         include=["status", "org_unit", "handling_unit", "recheck_unit"]),
            # The dispatch board's order within a stage, with the scope's columns (index-only pages).
            models.Index(fields=["status", "risk_rank", "created_at", "id"], name="alert_board_idx",
                         include=["org_unit", "handling_unit", "recheck_unit"]),
            models.Index(fields=["assignee", "status"], name="alert_assignee_status_idx"),
            # "N alerts about this subject" on the boards: counted from the index alone.
            models.Index(fields=["subject", "org_unit"], name="alert_subject_unit_idx"),
            # A stage's queue, longest waiting first (the evaluation queue), index-only like the above.
            models.Index(fields=["status", "stage_entered_at", "id"], name="alert_stage_queue_idx",
                         include=["org_unit", "handling_unit", "recheck_unit"]),
            # Open alerts by deadline: the sweep's claim, and "overdue now" on the dashboard, which
            # reads unit, domain, source and creation from the index alone (PostgreSQL INCLUDE).
            models.Index(
                fields=["due_at"], condition=~Q(status=Status.CLOSED), name="alert_open_due_idx",
                include=["org_unit", "domain", "source", "created_at"],
            ),
            # A model's card finds its alerts by rule code (and its latest closed cases).
            models.Index(fields=["rule_code", "closed_at"], condition=~Q(rule_code=""), name="alert_rule_code_idx"),
            models.Index(
                fields=["handling_unit"], condition=Q(handling_unit__isnull=False), name="alert_handling_unit_idx"
            ),
            models.Index(
                fields=["recheck_unit"], condition=Q(recheck_unit__isnull=False), name="alert_recheck_unit_idx"
            ),
        ]

    def __str__(self) -> str:
        # Masked: a string form ends up in admin lists, logs and error reports.
        return f"#{self.pk} {mask_text(self.title)}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Derived column kept in step with its source field; no business rule here.
        self.risk_rank = RISK_RANK[RiskLevel(self.risk_level)]
        super().save(*args, **kwargs)

    # ----- transitions (the one place they are declared) -----
    @transition(field=status, source=Status.WARNING, target=Status.ASSIGNED)
    def assign(self) -> None:
        pass

    @transition(field=status, source=Status.ASSIGNED, target=Status.VERIFYING)
    def accept(self) -> None:
        pass

    @transition(field=status, source=Status.ASSIGNED, target=Status.WARNING)
    def return_(self) -> None:
        pass

    @transition(
        field=status, source=Status.VERIFYING, target=RETURN_VALUE(Status.DISPOSING, Status.EVALUATING)
    )
    def submit_verification(self, conclusion: str) -> str:
        # An unfounded conclusion has nothing to dispose of: it goes straight to evaluation.
        return Status.EVALUATING if conclusion == Conclusion.UNFOUNDED else Status.DISPOSING

    @transition(field=status, source=Status.DISPOSING, target=Status.APPLYING)
    def dispose(self) -> None:
        pass

    @transition(field=status, source=Status.APPLYING, target=Status.EVALUATING)
    def apply_results(self) -> None:
        pass

    @transition(field=status, source=Status.EVALUATING, target=Status.CLOSED)
    def close(self) -> None:
        pass

    @transition(field=status, source=Status.EVALUATING, target=RETURN_VALUE(*SEND_BACK_STAGES))
    def send_back(self, stage: str) -> str:
        return stage

    @transition(field=status, source=Status.WARNING, target=Status.CLOSED)
    def dismiss(self) -> None:
        pass

    @transition(field=status, source=MERGEABLE_STATUSES, target=Status.MERGED)
    def merge(self) -> None:
        pass

    @transition(field=status, source=Status.MERGED, target=RETURN_VALUE(*MERGEABLE_STATUSES))
    def unmerge(self) -> str:
        return self.merged_from_status

    @transition(field=status, source=Status.WARNING, target=Status.REFERRED)
    def refer(self) -> None:
        pass

    @transition(field=status, source=Status.REFERRED, target=Status.CLOSED, conditions=[_referral_reply_recorded])
    def accept_referral(self) -> None:
        pass

    @transition(field=status, source=Status.REFERRED, target=Status.WARNING)
    def reject_referral(self) -> None:
        pass

    @transition(field=status, source=Status.CLOSED, target=RETURN_VALUE(*SEND_BACK_STAGES),
                conditions=[_under_recheck])
    def reopen(self, stage: str) -> str:
        return stage

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
