from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

unit_code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", _("Use lower-case letters, digits, '-' and '_' only.")
)


class OrgUnit(models.Model):
    """A node of the org-unit tree (city → county/district → office).

    `path` is the materialised path of codes (`suzhou/kunshan/`), so "this unit and everything
    below it" is one indexed `path__startswith` filter. It is derived from the parent chain by
    `accounts.services.org_unit_create`/`org_unit_move`, never edited by hand.
    """

    class Level(models.TextChoices):
        CITY = "city", _("City")
        COUNTY = "county", _("County / district")
        OFFICE = "office", _("Office")

    code = models.CharField(
        _("code"), max_length=64, unique=True, validators=[unit_code_validator],
        help_text=_("Stable identifier used by other systems, e.g. 'kunshan'."),
    )
    name = models.CharField(_("name"), max_length=128)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    path = models.CharField(_("path"), max_length=512, unique=True, editable=False)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]
        indexes = [
            models.Index(
                fields=["path"], name="orgunit_path_prefix_idx", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/")

    def contains(self, other: OrgUnit) -> bool:
        """True when `other` is this unit or below it."""
        return other.path.startswith(self.path)


class Role(models.TextChoices):
    SUPERVISOR = "supervisor", _("Supervisor")
    VERIFIER = "verifier", _("Verifier")
    LEADER = "leader", _("Leader")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=128, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VERIFIER)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="members",
        help_text=_("The user sees alerts of this unit and every unit below it."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class ApiToken(models.Model):
    """An API token (`Authorization: Token <key>`). Only a SHA-256 digest of the key is stored,
    so a copy of the database yields no usable token. A person may hold several (one per
    client); each expires after `HUOYAN_API_TOKEN_TTL_HOURS` without use (sliding) and all of
    them are revoked when the password changes, on "log out everywhere" and on deactivation.
    Rules live in `accounts.tokens`."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(_("key digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key prefix"), max_length=8, editable=False,
                              help_text=_("The first characters of the key, to tell tokens apart."))
    client = models.CharField(_("client"), max_length=200, blank=True,
                              help_text=_("The program that asked for the token (its User-Agent)."))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.prefix}…"
