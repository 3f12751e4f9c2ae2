"""The subject file (一企一档 / 一人一档): every alert about one company or person that the reader
may see — across sources, models, units and years — with its stage, outcome and amounts, and
the totals. The totals are one aggregate query and the alerts a lazily paged queryset, so a
subject with thousands of alerts costs the same as one with ten."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert, Subject
from alerts.selectors import alert_list_for, alerts_visible_to
from alerts.states import OPEN_STATUSES, Conclusion, Status
from cases.models import Disposition
from core.errors import NotFound

_MONEY = DecimalField(max_digits=20, decimal_places=2)


@dataclass
class SubjectFile:
    subject: Subject
    alerts: QuerySet[Alert]  # newest first, with `outcome` and `amount_recovered` of the latest disposition
    totals: dict[str, Any]


def subject_file(*, user: User, subject_id: int) -> SubjectFile:
    # One probe of the subject's own alerts (not the set of every subject the user may see).
    subject = Subject.objects.filter(
        pk=subject_id, pk__in=alerts_visible_to(user).filter(subject_id=subject_id).values("subject_id")[:1]
    ).first()
    if subject is None:
        raise NotFound(_("Subject not found."))
    mine = alert_list_for(user).filter(subject=subject)
    latest = Disposition.objects.filter(alert=OuterRef("pk")).order_by("-created_at", "-id")
    alerts = mine.annotate(
        outcome=Subquery(latest.values("outcome")[:1]),
        amount_recovered=Subquery(latest.values("amount_recovered")[:1]),
    ).order_by("-created_at", "-id")
    substantiated = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]
    totals = mine.order_by().aggregate(
        alerts=Count("id"),
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        closed=Count("id", filter=Q(status=Status.CLOSED)),
        merged=Count("id", filter=Q(status=Status.MERGED)),
        substantiated=Count("id", filter=Q(conclusion__in=substantiated)),
        amount=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=_MONEY),
        sources=Count("source", distinct=True),
        units=Count("org_unit", distinct=True),
        first_at=Min("created_at"),
        last_at=Max("created_at"),
    )
    # Separately: joining dispositions into the aggregate above would count an alert twice.
    totals["amount_recovered"] = Disposition.objects.filter(alert__in=mine.values("pk")).aggregate(
        n=Coalesce(Sum("amount_recovered"), Value(Decimal("0")), output_field=_MONEY))["n"]
    return SubjectFile(subject=subject, alerts=alerts, totals=totals)
