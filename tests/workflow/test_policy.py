"""Deadline policies: the most specific wins; due_at/timeliness follow them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Domain, RiskLevel
from alerts.states import Status
from workflow.deadlines import Timeliness, due_at_for, is_overdue, policy_for, timeliness_of
from workflow.models import DeadlinePolicy

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


pytestmark = pytest.mark.django_db


def test_it_seeds_the_default_policies():
    assert policy_for(stage=Status.WARNING, risk_level=RiskLevel.ORANGE, domain=Domain.OTHER).amount == 3
    assert policy_for(stage=Status.WARNING, risk_level=RiskLevel.RED, domain=Domain.OTHER).amount == 1
    assert policy_for(stage=Status.ASSIGNED, risk_level=RiskLevel.RED, domain=Domain.OTHER).amount == 2
    assert policy_for(stage=Status.VERIFYING, risk_level="blue", domain="land").amount == 15
    assert policy_for(stage=Status.DISPOSING, risk_level="blue", domain="land").amount == 10
    assert policy_for(stage=Status.APPLYING, risk_level="blue", domain="land").amount == 20
    assert policy_for(stage=Status.EVALUATING, risk_level="blue", domain="land").amount == 5
    assert policy_for(stage=Status.CLOSED, risk_level="blue", domain="land") is None


def test_the_most_specific_policy_wins():
    DeadlinePolicy.objects.create(stage=Status.VERIFYING, domain=Domain.LAND, amount=12)
    DeadlinePolicy.objects.create(stage=Status.VERIFYING, risk_level=RiskLevel.RED, amount=8)
    DeadlinePolicy.objects.create(
        stage=Status.VERIFYING, risk_level=RiskLevel.RED, domain=Domain.LAND, amount=6, unit="hours"
    )
    assert policy_for(stage=Status.VERIFYING, risk_level="blue", domain="land").amount == 12
    assert policy_for(stage=Status.VERIFYING, risk_level="red", domain="other").amount == 8
    rule = policy_for(stage=Status.VERIFYING, risk_level="red", domain="land")
    assert (rule.amount, rule.unit) == (6, "hours")
    assert policy_for(stage=Status.VERIFYING, risk_level="blue", domain="other").amount == 15


def test_an_inactive_policy_is_ignored():
    DeadlinePolicy.objects.filter(stage=Status.WARNING, risk_level="red").update(is_active=False)
    assert policy_for(stage=Status.WARNING, risk_level="red", domain="other").amount == 3


def test_due_at_is_computed_on_stage_entry(make_alert):
    alert = make_alert(risk_level=RiskLevel.RED)
    assert due_at_for(alert, sh(2025, 9, 30, 10, 0)) == sh(2025, 10, 9, 23, 59, 59)
    alert.risk_level = RiskLevel.ORANGE
    assert due_at_for(alert, sh(2025, 9, 30, 10, 0)) == sh(2025, 10, 11, 23, 59, 59)


def test_timeliness_turns_yellow_in_the_warning_window_and_red_after(make_alert, settings):
    settings.HUOYAN_DEADLINE_WARNING_HOURS = 24
    due = sh(2025, 10, 10, 23, 59, 59)
    alert = make_alert(due_at=due)
    assert timeliness_of(alert, due - timedelta(hours=25)) == Timeliness.GREEN
    assert timeliness_of(alert, due - timedelta(hours=23)) == Timeliness.YELLOW
    assert not is_overdue(alert, due - timedelta(seconds=1))
    assert timeliness_of(alert, due) == Timeliness.RED
    assert is_overdue(alert, due)


def test_a_policy_can_set_its_own_warning_window(make_alert):
    DeadlinePolicy.objects.filter(stage=Status.WARNING, risk_level="").update(warning_hours=72)
    due = sh(2025, 10, 10, 23, 59, 59)
    alert = make_alert(due_at=due)
    assert timeliness_of(alert, due - timedelta(hours=48)) == Timeliness.YELLOW


def test_a_transition_sets_the_new_stages_deadline(make_alert, people):
    from workflow.services import alert_assign

    alert = make_alert()
    alert = alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    assert alert.due_at is not None
    assert alert.due_at > alert.stage_entered_at
