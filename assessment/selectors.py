"""Reads of re-checks and reports, scoped like everything else."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import units_visible_to
from assessment.models import AnalysisReport, Recheck, RecheckItem


def rechecks_visible_to(user: User) -> QuerySet[Recheck]:
    """Samples drawn by people of the user's unit or below."""
    return (Recheck.objects.filter(drawn_by__org_unit__in=units_visible_to(user))
            .prefetch_related("units", "items", "items__handled_by_unit", "items__assignee").order_by("-created_at"))


def rechecks_assigned_to(user: User) -> QuerySet[RecheckItem]:
    return (RecheckItem.objects.filter(assignee=user).select_related("alert", "handled_by_unit", "recheck")
            .order_by("outcome", "-id"))


def reports_visible_to(user: User) -> QuerySet[AnalysisReport]:
    return AnalysisReport.objects.filter(org_unit__in=units_visible_to(user)).order_by("-created_at", "-id")
