"""Lists and the dashboard cost the same number of queries whatever the number of rows shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.states import Status
from cases.models import Assignment, Disposition, ResultAction, TimelineEntry, Verification

# Measured on PostgreSQL; asserted as ceilings so a new per-row query fails the test.
# SESSION_SAVE_EVERY_REQUEST (the inactivity timeout) adds the same 3 to every page:
# SAVEPOINT, UPDATE django_session, RELEASE.
SESSION_REFRESH = 3
# +1 on every page: the unread count of the bell in the header (one COUNT on an index).
BELL = 1
MAX_QUERIES = {name: n + SESSION_REFRESH + BELL for name, n in {
    "web:dispatch": 8, "web:my_work": 5, "web:evaluation": 8, "web:disposal": 7,
    # +2: people per form and the money of the latest dispositions (cases.people).
    "web:dashboard": 15, "web:alert_list": 7}.items()}


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def _seed(n: int, people, make_alert, org) -> None:
    now = timezone.now()
    units = [org.kunshan, org.changshu, org.kunshan_office]
    risks = ["red", "orange", "yellow", "blue"]
    for i in range(n):
        unit = units[i % 3]
        verifier = people.changshu_verifier if unit == org.changshu else people.kunshan_verifier
        a = make_alert(org_unit=unit, risk_level=risks[i % 4], due_at=now + timedelta(hours=i - 3))
        # one of each screen's rows per i
        w = make_alert(org_unit=unit, risk_level=risks[i % 4])
        Assignment.objects.create(alert=w, assignee=verifier, assigned_by=people.city_supervisor,
                                  returned_at=now, return_reason="不属于本单位")
        v = make_alert(org_unit=org.kunshan, status=Status.VERIFYING, assignee=people.kunshan_verifier,
                       due_at=now + timedelta(days=i))
        e = make_alert(org_unit=unit, status=Status.EVALUATING, assignee=verifier, conclusion="substantiated")
        Verification.objects.create(alert=e, verifier=verifier, conclusion="substantiated", summary="s")
        Disposition.objects.create(alert=e, decided_by=people.city_supervisor, outcome="form_1",
                                   amount_recovered=100)
        ResultAction.objects.create(alert=e, issued_by=people.city_supervisor, kind="work_notice",
                                    recipient="r", text="t")
        d = make_alert(org_unit=unit, status=Status.DISPOSING, assignee=verifier, conclusion="unfounded")
        Verification.objects.create(alert=d, verifier=verifier, conclusion="unfounded", summary="s")
        c = make_alert(org_unit=unit, status=Status.CLOSED, closed_at=now)
        for alert in (a, v, e, c):
            TimelineEntry.objects.create(alert=alert, at=now, kind="transition", from_status="warning",
                                         to_status="assigned", action="assign")


@pytest.mark.parametrize(
    ("url", "who"),
    [("web:dispatch", "city_supervisor"), ("web:my_work", "kunshan_verifier"),
     ("web:evaluation", "city_leader"), ("web:disposal", "city_supervisor"),
     ("web:dashboard", "city_leader"), ("web:alert_list", "city_leader")],
)
def test_query_count_does_not_grow_with_rows(people, make_alert, org, client_for, url, who):
    client = client_for(getattr(people, who))
    _seed(5, people, make_alert, org)
    _count(client, reverse(url))  # warm the per-process caches (deadline policies, calendar)
    few = _count(client, reverse(url))
    _seed(25, people, make_alert, org)
    many = _count(client, reverse(url))
    print(f"{url}: {few} queries with 5 rows, {many} with 30")
    assert few == many
    assert many <= MAX_QUERIES[url]
