"""A task for the worker-killed test: the real sweep, paused (while holding its claim, before the
commit) whenever the pause flag file exists, so the test can SIGKILL the worker mid-escalation."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task

from workflow.sweep import sweep


@shared_task(name="tests.crash_sweep", acks_late=True, reject_on_worker_lost=True)
def crash_sweep(marker: str, pause_flag: str) -> dict:
    def pause(rows: list) -> None:
        if os.path.exists(pause_flag):
            Path(marker).write_text(str(len(rows)))
            time.sleep(120)

    return sweep(on_claimed=pause, deliveries=False).as_dict()
