from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import OrgUnit, User
from accounts.services import org_unit_upsert
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
