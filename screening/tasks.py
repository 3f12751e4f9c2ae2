"""Celery tasks of the warehouse; `shared_task` so they bind to whatever Celery app runs them."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="screening.run", acks_late=True, ignore_result=True)
def screening_run_task(run_id: int) -> None:
    from screening.services import screening_run_execute

    screening_run_execute(run_id=run_id)


@shared_task(name="screening.run_due_scheduled_models", ignore_result=True)
def run_due_scheduled_models_task() -> int:
    from screening.services import run_due_scheduled_models

    return len(run_due_scheduled_models())


@shared_task(name="screening.dataset_import", acks_late=True, ignore_result=True)
def dataset_import_task(dataset_id: int) -> None:
    from screening.services import dataset_import_execute

    dataset_import_execute(dataset_id=dataset_id)
