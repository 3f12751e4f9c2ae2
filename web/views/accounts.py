from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import tokens, two_factor
from core.errors import NotFound
from core.ids import parse_id
from web.account_forms import LogoutEverywhereForm, TwoFactorConfirmForm, TwoFactorDisableForm


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device (QR code + secret, confirmed by a code) or turn it off."""
    user = request.user
    if not two_factor.two_factor_allowed(user):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    if two_factor.has_two_factor(user):
        form = TwoFactorDisableForm(data)
        if form.is_valid():
            if two_factor.two_factor_disable(user=user, password=form.cleaned_data["password"],
                                             token=form.cleaned_data["otp_token"], request=request):
                messages.success(request, _("Two-factor login is off."))
                return redirect("accounts:two_factor")
            form.add_error(None, _("The password or the code is not right."))
        return render(request, "accounts/two_factor.html", {"enabled": True, "form": form})
    device = two_factor.pending_device(user=user)
    form = TwoFactorConfirmForm(data)
    if form.is_valid():
        if two_factor.two_factor_confirm(user=user, device=device,
                                         token=form.cleaned_data["otp_token"], request=request):
            messages.success(request, _("Two-factor login is on: from now on, log in with your "
                                        "password and a code from the app."))
            return redirect("accounts:two_factor")
        form.add_error("otp_token", _("That code is not valid. Check the clock of your phone and "
                                      "enter the current code."))
    return render(request, "accounts/two_factor.html", {
        "enabled": False, "form": form, "secret": two_factor.device_secret(device),
        "qr": two_factor.device_qr_data_uri(device),
    })


@login_required
@require_http_methods(["GET", "POST"])
def sessions_and_tokens(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens (revoke one) and "log out everywhere"."""
    user = request.user
    form = LogoutEverywhereForm()
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            try:
                tokens.api_token_revoke(user=user, token_id=parse_id(request.POST.get("token")) or 0,
                                        request=request)
                messages.success(request, _("The token is revoked: programs using it must ask for a new one."))
            except NotFound:
                messages.error(request, _("That token no longer exists."))
            return redirect("accounts:security")
        form = LogoutEverywhereForm(request.POST)
        if form.is_valid():
            done = tokens.logout_everywhere(user=user, request=request)
            messages.success(request, _("Logged out everywhere else: %(sessions)d other sessions ended, "
                                        "%(tokens)d API tokens revoked.") % done)
            return redirect("accounts:security")
    return render(request, "accounts/security.html", {
        "tokens": tokens.api_tokens_of(user), "form": form,
        "ttl_hours": tokens.token_ttl().total_seconds() / 3600,
    })


class LogoutSaysSo(auth_views.LogoutView):
    """Django's logout, then a message on the login page it lands on (the message travels in a
    cookie, so it survives the end of the session)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_in:
            messages.info(request, _("You have logged out."))
        return response
