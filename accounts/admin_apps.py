from django.contrib.admin.apps import AdminConfig


class HuoyanAdminConfig(AdminConfig):
    """`django.contrib.admin` with Huoyan's site: staff with a TOTP device must have passed it."""

    default_site = "accounts.admin_site.HuoyanAdminSite"
