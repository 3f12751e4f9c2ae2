"""Reads of units and users, always through the requester's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import OrgUnit, User


def units_visible_to(user: User) -> QuerySet[OrgUnit]:
    """The user's unit and every unit below it; nothing for a user without a unit."""
    if not user.is_authenticated or not user.is_active or user.org_unit_id is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(path__startswith=user.org_unit.path)


def users_visible_to(user: User) -> QuerySet[User]:
    return (
        User.objects.filter(org_unit__in=units_visible_to(user), is_active=True)
        .select_related("org_unit")
        .order_by("username")
    )


def unit_get_by_code(code: str) -> OrgUnit | None:
    return OrgUnit.objects.filter(code=code).first()


def filter_by_unit_code(queryset: QuerySet, code: str, *, unit_field: str = "org_unit") -> QuerySet:
    """Rows of the unit `code` and every unit below it (nothing for an unknown code). Apply it to
    an already scoped queryset: a unit outside the requester's scope then yields nothing."""
    unit = unit_get_by_code(code)
    if unit is None:
        return queryset.none()
    return queryset.filter(**{f"{unit_field}__path__startswith": unit.path})
