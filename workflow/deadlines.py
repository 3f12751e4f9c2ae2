"""Stage deadlines. `due_at_for` is called whenever an alert enters a stage; `timeliness_of`
and `is_overdue` are what the API and the screens show.

The time allowed comes from `DeadlinePolicy` (most specific active row wins), counted on the
working-day calendar (`workflow.calendar`). Policies are a handful of rows, cached per process
for a short while so intake and list pages do not query them per alert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert
from cases.timeline import StageTime
from workflow.calendar import add_working_days, add_working_hours, current_calendar, working_time_in_days
from workflow.models import DeadlinePolicy

_CACHE_SECONDS = 60


def default_warning_window() -> timedelta:
    return timedelta(hours=getattr(settings, "HUOYAN_DEADLINE_WARNING_HOURS", 24))




class Timeliness:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class Rule:
    stage: str
    risk_level: str
    domain: str
    amount: int
    unit: str
    warning_hours: int | None

    @property
    def warning_window(self) -> timedelta:
        if self.warning_hours is not None:
            return timedelta(hours=self.warning_hours)
        return default_warning_window()


_cached: tuple[float, list[Rule]] | None = None


def _rules() -> list[Rule]:
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < _CACHE_SECONDS:
        return _cached[1]
    rules = [
        Rule(p.stage, p.risk_level, p.domain, p.amount, p.unit, p.warning_hours)
        for p in DeadlinePolicy.objects.filter(is_active=True)
    ]
    _cached = (now, rules)
    return rules


def clear_policy_cache() -> None:
    global _cached
    _cached = None


def policy_for(*, stage: str, risk_level: str, domain: str) -> Rule | None:
    """The most specific active policy: risk + domain, then risk, then domain, then the stage."""
    best: tuple[int, Rule] | None = None
    for rule in _rules():
        if rule.stage != stage:
            continue
        if rule.risk_level and rule.risk_level != risk_level:
            continue
        if rule.domain and rule.domain != domain:
            continue
        score = (2 if rule.risk_level else 0) + (1 if rule.domain else 0)
        if best is None or score > best[0]:
            best = (score, rule)
    return best[1] if best else None


def due_at_after(rule: Rule, start: datetime) -> datetime:
    cal = current_calendar()
    if rule.unit == "hours":
        return add_working_hours(cal, start, rule.amount)
    return add_working_days(cal, start, rule.amount)


def due_at_for(alert: Alert, entered_at: datetime) -> datetime | None:
    """The deadline of the stage `alert` has just entered; None while no policy applies."""
    return stage_due_at(stage=alert.status, risk_level=alert.risk_level, domain=alert.domain, entered_at=entered_at)


def stage_due_at(*, stage: str, risk_level: str, domain: str, entered_at: datetime) -> datetime | None:
    """`due_at_for` without an `Alert` instance: intake computes it once per (risk, domain) of a batch."""
    rule = policy_for(stage=stage, risk_level=risk_level, domain=domain)
    if rule is None:
        return None
    return due_at_after(rule, entered_at)


def warning_window_for(alert: Alert) -> timedelta:
    rule = policy_for(stage=alert.status, risk_level=alert.risk_level, domain=alert.domain)
    return rule.warning_window if rule else default_warning_window()


def max_warning_window() -> timedelta:
    return max([default_warning_window(), *(r.warning_window for r in _rules())])


def is_overdue(alert: Alert, now: datetime | None = None) -> bool:
    return alert.is_open and alert.due_at is not None and alert.due_at <= (now or timezone.now())


def timeliness_of(alert: Alert, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if not alert.is_open or alert.due_at is None:
        return Timeliness.GREEN
    if alert.due_at <= now:
        return Timeliness.RED
    if alert.due_at - warning_window_for(alert) <= now:
        return Timeliness.YELLOW
    return Timeliness.GREEN


def stage_time(alert: Alert, left_at: datetime) -> StageTime:
    """The stage `alert` is in, as it is left at `left_at`: how long it lasted (seconds and working
    days) and the deadline it had. Taken before the alert enters its next stage."""
    entered_at = alert.stage_entered_at
    return StageTime(
        at=left_at, seconds=max(0, int((left_at - entered_at).total_seconds())),
        working_days=Decimal(str(round(working_time_in_days(current_calendar(), entered_at, left_at), 2))),
        due_at=alert.due_at,
    )
