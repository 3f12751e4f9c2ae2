"""Celery tasks of the assessment app (beat runs them beside the deadline sweep; without a
broker `manage.py run_sweeper` does)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from assessment.reports import reports_due
from assessment.unit_escalation import unit_escalations_sweep


@shared_task(name="assessment.unit_escalations", ignore_result=True)
def unit_escalations_task() -> int:
    return unit_escalations_sweep(now=timezone.now())


@shared_task(name="assessment.reports_due", ignore_result=True)
def reports_due_task() -> int:
    return reports_due(now=timezone.now())
