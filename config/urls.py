from django.contrib import admin
from django.urls import include, path

from web.urls_accounts import login_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("screening/", include("web.urls_screening")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The login page asks for the TOTP code of users with a device; it shadows Django's "login".
    path("accounts/login/", login_view, name="login"),
    path("accounts/", include("web.urls_accounts")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("web.urls")),
]

# JSON 404s under /api/, Django's page elsewhere.
handler404 = "api.errors.page_not_found"
