from django.contrib.auth import views as auth_views
from django.urls import path

from web.account_forms import TwoFactorAuthenticationForm
from web.views.accounts import LogoutSaysSo, sessions_and_tokens, two_factor_settings

app_name = "accounts"

# Included under /accounts/ before django.contrib.auth.urls: the login view here (same name and
# URL as Django's) asks for the TOTP code of users who turned two-factor login on.
login_view = auth_views.LoginView.as_view(authentication_form=TwoFactorAuthenticationForm)

urlpatterns = [
    path("two-factor/", two_factor_settings, name="two_factor"),
    path("security/", sessions_and_tokens, name="security"),
    # Shadows Django's logout (same URL): the login page it lands on then says so.
    path("logout/", LogoutSaysSo.as_view(), name="logout"),
]
