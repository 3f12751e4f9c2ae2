from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert, SourceSystem
from alerts.search import alerts_search
from alerts.sources import source_key_assign
from cases.models import TimelineEntry
from core.masked_admin import MaskedAdminMixin, MaskedTabularInline


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
    Personal data is masked on every admin page (core.masked_admin), and the search runs over
    the masked copy like every other search (alerts.search)."""

    list_display = ("id", "title", "status", "risk_level", "org_unit", "source", "assignee", "due_at", "created_at")
    list_filter = ("status", "risk_level", "domain", "org_unit", "source", "supervised")
    search_fields = ("title", "subject_name", "dedup_key")
    masked_fields = ("title", "subject_name", "subject_id_number", "details", "dedup_key")
    readonly_fields = tuple(f.name for f in Alert._meta.fields)
    list_select_related = ("org_unit", "source", "assignee")
    inlines = [TimelineInline]
    date_hierarchy = "created_at"

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        extra = Q(**{"dedup_key__iexact": search_term.strip()}) if search_term.strip() else None
        return alerts_search(queryset, search_term, user=request.user, request=request, extra=extra), False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
