"""With a real Celery worker on the real Redis: the worker escalates, concurrent sweeps never
double a step, a worker killed mid-escalation loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection, connections
from django.utils import timezone

from alerts.models import RISK_RANK, Alert
from config.celery import app
from workflow.models import EscalationStep
from workflow.sweep import sweep
from workflow.tasks import sweep_deadlines

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _empty_queue():
    # Redis db of this suite only: drop tasks left by earlier tests so no worker runs them here.
    redis.Redis.from_url(os.environ.get("REDIS_URL") or django_settings.CELERY_BROKER_URL).flushdb()
    yield


def overdue_alerts(n: int, *, org, source, hours_ago: float = 1) -> list[int]:
    now = timezone.now()
    alerts = Alert.objects.bulk_create(
        Alert(
            title=f"overdue {i}", risk_level="orange", risk_rank=RISK_RANK["orange"], org_unit=org.kunshan,
            source=source, dedup_key=f"overdue-{i}", stage_entered_at=now - timedelta(days=10),
            due_at=now - timedelta(hours=hours_ago), created_at=now, updated_at=now,
        )
        for i in range(n)
    )
    return [a.pk for a in alerts]


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_a_worker_escalates_an_overdue_alert(org, people, source, settings):
    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 1000, 2000]
    [pk] = overdue_alerts(1, org=org, source=source)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep_deadlines.delay()
        wait_for(lambda: EscalationStep.objects.filter(alert_id=pk, step=1).exists())
    alert = Alert.objects.get(pk=pk)
    assert alert.escalation_level == 1
    assert alert.notifications.filter(kind="overdue", recipient=people.kunshan_supervisor).count() == 1


def test_two_concurrent_sweeps_over_500_overdue_alerts_record_exactly_500_first_steps(org, people, source, settings):
    settings.HUOYAN_ESCALATION_AFTER_HOURS = [0, 1000, 2000]
    settings.HUOYAN_SWEEP_BATCH = 50  # many small claims, so the two sweeps interleave
    overdue_alerts(500, org=org, source=source)
    reports: list = []
    errors: list = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            reports.append(sweep(deliveries=False))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert EscalationStep.objects.filter(step=1).count() == 500
    assert sum(r.steps[1] for r in reports) == 500
    assert Alert.objects.filter(escalation_level=1).count() == 500
    # A third sweep finds nothing left to do.
    assert sweep(deliveries=False).steps[1] == 0


def _worker(env_extra: dict[str, str]) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1", "HUOYAN_ESCALATION_AFTER_HOURS": "0,1000,2000",
        **env_extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-c", "1",
         "-I", "tests.workflow.crash_tasks", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_escalation_loses_nothing_and_doubles_nothing(org, people, source, tmp_path):
    from tests.workflow.crash_tasks import crash_sweep

    overdue_alerts(40, org=org, source=source)
    marker, pause = tmp_path / "claimed", tmp_path / "pause"
    pause.write_text("1")
    first = _worker({})
    try:
        crash_sweep.delay(str(marker), str(pause))
        wait_for(marker.exists, timeout=60)  # steps written, transaction open, task unacknowledged
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    # The killed worker's transaction rolled back: nothing half-done is visible.
    assert EscalationStep.objects.count() == 0
    assert Alert.objects.filter(escalation_level__gt=0).count() == 0

    pause.unlink()
    second = _worker({})
    try:
        # acks_late: the unacknowledged task comes back (visibility timeout) and completes.
        wait_for(lambda: EscalationStep.objects.filter(step=1).count() == 40, timeout=60)
        sweep_deadlines.delay()  # and any later sweep finds nothing more to do
        time.sleep(2)
    finally:
        second.terminate()
        second.wait(timeout=20)
    assert EscalationStep.objects.filter(step=1).count() == 40
    assert Alert.objects.filter(escalation_level=1).count() == 40
