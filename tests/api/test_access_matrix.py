"""Who sees what: each role × own unit / sibling county / parent city × list, detail, transition,
stats. A county never sees another county's alerts — not in a list, a detail, a count."""

from __future__ import annotations

import pytest

from tests.api.helpers import bodies, transition_url

pytestmark = pytest.mark.django_db

# (user, sees kunshan alert, sees changshu alert, sees city-level alert)
VISIBILITY = [
    ("city_leader", True, True, True),
    ("city_supervisor", True, True, True),
    ("kunshan_supervisor", True, False, False),
    ("kunshan_verifier", True, False, False),
    ("kunshan_leader", True, False, False),
    ("changshu_supervisor", False, True, False),
    ("changshu_verifier", False, True, False),
    ("changshu_leader", False, True, False),
    ("office_verifier", False, False, False),
    ("nobody", False, False, False),
]


@pytest.fixture
def three_alerts(org, make_alert):
    return {
        "kunshan": make_alert(org_unit=org.kunshan, title="昆山预警"),
        "changshu": make_alert(org_unit=org.changshu, title="常熟预警"),
        "city": make_alert(org_unit=org.city, title="市级预警"),
    }


@pytest.mark.parametrize(("who", "kunshan", "changshu", "city"), VISIBILITY)
def test_list_detail_and_counts_show_only_the_users_scope(api, people, three_alerts, who, kunshan, changshu, city):
    client = api(getattr(people, who))
    expected = {k for k, v in {"kunshan": kunshan, "changshu": changshu, "city": city}.items() if v}
    listed = client.get("/api/v1/alerts/?page_size=500").json()
    assert {r["id"] for r in listed["results"]} == {three_alerts[k].pk for k in expected}
    assert listed["count"] == len(expected)
    for key, alert in three_alerts.items():
        r = client.get(f"/api/v1/alerts/{alert.pk}/")
        assert r.status_code == (200 if key in expected else 404)
        assert client.get(f"/api/v1/alerts/{alert.pk}/timeline/").status_code == (200 if key in expected else 404)
    stats = client.get("/api/v1/stats/overview/").json()
    assert stats["total"] == len(expected)


@pytest.mark.parametrize("who", ["changshu_supervisor", "changshu_leader", "changshu_verifier", "nobody"])
@pytest.mark.parametrize("name", ["assign", "dismiss", "close", "accept"])
def test_a_transition_on_another_countys_alert_is_a_404(api, people, three_alerts, who, name):
    alert = three_alerts["kunshan"]
    r = api(getattr(people, who)).post(transition_url(alert, name), bodies(people.kunshan_verifier)[name],
                                       format="json")
    assert r.status_code == 404
    alert.refresh_from_db()
    assert alert.status == "warning"


def test_the_404_for_another_county_says_nothing_about_the_alert(api, people, three_alerts):
    r = api(people.changshu_supervisor).get(f"/api/v1/alerts/{three_alerts['kunshan'].pk}/")
    assert r.status_code == 404
    assert "昆山" not in r.content.decode()


def test_comments_and_findings_of_another_county_are_404(api, people, three_alerts):
    alert = three_alerts["kunshan"]
    client = api(people.changshu_supervisor)
    assert client.post(f"/api/v1/alerts/{alert.pk}/comments/", {"text": "窥探"}, format="json").status_code == 404
    assert client.get(f"/api/v1/alerts/{alert.pk}/comments/").status_code == 404
    assert client.post(f"/api/v1/alerts/{alert.pk}/findings/", {"text": "x"}).status_code == 404
    assert alert.comments.count() == 0


def test_filtering_by_another_countys_unit_code_returns_nothing(api, people, three_alerts):
    r = api(people.kunshan_supervisor).get("/api/v1/alerts/?org_unit=changshu")
    assert r.json()["count"] == 0


def test_by_unit_stats_cover_own_unit_and_children_only(api, people, three_alerts):
    city = api(people.city_leader).get("/api/v1/stats/overview/").json()
    assert [u["unit"] for u in city["by_unit"]] == ["suzhou", "changshu", "kunshan"]
    kunshan = api(people.kunshan_leader).get("/api/v1/stats/overview/").json()
    assert [u["unit"] for u in kunshan["by_unit"]] == ["kunshan", "kunshan-office"]
    assert kunshan["by_unit"][0]["total"] == 1


def test_users_list_is_scoped(api, people):
    listed = api(people.kunshan_supervisor).get("/api/v1/users/?page_size=500").json()["results"]
    names = {u["username"] for u in listed}
    assert "kunshan_verifier" in names and "office_verifier" in names
    assert not names & {"changshu_verifier", "changshu_supervisor", "suzhou_leader"}


def test_anonymous_requests_are_refused(api, three_alerts):
    assert api().get("/api/v1/alerts/").status_code in (401, 403)
    assert api().get("/api/v1/stats/overview/").status_code in (401, 403)
