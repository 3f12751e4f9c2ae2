from django.contrib import admin

from cases.models import TimelineEntry
from core.masked_admin import MaskedAdminMixin


@admin.register(TimelineEntry)
class TimelineEntryAdmin(MaskedAdminMixin, admin.ModelAdmin):
    """The timeline is append-only: browsable, never editable."""

    list_display = ("at", "alert", "actor", "kind", "action", "from_status", "to_status")
    list_filter = ("kind", "action")
    list_select_related = ("alert", "actor")
    masked_fields = ("text", "data")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
