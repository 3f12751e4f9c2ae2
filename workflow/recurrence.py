"""复发: a rectified problem found again. When a new alert's subject was hit by the same model
(or the same indicator of the same source) in an alert that was closed as substantiated, and the
new one arrives after that alert's rectification was due, the new alert is marked as a
recurrence and linked to the old one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Max

from alerts.models import Alert
from alerts.states import ActionKind, Conclusion, Status
from cases.models import ResultAction
from workflow import rollups
from workflow.calendar import local

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]


def recurrences_mark(*, alert_ids: Sequence[int], now: datetime) -> int:
    """Link each of these new alerts to the earlier substantiated alert it repeats; a constant
    number of queries for the whole batch. Returns how many were marked."""
    fresh = list(Alert.objects.filter(pk__in=alert_ids, subject__isnull=False)
                 .values_list("pk", "subject_id", "source_id", "rule_code", "org_unit_id", "created_at"))
    if not fresh:
        return 0
    earlier = (
        Alert.objects.filter(subject_id__in={f[1] for f in fresh}, status=Status.CLOSED,
                             conclusion__in=SUBSTANTIATED)
        .exclude(pk__in=alert_ids)
        .values_list("pk", "subject_id", "source_id", "rule_code", "closed_at")
        .order_by("-closed_at", "-pk")
    )
    order_due = dict(
        ResultAction.objects.filter(alert_id__in=[e[0] for e in earlier], kind=ActionKind.RECTIFICATION_ORDER)
        .values("alert_id").annotate(due=Max("due_date")).values_list("alert_id", "due")
    )
    today = local(now).date()
    latest: dict[tuple[int, int, str], int] = {}
    for old_pk, subject_id, source_id, rule, closed_at in earlier:  # newest closure first
        due = order_due.get(old_pk)
        # After the rectification was due (or, with no order, after the closure).
        if (due < today) if due else (closed_at is not None and closed_at < now):
            latest.setdefault((subject_id, source_id, rule), old_pk)
    counted: rollups.Rows = {}
    for pk, subject_id, source_id, rule, unit_id, created_at in fresh:
        old_pk = latest.get((subject_id, source_id, rule))
        if old_pk is not None:
            Alert.objects.filter(pk=pk).update(recurrence_of_id=old_pk)
            rollups.merge(counted, rollups.recurrence_marked(unit_id, created_at))
    # The assessment's count of recurrences, in the transaction of the intake that marks them.
    rollups.apply(counted)
    return sum(row["n"] for row in counted.values())
