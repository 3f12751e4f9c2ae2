"""Reads of the warehouse, always through the requester's scope (own unit and below)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.states import Conclusion, Status
from screening.models import Dataset, ModelStatus, ScreeningHit, ScreeningModel, ScreeningRun

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]
# Stages after verification: a conclusion there is final unless a leader sends it back.
CONCLUDED_STATUSES = [Status.DISPOSING, Status.APPLYING, Status.EVALUATING, Status.CLOSED]


def _credited(prefix: str, **conclusion: Any) -> Q:
    return Q(**{f"{prefix}status__in": CONCLUDED_STATUSES}) & Q(**{f"{prefix}{k}": v for k, v in conclusion.items()})


# A hit merged into a lead is credited with the lead's conclusion: the model found the case even
# if another source's alert carried it through the loop.
CONCLUDED = (_credited("") & ~Q(conclusion="")) | (
    Q(status=Status.MERGED) & _credited("merged_into__") & ~Q(merged_into__conclusion="")
)
SUBSTANTIATED_Q = _credited("", conclusion__in=SUBSTANTIATED) | (
    Q(status=Status.MERGED) & _credited("merged_into__", conclusion__in=SUBSTANTIATED)
)


def datasets_visible_to(user: User) -> QuerySet[Dataset]:
    return Dataset.objects.filter(org_unit__in=units_visible_to(user)).select_related("org_unit", "created_by")


def models_visible_to(user: User, *, latest_only: bool = False) -> QuerySet[ScreeningModel]:
    qs = ScreeningModel.objects.filter(org_unit__in=units_visible_to(user)).select_related("org_unit", "created_by")
    return qs.filter(is_latest=True) if latest_only else qs


def warehouse_list(user: User, *, domain: str = "", unit: str = "", status: str = "", q: str = "",
                   ) -> QuerySet[ScreeningModel]:
    # Query-string text may hold NUL characters, which PostgreSQL text cannot: drop them.
    domain, unit, q = (str(v or "").replace("\x00", "").strip() for v in (domain, unit, q))
    qs = models_visible_to(user, latest_only=True)
    if domain:
        qs = qs.filter(domain=domain)
    if unit:
        qs = qs.filter(org_unit__code=unit)
    if status in ModelStatus.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(supervision_points__icontains=q)
                       | Q(description__icontains=q))
    return qs.order_by("-updated_at", "code")


def runs_visible_to(user: User) -> QuerySet[ScreeningRun]:
    return ScreeningRun.objects.filter(model__org_unit__in=units_visible_to(user)).select_related("model")


def hits_of(run: ScreeningRun) -> QuerySet[ScreeningHit]:
    return run.hits.order_by("id")


def model_alerts(model: ScreeningModel) -> QuerySet[Alert]:
    """Alerts raised by any version of the model (rule = model code, source = a screening feed)."""
    return Alert.objects.filter(rule_code=model.code, source__kind="screening")


def model_results(model: ScreeningModel) -> dict[str, Any]:
    """Hits, alerts raised, and from the loop how many were substantiated (查实率), in two queries."""
    hits = ScreeningHit.objects.filter(run__model__code=model.code).aggregate(n=Count("id"))["n"]
    agg = model_alerts(model).aggregate(
        raised=Count("id"),
        concluded=Count("id", filter=CONCLUDED),
        substantiated=Count("id", filter=SUBSTANTIATED_Q),
        recurrences=Count("id", filter=Q(recurrence_of__isnull=False)),
    )
    rate = round(agg["substantiated"] / agg["concluded"], 3) if agg["concluded"] else None
    return {"hits": hits, "alerts_raised": agg["raised"], "concluded": agg["concluded"],
            "substantiated": agg["substantiated"], "substantiation_rate": rate, "recurrences": agg["recurrences"]}


def typical_cases(model: ScreeningModel, limit: int = 5) -> QuerySet[Alert]:
    return (model_alerts(model).filter(status=Status.CLOSED, conclusion__in=SUBSTANTIATED)
            .order_by("-closed_at")[:limit])


def versions_of(model: ScreeningModel) -> QuerySet[ScreeningModel]:
    return ScreeningModel.objects.filter(code=model.code).order_by("-version")
