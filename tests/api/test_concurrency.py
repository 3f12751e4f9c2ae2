"""Concurrency on real PostgreSQL: threads with their own connections race on one alert/key."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from alerts.models import Alert
from cases.models import Assignment, TimelineEntry
from tests.api.helpers import transition_url
from workflow.intake import IntakeItem, alerts_ingest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def race(n: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in n threads released at the same instant; each closes its connection."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_supervisors_assigning_at_once_one_wins_the_other_gets_409(api, people, make_alert):
    assert connection.vendor == "postgresql"
    alert = make_alert()
    sups = [people.kunshan_supervisor, people.city_supervisor]
    verifiers = [people.kunshan_verifier, people.kunshan_verifier2]

    def assign(i: int) -> int:
        r = api(sups[i]).post(transition_url(alert, "assign"), {"assignee": verifiers[i].pk}, format="json")
        return r.status_code

    for _ in range(5):  # several rounds make a lucky serial ordering unlikely to hide a bug
        codes = race(2, assign)
        assert sorted(codes) == [200, 409], codes
        alert.refresh_from_db()
        assert alert.status == "assigned"
        assert Assignment.objects.filter(alert=alert, returned_at=None).count() == 1
        assert alert.assignee_id == Assignment.objects.get(alert=alert, returned_at=None).assignee_id
        assert TimelineEntry.objects.filter(alert=alert, action="assign").count() == 1
        # Reset for the next round through the real path.
        r = api(alert.assignee).post(transition_url(alert, "return"), {"reason": "重来"}, format="json")
        assert r.status_code == 200
        TimelineEntry.objects.filter(alert=alert, action="assign").delete()
        Assignment.objects.filter(alert=alert).delete()


def test_racing_pushes_of_one_key_make_one_alert(source, org):
    def push(i: int) -> list:
        return alerts_ingest(source=source, items=[
            IntakeItem(dedup_key="same", title="t", risk_level="red", org_unit=org.kunshan),
        ])

    results = race(8, push)
    assert all(isinstance(r, list) for r in results), results
    assert Alert.objects.filter(dedup_key="same").count() == 1
    assert Alert.objects.get(dedup_key="same").occurrence_count == 8
    assert sum(r[0].created for r in results) == 1


def test_racing_overlapping_batches_neither_deadlock_nor_double(source, org):
    keys = [f"k{i}" for i in range(50)]

    def push(i: int) -> list:
        ordered = keys if i % 2 == 0 else list(reversed(keys))
        return alerts_ingest(source=source, items=[
            IntakeItem(dedup_key=k, title="t", risk_level="blue", org_unit=org.kunshan) for k in ordered
        ])

    results = race(4, push)
    assert all(isinstance(r, list) for r in results), results
    assert Alert.objects.count() == 50
    assert set(Alert.objects.values_list("occurrence_count", flat=True)) == {4}
