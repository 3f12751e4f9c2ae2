from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import OrgUnit, User
from accounts.services import org_unit_upsert
from alerts.models import Alert, SourceSystem
from alerts.states import Status
from cases.models import TimelineEntry

pytestmark = pytest.mark.django_db


def test_moving_a_unit_moves_its_subtree_paths():
    city = org_unit_upsert(code="suzhou", name="苏州", level="city")
    other = org_unit_upsert(code="wuxi", name="无锡", level="city")
    county = org_unit_upsert(code="kunshan", name="昆山", level="county", parent=city)
    office = org_unit_upsert(code="ks-1", name="一室", level="office", parent=county)
    assert office.path == "suzhou/kunshan/ks-1/"
    org_unit_upsert(code="kunshan", name="昆山", level="county", parent=other)
    office.refresh_from_db()
    assert office.path == "wuxi/kunshan/ks-1/"


def test_seed_demo_creates_the_documented_demo_and_is_idempotent(capsys):
    call_command("seed_demo", "--password", "pw-demo-123", "--source-key", "hy_demo_0123456789abcdefghij")
    out = capsys.readouterr().out
    assert "hy_demo_0123456789abcdefghij" in out
    assert set(OrgUnit.objects.filter(parent__code="suzhou").values_list("code", flat=True)) == {
        "kunshan", "changshu", "zhangjiagang", "taicang", "wujiang"}
    for name in ["suzhou_leader", "suzhou_supervisor", "kunshan_supervisor", "kunshan_verifier",
                 "changshu_supervisor", "changshu_verifier", "admin"]:
        assert User.objects.get(username=name).check_password("pw-demo-123")
    assert User.objects.get(username="admin").is_superuser
    n = Alert.objects.count()
    assert n >= 24
    statuses = set(Alert.objects.values_list("status", flat=True))
    assert statuses == set(Status.values)
    assert set(Alert.objects.values_list("risk_level", flat=True)) == {"red", "orange", "yellow", "blue"}
    # Every alert's timeline replays to its current state.
    for alert in Alert.objects.all():
        last = TimelineEntry.objects.filter(alert=alert).exclude(to_status="").order_by("at", "id").last()
        assert last.to_status == alert.status
    # Every screen has something to show: a special project over the demo models deployed to the
    # counties, rectification orders in the ledger (some still awaiting a reply), alerts that went
    # past a deadline (the sweep ran through the year), and figures that agree with the rows.
    from cases.models import ResultAction
    from screening.models import SpecialProject
    from workflow import rollups

    project = SpecialProject.objects.get()
    assert project.units.count() == 5 and project.screening_models.exists()
    orders = ResultAction.objects.filter(kind="rectification_order", due_date__isnull=False)
    assert orders.filter(feedback_at__isnull=True).exists() and orders.filter(review="accepted").exists()
    assert 0 < Alert.objects.filter(ever_overdue=True).count() < n
    assert rollups.differences() == []
    call_command("seed_demo", "--password", "pw-demo-123")
    assert Alert.objects.count() == n
    assert SpecialProject.objects.count() == 1
    assert SourceSystem.objects.filter(code="demo-feed").count() == 1
    assert User.objects.filter(username="kunshan_verifier").count() == 1
