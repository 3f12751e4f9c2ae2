"""Celery tasks of the warehouse. They are declared in `screening.services`, beside the work they
run; this module is where Celery's autodiscovery looks for them."""

from screening.services import run_due_scheduled_models_task, screening_run_task

__all__ = ["run_due_scheduled_models_task", "screening_run_task"]
