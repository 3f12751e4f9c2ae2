"""How API requests authenticate: people with an expiring token (`Authorization: Token <key>`,
see `accounts.tokens`), source systems with an API key (`Authorization: Api-Key <key>`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, TokenAuthentication, get_authorization_header

from accounts.models import ApiToken, User
from accounts.tokens import api_token_check
from alerts.models import SourceSystem
from alerts.sources import source_system_for_key
from api.throttles import ApiKeyFailureLimit


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: a live token (not expired, not revoked, active user).
    Every use slides its expiry (`HUOYAN_API_TOKEN_TTL_HOURS`)."""

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        token = api_token_check(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("The token is unknown, expired or revoked: ask for a new one at /api/v1/auth/token/.")
            )
        return token.user, token


class SourcePrincipal:
    """The 'user' of a request authenticated by a source system's API key."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    org_unit_id = None
    pk = None

    def __init__(self, source: SourceSystem) -> None:
        self.source = source

    def __str__(self) -> str:
        return f"source:{self.source.code}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"api-key"

    def authenticate(self, request: Any) -> tuple[SourcePrincipal, SourceSystem] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword:
            return None
        # Wrong keys are counted per address and refused with a 429 once too many, so keys
        # cannot be guessed at request speed.
        limit = ApiKeyFailureLimit(request)
        limit.check()
        if len(auth) != 2:
            limit.failed()
            raise exceptions.AuthenticationFailed(_("Invalid Api-Key header: give exactly one key."))
        try:
            key = auth[1].decode()
        except UnicodeError:
            limit.failed()
            raise exceptions.AuthenticationFailed(_("Invalid Api-Key header.")) from None
        source = source_system_for_key(key)
        if source is None:
            limit.failed()
            raise exceptions.AuthenticationFailed(_("Unknown or inactive API key."))
        return SourcePrincipal(source), source

    def authenticate_header(self, request: Any) -> str:
        return "Api-Key"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Source-system key: `Api-Key <key>`"}


class IsSourceSystem:
    """Permission: the request was authenticated with a source system's API key."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, SourceSystem)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return self.has_permission(request, view)
