"""Faults under load: Redis stopped while alerts are taken in and dispatched, PostgreSQL restarted
under load. Afterwards no alert accepted with a 2xx is lost, nothing is doubled, and the service
answers again without manual steps."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tokens import api_token_issue
from alerts.models import Alert
from tests.conftest import SOURCE_KEY
from tests.faults.conftest import postgres_restart, redis_is_up
from workflow.models import Notification
from workflow.sweep import sweep

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.faults]


def _post(base: str, path: str, body: object, auth: str, timeout: float = 15) -> int:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own live server
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0  # no answer at all: the client would retry


def _feeders(base: str, n_threads: int, batches: int, accepted: set[str], lock: threading.Lock,
             pause: float = 0.02) -> list[threading.Thread]:
    def feed(t: int) -> None:
        for b in range(batches):
            keys = [f"t{t}-b{b}-{i}" for i in range(5)]
            items = [{"dedup_key": k, "title": "压力", "risk_level": "blue", "org_unit": "kunshan"} for k in keys]
            code = _post(base, "/api/v1/intake/alerts/", items, f"Api-Key {SOURCE_KEY}")
            if 200 <= code < 300:
                with lock:
                    accepted.update(keys)
            time.sleep(pause)

    return [threading.Thread(target=feed, args=(t,)) for t in range(n_threads)]


def test_redis_stopped_while_alerts_are_taken_in_and_dispatched_loses_nothing(
    live_server, source, people, org, redis_outage,
):
    stop, start = redis_outage
    base = live_server.url
    accepted: set[str] = set()
    lock = threading.Lock()
    _row, token = api_token_issue(user=people.kunshan_supervisor)
    seeded = [Alert.objects.create(title=f"待分办{i}", risk_level="red", org_unit=org.kunshan, source=source,
                                   dedup_key=f"seed-{i}", stage_entered_at=timezone.now()) for i in range(10)]
    assigned: list[int] = []

    def dispatch() -> None:
        for alert in seeded:
            code = _post(base, f"/api/v1/alerts/{alert.pk}/transitions/assign/",
                         {"assignee": people.kunshan_verifier.pk}, f"Token {token}")
            if code == 200:
                assigned.append(alert.pk)
            time.sleep(0.05)

    threads = [*_feeders(base, 3, 15, accepted, lock), threading.Thread(target=dispatch)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    stop()  # Redis goes away mid-stream: enqueues after commit fail
    assert not redis_is_up()
    time.sleep(1.0)
    start()
    for t in threads:
        t.join(120)

    stored = set(Alert.objects.filter(dedup_key__in=accepted).values_list("dedup_key", flat=True))
    assert accepted and stored == accepted
    assert len(assigned) == len(seeded)  # every dispatch answered 200 though the broker was down
    assert Alert.objects.filter(pk__in=assigned, status="assigned").count() == len(assigned)
    # The inbox row was written with each change; the sweep retries whatever did not go out.
    assert Notification.objects.filter(alert_id__in=assigned, recipient=people.kunshan_verifier).count() == len(
        assigned)
    sweep()
    # And the service carries on as before.
    assert _post(base, "/api/v1/intake/alerts/",
                 {"dedup_key": "after", "title": "t", "risk_level": "red", "org_unit": "kunshan"},
                 f"Api-Key {SOURCE_KEY}") == 201


def _postmaster_start():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        return cursor.fetchone()[0]


def test_postgresql_restarted_under_load_loses_no_accepted_alert_and_recovers(live_server, source, people):
    base = live_server.url
    accepted: set[str] = set()
    lock = threading.Lock()
    started_before = _postmaster_start()
    threads = _feeders(base, 3, 30, accepted, lock, pause=0.05)
    for t in threads:
        t.start()
    time.sleep(0.5)
    postgres_restart()
    for t in threads:
        t.join(180)
    connection.close()  # this test's own connection died with the server; reconnect
    assert _postmaster_start() > started_before  # the server really restarted under the load

    stored = list(Alert.objects.filter(dedup_key__in=accepted).values_list("dedup_key", flat=True))
    assert accepted and set(stored) == accepted
    assert len(stored) == len(set(stored))  # nothing doubled
    assert all(count == 1 for count in Alert.objects.filter(dedup_key__in=accepted)
               .values_list("occurrence_count", flat=True))
    # Recovered without manual steps: the next requests succeed.
    codes = [_post(base, "/api/v1/intake/alerts/",
                   {"dedup_key": f"after-{i}", "title": "t", "risk_level": "red", "org_unit": "kunshan"},
                   f"Api-Key {SOURCE_KEY}") for i in range(3)]
    assert codes == [201, 201, 201]
