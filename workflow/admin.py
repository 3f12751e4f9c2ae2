from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.masked_admin import MaskedAdminMixin
from workflow.calendar import clear_calendar_cache
from workflow.deadlines import clear_policy_cache
from workflow.models import (
    CalendarDay,
    CalendarYear,
    DeadlinePolicy,
    Delivery,
    EscalationStep,
    Extension,
    Notification,
    OrgUnitWebhook,
)


def _warn_uncovered_years(request) -> None:  # type: ignore[no-untyped-def]
    this_year = timezone.localdate().year
    covered = set(CalendarYear.objects.values_list("year", flat=True))
    missing = [y for y in (this_year, this_year + 1) if y not in covered]
    if missing:
        messages.warning(
            request,
            _(
                "No holiday calendar for %(years)s: deadlines in those years count Monday–Friday only. "
                "Run `manage.py sync_calendar` after upgrading chinese_calendar, or enter the holidays "
                "and make-up working days here (and add the year under Calendar years)."
            ) % {"years": ", ".join(str(y) for y in missing)},
        )


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "source", "synced_at")

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        _warn_uncovered_years(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        clear_calendar_cache()


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "name", "source")
    list_filter = ("kind", "source")
    date_hierarchy = "date"
    search_fields = ("name",)

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        _warn_uncovered_years(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        obj.source = CalendarDay.Source.ADMIN  # a corrected day survives the next sync
        super().save_model(request, obj, form, change)
        clear_calendar_cache()

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        clear_calendar_cache()


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ("stage", "risk_level", "domain", "amount", "unit", "warning_hours", "is_active")
    list_filter = ("stage", "risk_level", "domain", "is_active")
    list_editable = ("amount", "unit", "warning_hours", "is_active")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        clear_policy_cache()

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        clear_policy_cache()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the workflow: viewable, never edited by hand."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(EscalationStep)
class EscalationStepAdmin(ReadOnlyAdmin):
    list_display = ("alert", "stage_seq", "stage", "step", "due_at", "at")
    list_filter = ("step", "stage")


@admin.register(Extension)
class ExtensionAdmin(MaskedAdminMixin, ReadOnlyAdmin):
    masked_fields = ("reason", "decision_note")
    list_display = ("alert", "stage", "days", "state", "requested_by", "decided_by", "created_at")
    list_filter = ("state",)


@admin.register(Notification)
class NotificationAdmin(MaskedAdminMixin, ReadOnlyAdmin):
    masked_fields = ("title", "body")
    list_display = ("recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("kind",)


@admin.register(Delivery)
class DeliveryAdmin(MaskedAdminMixin, ReadOnlyAdmin):
    masked_fields = ("payload", "last_error")
    list_display = ("channel", "address", "state", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("channel", "state")


@admin.register(OrgUnitWebhook)
class OrgUnitWebhookAdmin(admin.ModelAdmin):
    list_display = ("org_unit", "url", "is_active")
