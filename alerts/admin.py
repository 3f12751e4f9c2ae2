from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from alerts.models import SourceSystem
from alerts.sources import source_key_assign


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "org_unit", "is_active", "key_prefix", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("key_prefix", "created_at")
    actions = ["rotate_key"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new system gets its key here; it is shown once and only its hash is kept.
        key = source_key_assign(obj)
        messages.warning(request, _("API key for %(code)s (shown once, copy it now): %(key)s")
                         % {"code": obj.code, "key": key})

    @admin.action(description=_("Issue a new API key (the old one stops working)"))
    def rotate_key(self, request, queryset):  # type: ignore[no-untyped-def]
        for source in queryset:
            key = source_key_assign(source)
            messages.warning(request, _("New API key for %(code)s (shown once): %(key)s")
                             % {"code": source.code, "key": key})
