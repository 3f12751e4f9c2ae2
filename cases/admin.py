"""Admin pages of alerts and their records. The alert's page lives here, not in alerts/, because
it shows the alert's timeline inline (cases sits above alerts in the layers)."""

from django.contrib import admin
from django.db.models import Q

from alerts.models import Alert
from alerts.search import alerts_search
from cases.models import NoticeNumbering, TimelineEntry
from core.masked_admin import MaskedAdminMixin, MaskedTabularInline


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


class TimelineInline(MaskedTabularInline):
    model = TimelineEntry
    masked_fields = ("text",)
    fields = ("at", "actor", "kind", "action", "from_status", "to_status", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Alert)
class AlertAdmin(MaskedAdminMixin, admin.ModelAdmin):
    """Read-mostly: state changes go through the lifecycle (API and screens), never this form.
    Personal data is masked on every admin page (core.masked_admin: administrators run the
    system, they do not handle cases, so no admin page shows full values or audits a pii_view),
    and the search runs over the masked copy like every other search (alerts.search)."""

    list_display = ("id", "title", "status", "risk_level", "org_unit", "source", "assignee", "due_at", "created_at")
    list_filter = ("status", "risk_level", "domain", "org_unit", "source", "supervised")
    search_fields = ("title", "subject_name", "dedup_key")
    masked_fields = ("title", "subject_name", "subject_id_number", "details", "dedup_key")
    readonly_fields = tuple(f.name for f in Alert._meta.fields)
    list_select_related = ("org_unit", "source", "assignee")
    inlines = [TimelineInline]
    date_hierarchy = "created_at"

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        term = search_term.strip()
        extra = Q(dedup_key__iexact=term) if term else None
        return alerts_search(queryset, term, user=request.user, request=request, extra=extra), False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(NoticeNumbering)
class NoticeNumberingAdmin(admin.ModelAdmin):
    """文号 patterns per issuing unit and kind of document."""

    list_display = ("org_unit", "kind", "pattern", "issuer_name")
    list_filter = ("kind",)
    list_select_related = ("org_unit",)
    autocomplete_fields = ()
