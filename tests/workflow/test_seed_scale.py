"""The scale generator behind `make bench` loads a consistent city: every table it writes
satisfies the current schema (a new NOT NULL column must be filled here too) and the rollups it
leaves agree with the source rows."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from alerts.models import Alert
from cases.models import TimelineEntry
from screening.models import ScreeningModel, ScreeningRun, SpecialProject
from workflow import rollups

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_scale_loads_every_stage_and_its_rollups_agree():
    out = io.StringIO()
    call_command("seed_scale", alerts=2000, models=12, stdout=out, stderr=io.StringIO())
    alerts = Alert.objects.filter(dedup_key__startswith="scale-")
    assert alerts.count() == 2000
    assert {"warning", "assigned", "verifying", "disposing", "applying", "evaluating", "closed"} <= set(
        alerts.values_list("status", flat=True).distinct()
    )
    assert ScreeningModel.objects.filter(code__startswith="scale-").count() == 12
    assert ScreeningRun.objects.filter(model__code__startswith="scale-").count() == 12 * 5
    assert TimelineEntry.objects.filter(alert__in=alerts).count() > 2000
    assert rollups.differences() == []
    # Screens the benchmark measures need their rows: subject files and a special project.
    assert not alerts.filter(subject__isnull=True).exists()
    project = SpecialProject.objects.get(name__startswith="scale-")
    assert project.screening_models.count() == 12 and project.units.exists()

    # Idempotent: a second run with the same numbers changes nothing.
    first_ids = set(alerts.values_list("id", flat=True))
    again = io.StringIO()
    call_command("seed_scale", alerts=2000, models=12, stdout=again, stderr=io.StringIO())
    assert "nothing to do" in again.getvalue()
    assert set(alerts.values_list("id", flat=True)) == first_ids


def test_seed_scale_force_reloads_in_place():
    call_command("seed_scale", alerts=1000, models=3, stdout=io.StringIO(), stderr=io.StringIO())
    call_command("seed_scale", alerts=1000, models=3, force=True, stdout=io.StringIO(), stderr=io.StringIO())
    assert Alert.objects.filter(dedup_key__startswith="scale-").count() == 1000
    assert ScreeningModel.objects.filter(code__startswith="scale-").count() == 3
    assert SpecialProject.objects.filter(name__startswith="scale-").count() == 1
    assert rollups.differences() == []
