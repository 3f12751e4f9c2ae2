"""Counts of people dealt with (the commission counts people, not alerts): per form of the four
forms, cases filed, detained, transferred, and the money recovered and confiscated.

Only the latest disposition of each alert counts (an alert sent back and disposed again is not
counted twice). Kept apart from the dashboard's alert counts on purpose: callers add these
figures beside them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from alerts.models import Alert
from cases.models import Disposition, DispositionPerson

FORMS = [f for f in DispositionPerson.Form.values]


def superseded(model: Any = Disposition) -> Exists:
    """True for a disposition that a later one of the same alert replaces (later, or the same
    time and a higher id): `filter(~superseded())` keeps the latest of each alert, as an
    anti-join. `model` may be a migration's historical Disposition."""
    return Exists(model.objects.filter(alert_id=OuterRef("alert_id")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))))


def latest_dispositions(alerts: QuerySet[Alert]) -> QuerySet[Disposition]:
    latest = Disposition.objects.filter(alert_id=OuterRef("alert_id")).order_by("-created_at", "-id").values("id")[:1]
    return Disposition.objects.filter(alert__in=alerts, id=Subquery(latest))


def people_counts(alerts: QuerySet[Alert]) -> dict[str, Any]:
    """People of the latest disposition of each alert in `alerts`: two grouped queries."""
    dispositions = latest_dispositions(alerts)
    people = DispositionPerson.objects.filter(disposition__in=dispositions)
    totals = people.aggregate(
        total=Count("id"),
        case_filed=Count("id", filter=Q(case_filed=True)),
        detained=Count("id", filter=Q(detained=True)),
        transferred=Count("id", filter=Q(transferred=True)),
        **{f: Count("id", filter=Q(form=f)) for f in FORMS},
    )
    money = dispositions.aggregate(recovered=Sum("amount_recovered"), confiscated=Sum("amount_confiscated"))
    return {
        "people_total": totals["total"],
        "people_by_form": {f: totals[f] for f in FORMS},
        "people_case_filed": totals["case_filed"],
        "people_detained": totals["detained"],
        "people_transferred": totals["transferred"],
        "amount_recovered": money["recovered"] or Decimal("0"),
        "amount_confiscated": money["confiscated"] or Decimal("0"),
    }


PERSON_FILTERS = [*FORMS, "case_filed", "detained", "transferred"]


def alerts_with_people(alerts: QuerySet[Alert], which: str) -> QuerySet[Alert]:
    """Drill-down behind a people figure: the alerts whose latest disposition dealt with someone
    in form `which` (form_1 … none), or whose case was filed, who was detained or transferred."""
    people = DispositionPerson.objects.filter(disposition__in=latest_dispositions(alerts))
    if which in FORMS:
        people = people.filter(form=which)
    elif which in ("case_filed", "detained", "transferred"):
        people = people.filter(**{which: True})
    else:
        return alerts.none()
    return alerts.filter(pk__in=people.values("disposition__alert_id"))
