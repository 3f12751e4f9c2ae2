from django.contrib import admin
from django.urls import include, path

from accounts.urls import login_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("screening/", include("screening.urls_web")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The login page asks for the TOTP code of users with a device; it shadows Django's "login".
    path("accounts/login/", login_view, name="login"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("web.urls")),
]
