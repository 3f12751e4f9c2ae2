from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login that comes over HTTP.

    Every HTTP login path (the login page, the admin, the API token) passes the request. Only
    in-process calls without one (management commands, the test client's `login`) skip the
    check, since there is no remote address to lock.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
