from __future__ import annotations

import pytest

from alerts.states import Status
from tests.api.helpers import drive
from tests.factories import AlertFactory

pytestmark = pytest.mark.django_db


def test_overview_counts_every_state_and_the_closure_rate(api, people, org, make_alert):
    for _ in range(3):
        make_alert(org_unit=org.kunshan)
    make_alert(org_unit=org.changshu)
    drive(make_alert(org_unit=org.kunshan), "closed", supervisor=people.kunshan_supervisor,
          verifier=people.kunshan_verifier, leader=people.city_leader)
    stats = api(people.city_leader).get("/api/v1/stats/overview/").json()
    assert (stats["total"], stats["open"], stats["closed"]) == (5, 4, 1)
    assert stats["closure_rate"] == 0.2
    assert set(stats["by_status"]) == set(Status.values)
    assert stats["by_status"]["warning"] == 4 and stats["by_status"]["assigned"] == 0
    by_unit = {u["unit"]: u for u in stats["by_unit"]}
    assert by_unit["suzhou"]["total"] == 5
    kunshan = by_unit["kunshan"]
    assert (kunshan["total"], kunshan["closed"], kunshan["closure_rate"]) == (4, 1, 0.25)
    assert by_unit["changshu"]["open"] == 1


def test_stats_take_a_fixed_number_of_queries(api, people, org, make_alert, django_assert_max_num_queries):
    for _ in range(10):
        make_alert(org_unit=org.changshu)
    # Scope, counts by unit and state, people per form, amounts, dismissals, and the indicator
    # figures (one rollup read, the indicators named there): a fixed number.
    with django_assert_max_num_queries(11):
        api(people.city_leader).get("/api/v1/stats/overview/")


def test_list_filters(api, people, org, make_alert):
    a = make_alert(org_unit=org.kunshan, risk_level="red", domain="subsidies", title="补贴冒领")
    b = make_alert(org_unit=org.kunshan_office, risk_level="blue", subject_name="某某公司")
    c = make_alert(org_unit=org.changshu, risk_level="red")
    drive(a, "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    client = api(people.city_supervisor)

    def ids(query: str) -> set[int]:
        return {r["id"] for r in client.get(f"/api/v1/alerts/?{query}").json()["results"]}

    assert ids("risk_level=red") == {a.pk, c.pk}
    assert ids("org_unit=kunshan") == {a.pk, b.pk}
    assert ids("status=assigned") == {a.pk}
    assert ids("domain=subsidies") == {a.pk}
    assert ids("q=补贴") == {a.pk}
    assert ids("q=某某") == {b.pk}
    assert ids(f"assignee={people.kunshan_verifier.pk}") == {a.pk}
    mine = api(people.kunshan_verifier).get("/api/v1/alerts/?assignee=me").json()["results"]
    assert {r["id"] for r in mine} == {a.pk}
    ordered = [r["id"] for r in client.get("/api/v1/alerts/?ordering=risk,created_at").json()["results"]]
    assert ordered.index(c.pk) < ordered.index(b.pk)


def test_lists_are_paginated_with_page_size_up_to_500(api, people, org, source):
    AlertFactory.create_batch(12, org_unit=org.kunshan, source=source)
    r = api(people.kunshan_supervisor).get("/api/v1/alerts/?page_size=5").json()
    assert r["count"] == 12 and len(r["results"]) == 5 and r["next"] and r["previous"] is None
    r = api(people.kunshan_supervisor).get("/api/v1/alerts/?page_size=100000").json()
    assert len(r["results"]) == 12


def test_the_alert_list_does_not_query_per_row(api, people, org, source, django_assert_max_num_queries):
    AlertFactory.create_batch(30, org_unit=org.kunshan, source=source)
    with django_assert_max_num_queries(6):
        r = api(people.kunshan_supervisor).get("/api/v1/alerts/?page_size=30")
    assert len(r.json()["results"]) == 30
