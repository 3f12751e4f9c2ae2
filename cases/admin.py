from django.contrib import admin

from cases.models import TimelineEntry


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    """The timeline is append-only: browsable, never editable."""

    list_display = ("at", "alert", "actor", "kind", "action", "from_status", "to_status")
    list_filter = ("kind", "action")
    list_select_related = ("alert", "actor")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
