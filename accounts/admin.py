from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import OrgUnit, User
from accounts.services import org_unit_upsert


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
