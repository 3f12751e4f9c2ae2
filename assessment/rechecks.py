"""复查: a leader draws a reproducible random sample of closed alerts per unit and period; each
is re-checked by a verifier of a different unit than the one that handled it, who confirms it or
finds a problem — which reopens the alert to a chosen stage (`workflow.services.alert_reopen`)."""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OrgUnit, Role, User
from accounts.selectors import units_visible_to
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import Status
from assessment.models import Recheck, RecheckItem
from assessment.periods import period_parse
from audit.models import AuditEvent
from audit.services import audit_record
from core.errors import Conflict, Forbidden, NotFound
from workflow import services as wf
from workflow.models import Notification
from workflow.notify import Message, notify_many


@dataclass(frozen=True)
class Draw:
    """The sample as a pure function of its inputs: the same seed and the same closed alerts
    always give the same sample and the same verifiers."""

    items: list[tuple[Alert, OrgUnit, User]]


def _handler(alert: Alert) -> OrgUnit:
    return alert.handling_unit or alert.org_unit


def draw(*, seed: int, candidates: dict[OrgUnit, list[Alert]], verifiers: Sequence[User],
         size: int | None, ratio: Decimal | None) -> Draw:
    rng = random.Random(seed)
    load = {v.pk: 0 for v in verifiers}
    items: list[tuple[Alert, OrgUnit, User]] = []
    for unit in sorted(candidates, key=lambda u: u.path):
        pool = sorted(candidates[unit], key=lambda a: a.pk)
        k = size if size is not None else math.ceil(len(pool) * float(ratio or 0))
        for alert in rng.sample(pool, min(k, len(pool))):
            handler = _handler(alert)
            # Never the unit that handled it, nor a unit below it, nor anyone who worked on it.
            eligible = [v for v in verifiers if not handler.contains(v.org_unit) and v.pk != alert.assignee_id]
            if not eligible:
                raise ValidationError({"units": [_("No verifier outside %(unit)s can re-check its alerts.")
                                                 % {"unit": handler.name}]})
            fewest = min(load[v.pk] for v in eligible)
            chosen = rng.choice([v for v in eligible if load[v.pk] == fewest])
            load[chosen.pk] += 1
            items.append((alert, handler, chosen))
    return Draw(items)


def recheck_draw(*, by: User, period: str, units: Sequence[str], size: int | None = None,
                 ratio: Decimal | None = None, seed: int | None = None) -> Recheck:
    if not policy.may_assess(by):
        raise Forbidden(_("Only a leader can draw a re-check sample."))
    ratio = Decimal(str(ratio)) if ratio is not None else None
    if (size is None) == (ratio is None):
        raise ValidationError({"size": [_("Give either a number of alerts per unit or a share.")]})
    if size is not None and not 1 <= size <= 500:
        raise ValidationError({"size": [_("Draw 1 to 500 alerts per unit.")]})
    if ratio is not None and not Decimal("0") < ratio <= Decimal("1"):
        raise ValidationError({"ratio": [_("The share is more than 0 and at most 1.")]})
    p = period_parse(period)
    scope = units_visible_to(by)
    chosen = list(scope.filter(code__in=list(units)))
    if not units or len(chosen) != len(set(units)):
        raise ValidationError({"units": [_("Choose units in your scope.")]})
    closed = alerts_visible_to(by).filter(
        status=Status.CLOSED, closed_at__gte=p.start_at, closed_at__lt=p.end_at,
    ).select_related("org_unit", "handling_unit")
    candidates = {u: [a for a in closed.filter(org_unit__path__startswith=u.path)] for u in chosen}
    verifiers = list(User.objects.filter(role=Role.VERIFIER, is_active=True, org_unit__in=scope)
                     .select_related("org_unit").order_by("pk"))
    seed = seed if seed is not None else secrets.randbits(62)
    sample = draw(seed=seed, candidates=candidates, verifiers=verifiers, size=size, ratio=ratio)
    with transaction.atomic():
        recheck = Recheck.objects.create(period=p.code, seed=seed, size=size, ratio=ratio, drawn_by=by)
        recheck.units.set(chosen)
        RecheckItem.objects.bulk_create(
            RecheckItem(recheck=recheck, alert=alert, handled_by_unit=handler, assignee=verifier)
            for alert, handler, verifier in sample.items
        )
        for alert, _handled, verifier in sample.items:
            Alert.objects.filter(pk=alert.pk).update(recheck_unit=verifier.org_unit)
        audit_record(action=AuditEvent.Action.STATE_CHANGE, actor=by, object_type="recheck", object_id=recheck.pk,
                     data={"period": p.code, "seed": seed, "alerts": [a.pk for a, _h, _v in sample.items]})
        notify_many([
            Message([verifier], Notification.Kind.ASSIGNED, _("Re-check alert #%(id)s") % {"id": alert.pk},
                    _("%(by)s drew alert #%(id)s for re-check (复查). Confirm it or record the problem found.")
                    % {"by": by.display_name, "id": alert.pk}, alert=alert)
            for alert, _h, verifier in sample.items
        ])
    return recheck


def recheck_confirm(*, by: User, item_id: int, note: str = "") -> RecheckItem:
    """The re-check found the handling sound. A problem found goes through `alert_reopen`."""
    with transaction.atomic():
        item = RecheckItem.objects.select_for_update().filter(pk=item_id, assignee=by).first()
        if item is None:
            raise NotFound(_("Re-check not found."))
        if item.outcome != RecheckItem.Outcome.PENDING:
            raise Conflict(_("This re-check already has its outcome."))
        item.outcome, item.note, item.decided_at = RecheckItem.Outcome.CONFIRMED, note, timezone.now()
        item.save(update_fields=["outcome", "note", "decided_at"])
        Alert.objects.filter(pk=item.alert_id).update(recheck_unit=None)
    return item


def recheck_problem(*, by: User, item_id: int, stage: str, note: str) -> RecheckItem:
    item = RecheckItem.objects.filter(pk=item_id, assignee=by).first()
    if item is None:
        raise NotFound(_("Re-check not found."))
    if item.outcome != RecheckItem.Outcome.PENDING:
        raise Conflict(_("This re-check already has its outcome."))
    wf.alert_reopen(alert_id=item.alert_id, by=by, stage=stage, reason=note)
    item.refresh_from_db()
    return item
