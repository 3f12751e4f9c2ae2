"""API tokens for people: issue, check, list, revoke; and "log out everywhere".

A token is a random key shown once; only its SHA-256 digest is stored. It expires after
`HUOYAN_API_TOKEN_TTL_HOURS` (default 8) without use — every use pushes the expiry out again
(sliding) — and every token of a user is revoked when the password changes
(`RevokeTokensOnPasswordChange`, run by Django whenever a password is saved), when the user logs
out everywhere, and when the account is deactivated (and an inactive user's token is refused
anyway).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, User
from audit.models import AuditEvent
from audit.services import audit_record, client_ip
from core.errors import NotFound

# Writing last_used/expiry on every request would make each API read a write: refresh at most
# this often (the sliding expiry is exact to within this many seconds).
TOUCH_EVERY = timedelta(seconds=60)


def token_ttl() -> timedelta:
    return timedelta(hours=float(settings.HUOYAN_API_TOKEN_TTL_HOURS))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def api_token_issue(*, user: User, request: HttpRequest | Any = None) -> tuple[ApiToken, str]:
    """A new token for `user` (after the caller checked the password and any second factor).
    Returns the row and the key; the key is never stored and cannot be shown again."""
    key = secrets.token_hex(20)
    now = timezone.now()
    meta = getattr(request, "META", {}) if request is not None else {}
    token = ApiToken.objects.create(
        user=user, digest=_digest(key), prefix=key[:8], client=str(meta.get("HTTP_USER_AGENT", ""))[:200],
        ip=client_ip(request) if request is not None else None, last_used_at=now, expires_at=now + token_ttl(),
    )
    audit_record(action=AuditEvent.Action.TOKEN_ISSUED, actor=user, request=request,
                 object_type="api_token", object_id=token.pk, data={"prefix": token.prefix})
    return token, key


def api_token_check(key: str) -> ApiToken | None:
    """The live token for `key`, its expiry pushed out (sliding); None when unknown, expired or
    its user is inactive (such a token is deleted on the spot)."""
    if not key or len(key) > 128:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.expires_at <= now or not token.user.is_active:
        ApiToken.objects.filter(pk=token.pk).delete()
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at, token.expires_at = now, now + token_ttl()
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, expires_at=token.expires_at)
    return token


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's live tokens, newest first."""
    return ApiToken.objects.filter(user=user, expires_at__gt=timezone.now()).order_by("-created_at", "-id")


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int, request: HttpRequest | Any = None) -> None:
    """Revoke one of the user's own tokens; someone else's (or none) is a 404."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound(str(_("No such token.")))
    token.delete()
    audit_record(action=AuditEvent.Action.TOKEN_REVOKED, actor=user, request=request,
                 object_type="api_token", object_id=token_id, data={"prefix": token.prefix, "reason": "owner"})


def api_tokens_revoke_all(*, user: User, reason: str, actor: Any = None,
                          request: HttpRequest | Any = None) -> int:
    """Revoke every token of `user` (password changed, deactivated, logged out everywhere)."""
    count, _detail = ApiToken.objects.filter(user=user).delete()
    if count:
        audit_record(action=AuditEvent.Action.TOKEN_REVOKED, actor=actor or user, request=request,
                     object_type="user", object_id=user.pk, data={"count": count, "reason": reason})
    return count


@transaction.atomic
def logout_everywhere(*, user: User, request: HttpRequest) -> dict[str, int]:
    """End every other session of the user and revoke all their API tokens; the session making
    the request stays. Sessions are only kept for their idle timeout (30 minutes), so the scan
    of live sessions is short."""
    keep = getattr(getattr(request, "session", None), "session_key", None)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(session_key=keep).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    tokens = api_tokens_revoke_all(user=user, reason="logout_everywhere", request=request)
    audit_record(action=AuditEvent.Action.LOGOUT_EVERYWHERE, actor=user, request=request,
                 object_type="user", object_id=user.pk, data={"sessions": ended, "tokens": tokens})
    return {"sessions": ended, "tokens": tokens}


class RevokeTokensOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS only for its hook: Django calls `password_changed`
    whenever a user's new password is saved — the password change page, the admin,
    `manage.py changepassword`, a reset — so no path can forget to revoke the tokens."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and getattr(user, "pk", None):
            api_tokens_revoke_all(user=user, reason="password_changed")

    def get_help_text(self) -> str:
        return str(_("Changing the password revokes every API token of the account."))
