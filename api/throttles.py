"""Per-request limits (DRF throttles) on the API's doors that face other programs: token
requests and API-key requests. Rates come from `HUOYAN_THROTTLE_RATES` in settings (read on
each request, so tests and deployments can raise or lower them); counts live in Django's cache
(`CACHES`: use Redis in production so every worker shares them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle


def _rate(scope: str) -> str | None:
    return getattr(settings, "HUOYAN_THROTTLE_RATES", {}).get(scope)


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return _rate(self.scope)


class TokenRequestThrottle(_SettingsRateThrottle):
    """`POST /api/v1/auth/token/`: per client address (django-axes separately locks a
    username + address after failed passwords)."""

    scope = "auth_token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ApiKeyThrottle(_SettingsRateThrottle):
    """Requests authenticated by a source system's API key: per source system. Other requests
    (people with a token or a session) are not counted here."""

    scope = "api_key"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        source = getattr(getattr(request, "user", None), "source", None)
        if source is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"source-{source.pk}"}


class ApiKeyFailureLimit(_SettingsRateThrottle):
    """Wrong API keys from one address: once the `api_key_failures` rate is used up, every
    further API-key request from that address is refused with a 429 until the window ends.
    Called by `ApiKeyAuthentication` (authentication runs before a view's throttles, so a
    failed key would otherwise never be counted)."""

    scope = "api_key_failures"

    def __init__(self, request: Any) -> None:
        super().__init__()
        self.request = request
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def check(self) -> None:
        if self.rate is not None and cache.get(self.key, 0) >= self.num_requests:
            raise exceptions.Throttled(wait=self.duration)

    def failed(self) -> None:
        if self.rate is None or cache.add(self.key, 1, timeout=self.duration):
            return
        try:
            cache.incr(self.key)
        except ValueError:  # the window ended between add and incr
            cache.add(self.key, 1, timeout=self.duration)
