"""The admin site: staff who enrolled a TOTP device must have passed it in this session.

The admin has no login form of its own: it sends people to the one login page, which asks for
the code when the user has a device. A session that was opened without the code (only possible
in-process, e.g. `force_login` in tests or a shell) is not let into the admin.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.two_factor import has_two_factor


class HuoyanAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        user: Any = request.user
        is_verified = getattr(user, "is_verified", None)
        if callable(is_verified) and is_verified():
            return True
        return not has_two_factor(user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        index = reverse("admin:index", current_app=self.name)
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(index)
        next_url = request.GET.get("next") or index
        return redirect_to_login(next_url, settings.LOGIN_URL)
