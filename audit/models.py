from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE of these rows (migration
    0002), so not even a bug or a compromised application account can rewrite history.

    No foreign keys, on purpose: deleting a user or an alert must never need to touch this table.
    """

    class Action(models.TextChoices):
        STATE_CHANGE = "state_change", _("State change")
        ALERTS_RAISED = "alerts_raised", _("Alerts raised")
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logout")
        PERMISSION_CHANGE = "permission_change", _("Permission change")
        EXPORT = "export", _("Export")
        PII_VIEW = "pii_view", _("Full personal data viewed")
        TWO_FACTOR_ENROL = "2fa_enrol", _("Two-factor login enabled")
        TWO_FACTOR_DISABLE = "2fa_disable", _("Two-factor login disabled")
        TWO_FACTOR_FAILED = "2fa_failed", _("Wrong or missing two-factor code")
        TOKEN_ISSUED = "token_issued", _("API token issued")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        LOGOUT_EVERYWHERE = "logout_everywhere", _("Logged out everywhere")
        NOTICE_WITHDRAWN = "notice_withdrawn", _("Notice withdrawn")
        NOTICE_REISSUED = "notice_reissued", _("Notice re-issued")
        CLOSED_WITH_OPEN_ORDERS = "closed_open_orders", _("Closed with orders lacking accepted feedback")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"
