from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, OrgUnit, User
from accounts.services import org_unit_upsert
from accounts.tokens import api_tokens_revoke_all
from audit.models import AuditEvent
from audit.services import audit_record

# Changes to these fields change what a user may see or do, so each one is audited.
PERMISSION_FIELDS = ("role", "org_unit", "is_active", "is_staff", "is_superuser")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "path")
    search_fields = ("code", "name")
    list_filter = ("level",)
    readonly_fields = ("path",)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Other systems address units by code: it is fixed once the unit exists.
        return ("code", "path") if obj else ("path",)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # Path maintenance (and moving a subtree) lives in the service, not in save().
        saved = org_unit_upsert(code=obj.code, name=obj.name, level=obj.level, parent=obj.parent)
        obj.pk, obj.path = saved.pk, saved.path


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Administrators see who holds tokens and can revoke one (delete); keys are never shown."""

    list_display = ("user", "prefix", "client", "created_at", "last_used_at", "expires_at")
    search_fields = ("user__username", "prefix")
    readonly_fields = ("user", "prefix", "client", "ip", "created_at", "last_used_at", "expires_at")
    exclude = ("digest",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "org_unit", "is_active")
    list_filter = ("role", "org_unit", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Huoyan"), {"fields": ("full_name", "role", "org_unit", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Huoyan"), {"fields": ("full_name", "role", "org_unit")}),
    )

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            api_tokens_revoke_all(user=obj, reason="deactivated", actor=request.user, request=request)
        changed = [f for f in PERMISSION_FIELDS if f in form.changed_data]
        if changed or not change:
            audit_record(
                action=AuditEvent.Action.PERMISSION_CHANGE, actor=request.user, request=request,
                object_type="user", object_id=obj.pk,
                data={"user": obj.username, "created": not change,
                      "changes": {f: str(form.cleaned_data.get(f)) for f in changed}},
            )

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        groups = [f for f in ("groups", "user_permissions") if f in form.changed_data]
        if groups:
            audit_record(
                action=AuditEvent.Action.PERMISSION_CHANGE, actor=request.user, request=request,
                object_type="user", object_id=form.instance.pk,
                data={"user": form.instance.username, "changes": {f: "updated" for f in groups}},
            )
