"""Celery tasks. Thin and idempotent: a task that runs twice (acks_late redelivery after a worker
died, or a retry) finds its work done — the sweep re-reads the rows under lock, deliveries are
claimed and marked sent in one transaction."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from workflow.export_jobs import export_job_task, export_jobs_sweep_task  # noqa: F401 - for autodiscovery
from workflow.notify import send_deliveries  # noqa: F401 - registered here for autodiscovery
from workflow.sweep import sweep


@shared_task(name="workflow.tasks.sweep_deadlines", acks_late=True, reject_on_worker_lost=True)
def sweep_deadlines(at: str | None = None) -> dict:
    """The beat task: one sweep as of `at` (ISO datetime) or now."""
    return sweep(now=parse_datetime(at) if at else None).as_dict()

