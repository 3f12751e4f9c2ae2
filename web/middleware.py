"""Sliding session expiry without a database write on every request.

Django's SESSION_SAVE_EVERY_REQUEST rewrites the session row on every page (a SAVEPOINT, an
UPDATE and a RELEASE, and a row lock that serialises a user's parallel requests). Here the
session is saved only when it changed, or when it is old enough to need its expiry pushed back:
at most once per SESSION_REFRESH_SECONDS per session. The inactivity timeout therefore ends
between SESSION_COOKIE_AGE − SESSION_REFRESH_SECONDS and SESSION_COOKIE_AGE after the last
request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

KEY = "_refreshed"


def refresh_seconds() -> int:
    default = max(1, min(300, settings.SESSION_COOKIE_AGE // 6))
    return int(getattr(settings, "SESSION_REFRESH_SECONDS", default))


class SessionRefreshMiddleware:
    """Place right after SessionMiddleware (its response step then runs first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only sessions that exist (a logged-in user, a pending two-factor step) are refreshed.
        if session is not None and session.session_key and not session.is_empty():
            now = int(time.time())
            last = session.get(KEY)
            if not isinstance(last, int) or now - last >= refresh_seconds():
                session[KEY] = now  # marks it modified: SessionMiddleware saves it and its new expiry
        return response
