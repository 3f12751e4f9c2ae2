"""Optional TOTP two-factor login for leaders and administrators (django-otp).

One confirmed `TOTPDevice` per user. A user who has one must give a current code at every
login path: the login page, the admin (which sends people to the login page) and the API token.
A wrong or missing code counts as a failed login for django-axes' lockout and is audited.

Views and serializers stay thin and call these functions.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from accounts.tokens import api_tokens_revoke_all
from audit.models import AuditEvent
from audit.services import audit_record

DEVICE_NAME = "default"
TWO_FACTOR_ROLES = frozenset({Role.LEADER, Role.ADMIN})
MISSING_CODE = _("Two-factor login is on for this account: enter the 6-digit code from your "
                 "authenticator app.")
WRONG_CODE = _("That code is not valid. Codes change every 30 seconds; enter the current one.")


def two_factor_allowed(user: Any) -> bool:
    """Leaders and administrators (including superusers) may enrol a device."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in TWO_FACTOR_ROLES or bool(user.is_superuser)


def confirmed_device(user: Any) -> TOTPDevice | None:
    if not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def has_two_factor(user: Any) -> bool:
    return confirmed_device(user) is not None


def pending_device(*, user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled (created on first call, so the QR stays stable)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def device_secret(device: TOTPDevice) -> str:
    """The base32 secret, for typing into an authenticator app by hand."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def device_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (CSP allows `img-src data:`)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=4)


def _clean_token(token: object) -> str:
    return "".join(str(token or "").split())


@transaction.atomic
def two_factor_confirm(*, user: User, device: TOTPDevice, token: object,
                       request: HttpRequest | None = None) -> bool:
    """Confirm a pending device with a current code; any other device of the user is dropped."""
    if device.user_id != user.pk or device.confirmed:
        return False
    if not device.verify_token(_clean_token(token)):
        return False
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # A token issued before two-factor was on never passed a code: revoke it, so the next token
    # (POST /api/v1/auth/token/ with otp_token) does.
    api_tokens_revoke_all(user=user, reason="two_factor_on", request=request)
    audit_record(action=AuditEvent.Action.TWO_FACTOR_ENROL, actor=user, request=request,
                 object_type="user", object_id=user.pk)
    return True


@transaction.atomic
def two_factor_disable(*, user: User, password: str, token: object,
                       request: HttpRequest | None = None) -> bool:
    """Remove the user's devices, given the password and a current code."""
    device = confirmed_device(user)
    if device is None or not user.check_password(password or ""):
        return False
    if not device.verify_token(_clean_token(token)):
        return False
    TOTPDevice.objects.filter(user=user).delete()
    audit_record(action=AuditEvent.Action.TWO_FACTOR_DISABLE, actor=user, request=request,
                 object_type="user", object_id=user.pk)
    return True


def login_token_check(*, user: User, token: object, request: Any = None) -> TOTPDevice | None | bool:
    """At login, after the password matched.

    Returns None when the user has no confirmed device (no code needed), the device when the
    code is right, and False when it is missing or wrong. A failure is reported to django-axes
    (through Django's `user_login_failed` signal, which also writes the usual failed-login
    audit entry) and audited as a failed second factor.
    """
    device = confirmed_device(user)
    if device is None:
        return None
    cleaned = _clean_token(token)
    if cleaned and device.verify_token(cleaned):
        return device
    username = user.get_username()
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    audit_record(action=AuditEvent.Action.TWO_FACTOR_FAILED, actor_label=username, request=request,
                 object_type="user", object_id=user.pk,
                 data={"username": username, "missing": not cleaned})
    return False
