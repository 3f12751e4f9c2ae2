"""Admin pages of alerts and their records. The alert's page lives here, not in alerts/, because
it shows the alert's timeline inline (cases sits above alerts in the layers)."""

from django.contrib import admin

from alerts.models import Alert
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


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    fields = ("at", "actor", "kind", "action", "from_status", "to_status", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through the lifecycle (API and screens), never this form."""

    list_display = ("id", "title", "status", "risk_level", "org_unit", "source", "assignee", "due_at", "created_at")
    list_filter = ("status", "risk_level", "domain", "org_unit", "source", "supervised")
    search_fields = ("title", "subject_name", "dedup_key")
    list_select_related = ("org_unit", "source", "assignee")
    inlines = [TimelineInline]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
