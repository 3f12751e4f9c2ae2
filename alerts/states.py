"""The seven states of the closed loop. The transitions between them are declared on
`alerts.models.Alert` (django-fsm-2) and described for the API in `alerts.transitions`."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    WARNING = "warning", _("Warning (预警)")
    ASSIGNED = "assigned", _("Assigned (分办)")
    VERIFYING = "verifying", _("Verifying (核查)")
    DISPOSING = "disposing", _("Disposing (处置)")
    APPLYING = "applying", _("Applying results (运用)")
    EVALUATING = "evaluating", _("Evaluating (考核)")
    CLOSED = "closed", _("Closed (办结)")
    # Side paths: a warning referred to the owning business department to correct itself
    # (预警纠治), and an alert merged into the lead that carries the case on (neither open nor
    # closed: its own bucket in every count).
    REFERRED = "referred", _("Referred for self-correction (预警纠治)")
    MERGED = "merged", _("Merged into a lead (已并案)")


# The states in which someone still has to act (deadlines run, boards show it).
OPEN_STATUSES = [s for s in Status.values if s not in (Status.CLOSED, Status.MERGED)]
# Every state an alert can be merged away from.
MERGEABLE_STATUSES = [s for s in OPEN_STATUSES if s != Status.REFERRED]
# Stages after verification: a conclusion there is final unless a leader sends it back. The
# warehouse's 查实率 and the dashboard's per-indicator figures count conclusions only there.
CONCLUDED_STATUSES = [Status.DISPOSING, Status.APPLYING, Status.EVALUATING, Status.CLOSED]


class Conclusion(models.TextChoices):
    SUBSTANTIATED = "substantiated", _("Substantiated")
    PARTIALLY_SUBSTANTIATED = "partially_substantiated", _("Partially substantiated")
    UNFOUNDED = "unfounded", _("Unfounded")


class Outcome(models.TextChoices):
    RECTIFICATION_ONLY = "rectification_only", _("Rectification only")
    FORM_1 = "form_1", _("Form 1 (first of the four forms)")
    FORM_2 = "form_2", _("Form 2")
    FORM_3 = "form_3", _("Form 3")
    FORM_4 = "form_4", _("Form 4")
    CLEARED = "cleared", _("Cleared (澄清)")
    # Only through an accepted referral reply, never chosen at disposal.
    SELF_CORRECTED = "self_corrected", _("Self-corrected by the department (自行纠正)")


# What a supervisor may record at disposal (self-correction comes only from a referral).
DISPOSAL_OUTCOMES = [(o.value, o.label) for o in Outcome if o != Outcome.SELF_CORRECTED]


class ActionKind(models.TextChoices):
    WORK_NOTICE = "work_notice", _("Work notice (工作提示单)")
    INTEGRITY_NOTICE = "integrity_notice", _("Integrity notice (廉政提示单)")
    RECOMMENDATION = "recommendation", _("Recommendation (纪检监察建议书)")
    RECTIFICATION_ORDER = "rectification_order", _("Rectification order (整改通知书)")
    SUPERVISION_ORDER = "supervision_order", _("Supervision order (督办单)")
    CASE_STUDY = "case_study", _("Case study")


# Kinds that are official documents: they get a 文号 and an official layout.
DOCUMENT_KINDS = [
    ActionKind.WORK_NOTICE,
    ActionKind.INTEGRITY_NOTICE,
    ActionKind.RECOMMENDATION,
    ActionKind.RECTIFICATION_ORDER,
    ActionKind.SUPERVISION_ORDER,
]


class DismissReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate")
    FALSE_POSITIVE = "false_positive", _("False positive")
    OUT_OF_SCOPE = "out_of_scope", _("Out of scope")


SEND_BACK_STAGES = [Status.VERIFYING, Status.DISPOSING, Status.APPLYING]
# The earlier stages an alert is sent back (evaluation) or reopened (re-check) to, as choices.
SEND_BACK_CHOICES = [(s.value, s.label) for s in SEND_BACK_STAGES]
