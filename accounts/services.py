"""Writes to the org-unit tree and the user list."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from accounts.models import OrgUnit, Role, User


def _path_for(code: str, parent: OrgUnit | None) -> str:
    return f"{parent.path if parent else ''}{code}/"


@transaction.atomic
def org_unit_upsert(*, code: str, name: str, level: str, parent: OrgUnit | None = None) -> OrgUnit:
    """Create the unit, or bring an existing one with this code up to date (idempotent)."""
    unit = OrgUnit.objects.select_for_update().filter(code=code).first()
    if unit is None:
        unit = OrgUnit(code=code)
    unit.name, unit.level, unit.parent = name, level, parent
    old_path, unit.path = unit.path, _path_for(code, parent)
    unit.full_clean(exclude=["path"])
    unit.save()
    if old_path and old_path != unit.path:
        # Move the subtree with it, in one UPDATE, so scope filters stay right.
        OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).update(
            path=Concat(Value(unit.path), Substr(F("path"), len(old_path) + 1))
        )
    return unit


def user_upsert(
    *, username: str, password: str, role: str, org_unit: OrgUnit | None,
    full_name: str = "", is_superuser: bool = False, email: str = "", password_hash: str = "",
) -> User:
    """Create or refresh a user (idempotent: used by the demo seed and by tests). `password_hash`
    (from `make_password(password)`) spares hashing the same password once per user."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = User.objects.filter(username=username).first() or User(username=username)
    user.role, user.org_unit, user.full_name, user.email = role, org_unit, full_name, email
    user.is_superuser = user.is_staff = is_superuser
    user.is_active = True
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    user.save()
    return user
