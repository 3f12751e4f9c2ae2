"""Unit-level escalation: when a unit's share of overdue open alerts crosses the line (e.g. at
least 20 % and at least 5 overdue), its head and the leader above get a supervision notice —
once per crossing, not again until the unit falls below the line and crosses anew.

Two sweeps at once cannot both notify: a crossing is a row, and a partial unique index allows
one active crossing per unit; the loser's insert fails inside its savepoint and it moves on.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import OrgUnit, Role, User
from accounts.selectors import units_visible_to
from alerts.models import Alert
from alerts.states import OPEN_STATUSES
from assessment.models import UnitEscalation
from workflow.models import Notification
from workflow.notify import Message, notify_many, role_holders_for


def _line() -> tuple[Decimal, int]:
    return (Decimal(str(settings.HUOYAN_UNIT_ESCALATION_SHARE)), int(settings.HUOYAN_UNIT_ESCALATION_MIN_OVERDUE))


def unit_loads(*, now: datetime) -> dict[int, tuple[int, int]]:
    """(open, overdue) per unit, each counting its whole subtree; one grouped query."""
    rows = (
        Alert.objects.filter(status__in=OPEN_STATUSES).values("org_unit__path")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))).order_by()
    )
    by_path = [(r["org_unit__path"], r["open"], r["overdue"]) for r in rows]
    loads = {}
    for unit in OrgUnit.objects.all():
        mine = [(o, d) for path, o, d in by_path if path.startswith(unit.path)]
        loads[unit.pk] = (sum(o for o, _d in mine), sum(d for _o, d in mine))
    return loads


def _recipients(unit: OrgUnit) -> list[User]:
    head = role_holders_for(unit, Role.LEADER) + role_holders_for(unit, Role.SUPERVISOR)
    above = role_holders_for(unit.parent, Role.LEADER) if unit.parent_id else []
    return head + above


def unit_escalations_sweep(*, now: datetime) -> int:
    """Open a crossing (and notify) for each unit over the line without one; close the crossing
    of each unit back under it. Returns the number of notices sent."""
    share, minimum = _line()
    loads = unit_loads(now=now)
    active = {e.org_unit_id: e for e in UnitEscalation.objects.filter(ended_at__isnull=True)}
    crossings = dict(UnitEscalation.objects.values("org_unit").annotate(n=Max("crossing"))
                     .values_list("org_unit", "n"))
    sent = 0
    for unit in OrgUnit.objects.select_related("parent").order_by("path"):
        open_, overdue = loads.get(unit.pk, (0, 0))
        over = overdue >= minimum and open_ and Decimal(overdue) / Decimal(open_) >= share
        current = active.get(unit.pk)
        if over and current is None:
            try:
                with transaction.atomic():
                    UnitEscalation.objects.create(
                        org_unit=unit, crossing=crossings.get(unit.pk, 0) + 1, open_alerts=open_,
                        overdue=overdue, started_at=now,
                    )
                    ref = {"unit": unit.name, "n": overdue, "open": open_,
                           "pct": f"{Decimal(overdue) * 100 / Decimal(open_):.0f}"}
                    notify_many([Message(
                        _recipients(unit), Notification.Kind.ESCALATION,
                        _("Unit supervision notice: %(unit)s") % ref,
                        _("%(unit)s has %(n)d overdue of %(open)d open alerts (%(pct)s%%). Supervise its handling "
                          "(督办).") % ref,
                        key=f"unit-escalation:{unit.pk}:{crossings.get(unit.pk, 0) + 1}",
                    )], now=now)
                    sent += 1
            except IntegrityError:
                continue  # another sweep opened this crossing first: it sent the notice
        elif not over and current is not None:
            UnitEscalation.objects.filter(pk=current.pk, ended_at__isnull=True).update(ended_at=now)
    return sent


def active_unit_escalations(user: User) -> QuerySet[UnitEscalation]:
    """Units in the user's scope currently over the line (the dashboard shows them)."""
    return (UnitEscalation.objects.filter(ended_at__isnull=True, org_unit__in=units_visible_to(user))
            .select_related("org_unit").order_by("org_unit__path"))
