from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.two_factor import MISSING_CODE, WRONG_CODE, login_token_check


def otp_token_field(*, required: bool) -> forms.CharField:
    return forms.CharField(
        label=_("Two-factor code"), required=required, max_length=16, strip=True,
        help_text=_("Only if you have turned on two-factor login."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9 ]*", "class": "input"}),
    )


class TwoFactorAuthenticationForm(AuthenticationForm):
    """Django's login form plus the TOTP code, asked of users who enrolled a device."""

    otp_token = otp_token_field(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        token = cleaned.get("otp_token", "")
        result = login_token_check(user=user, token=token, request=self.request)
        if result is False:
            self.user_cache = None
            self.add_error("otp_token", WRONG_CODE if token else MISSING_CODE)
        elif result is not None:
            # django_otp's user_logged_in handler stores the device in the new session, which
            # marks it verified (OTPMiddleware → request.user.is_verified()).
            user.otp_device = result
        return cleaned


class TwoFactorConfirmForm(forms.Form):
    otp_token = otp_token_field(required=True)


class TwoFactorDisableForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "input"}),
    )
    otp_token = otp_token_field(required=True)


class LogoutEverywhereForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, end my other sessions and revoke all my API tokens"), required=True,
        error_messages={"required": _("Tick the box to confirm.")},
    )
