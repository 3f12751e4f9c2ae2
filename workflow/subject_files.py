"""The subject file (一企一档 / 一人一档): every alert about one company or person that the reader
may see — across sources, models, units and years — with its stage, outcome and amounts, and
the totals. One query for the rows (outcomes joined in), whatever the number of alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert, Subject
from alerts.selectors import alert_list_for, subjects_visible_to
from alerts.states import OPEN_STATUSES, Conclusion, Status
from cases.models import Disposition
from core.errors import NotFound


@dataclass
class SubjectFile:
    subject: Subject
    alerts: list[Alert]
    totals: dict[str, Any] = field(default_factory=dict)


def subject_file(*, user: User, subject_id: int) -> SubjectFile:
    subject = subjects_visible_to(user).filter(pk=subject_id).first()
    if subject is None:
        raise NotFound(_("Subject not found."))
    latest = Disposition.objects.filter(alert=OuterRef("pk")).order_by("-created_at", "-id")
    alerts = list(
        alert_list_for(user).filter(subject=subject)
        .annotate(outcome=Subquery(latest.values("outcome")[:1]),
                  amount_recovered=Subquery(latest.values("amount_recovered")[:1]))
        .order_by("-created_at", "-id")
    )
    substantiated = (Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED)
    totals = {
        "alerts": len(alerts),
        "open": sum(1 for a in alerts if a.status in OPEN_STATUSES),
        "closed": sum(1 for a in alerts if a.status == Status.CLOSED),
        "merged": sum(1 for a in alerts if a.status == Status.MERGED),
        "substantiated": sum(1 for a in alerts if a.conclusion in substantiated),
        "amount": sum((a.amount or Decimal("0") for a in alerts), Decimal("0")),
        "amount_recovered": sum((a.amount_recovered or Decimal("0") for a in alerts), Decimal("0")),
        "sources": len({a.source_id for a in alerts}),
        "units": len({a.org_unit_id for a in alerts}),
        "first_at": min((a.created_at for a in alerts), default=None),
        "last_at": max((a.created_at for a in alerts), default=None),
    }
    return SubjectFile(subject=subject, alerts=alerts, totals=totals)
