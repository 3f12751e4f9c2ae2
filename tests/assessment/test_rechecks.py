"""复查: a reproducible random sample of closed alerts, re-checked by a verifier of another unit;
a problem found reopens the alert to the chosen stage."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.states import Status
from assessment.models import RecheckItem
from assessment.rechecks import recheck_draw
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(people, make_alert, org):
    out = []
    for _ in range(6):
        out.append(drive(make_alert(org_unit=org.kunshan), "closed", supervisor=people.kunshan_supervisor,
                         verifier=people.kunshan_verifier, leader=people.kunshan_leader))
    for _ in range(3):
        out.append(drive(make_alert(org_unit=org.changshu), "closed", supervisor=people.changshu_supervisor,
                         verifier=people.changshu_verifier, leader=people.changshu_leader))
    return out


@pytest.fixture
def quarter():
    now = timezone.localtime()
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def _sample(recheck):
    return sorted((i.alert_id, i.assignee_id) for i in recheck.items.all())


def test_the_draw_is_reproducible_from_its_seed_and_never_picks_the_handling_unit(people, closed, quarter, org):
    first = recheck_draw(by=people.city_leader, period=quarter, units=["kunshan", "changshu"], size=2)
    again = recheck_draw(by=people.city_leader, period=quarter, units=["kunshan", "changshu"], size=2,
                         seed=first.seed)
    assert _sample(first) == _sample(again) and len(_sample(first)) == 4
    for item in RecheckItem.objects.select_related("alert", "assignee__org_unit"):
        assert not item.handled_by_unit.contains(item.assignee.org_unit)
        assert item.assignee_id != item.alert.assignee_id


def test_a_share_rounds_up_per_unit(people, closed, quarter):
    recheck = recheck_draw(by=people.city_leader, period=quarter, units=["kunshan"], ratio="0.2")
    assert recheck.items.count() == 2  # ceil(6 × 0.2)


def test_a_problem_found_reopens_the_alert_and_counts_as_a_failure(api, people, closed, quarter):
    recheck = recheck_draw(by=people.city_leader, period=quarter, units=["kunshan"], size=1)
    item = recheck.items.get()
    rechecker = api(item.assignee)
    # While the re-check is pending, the re-checking unit may read the closed alert.
    assert rechecker.get(f"/api/v1/alerts/{item.alert_id}/").status_code == 200
    missing_stage = rechecker.post(f"/api/v1/rechecks/items/{item.pk}/outcome/", {"outcome": "problem_found"},
                                   format="json")
    assert missing_stage.status_code == 400
    response = rechecker.post(f"/api/v1/rechecks/items/{item.pk}/outcome/",
                              {"outcome": "problem_found", "stage": "verifying", "note": "核查走过场，未见实地核实"},
                              format="json")
    assert response.status_code == 200, response.content
    alert = Alert.objects.get(pk=item.alert_id)
    assert alert.status == Status.VERIFYING and alert.recheck_unit_id is None
    item.refresh_from_db()
    assert (item.outcome, item.reopened_to) == (RecheckItem.Outcome.PROBLEM_FOUND, "verifying")
    assert rechecker.get(f"/api/v1/alerts/{item.alert_id}/").status_code == 404  # sight ends with the re-check
    again = rechecker.post(f"/api/v1/rechecks/items/{item.pk}/outcome/", {"outcome": "confirmed"}, format="json")
    assert again.status_code == 409


def test_only_the_assigned_verifier_records_the_outcome_and_only_leaders_draw(api, people, closed, quarter):
    assert api(people.kunshan_supervisor).post("/api/v1/rechecks/", {"period": quarter, "units": ["kunshan"],
                                                                     "size": 1}, format="json").status_code == 403
    recheck = recheck_draw(by=people.city_leader, period=quarter, units=["kunshan"], size=1)
    item = recheck.items.get()
    other = people.kunshan_verifier2 if item.assignee_id != people.kunshan_verifier2.pk else people.office_verifier
    response = api(other).post(f"/api/v1/rechecks/items/{item.pk}/outcome/", {"outcome": "confirmed"}, format="json")
    assert response.status_code == 404
    assert api(item.assignee).post(f"/api/v1/rechecks/items/{item.pk}/outcome/", {"outcome": "confirmed"},
                                   format="json").status_code == 200


@pytest.mark.parametrize("body", [{"units": ["kunshan"]}, {"units": ["kunshan"], "size": 1, "ratio": "0.5"},
                                  {"units": ["nowhere"], "size": 1}, {"units": [], "size": 1}])
def test_a_bad_draw_is_a_400(api, people, closed, quarter, body):
    response = api(people.city_leader).post("/api/v1/rechecks/", {"period": quarter, **body}, format="json")
    assert response.status_code == 400
