"""The one policy module: who may take which transition, see full personal data, ask for more
time; and the warehouse's map, which refuses what it does not list."""

from __future__ import annotations

import pytest

from alerts import policy
from alerts.selectors import alert_for_update
from alerts.states import Status
from core.errors import NotFound
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db


def test_a_warning_offers_dispatch_dismissal_merging_and_referral_to_a_supervisor_only(people, make_alert):
    alert = make_alert()
    assert policy.transitions_available_to(alert, people.kunshan_supervisor) == ["assign", "dismiss", "merge", "refer"]
    assert policy.transitions_available_to(alert, people.kunshan_verifier) == []
    assert policy.transitions_available_to(alert, people.city_leader) == []


def test_only_the_assignee_may_sign_for_an_assigned_alert(people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert policy.transitions_available_to(alert, people.kunshan_verifier) == ["accept", "return"]
    assert policy.transitions_available_to(alert, people.kunshan_verifier2) == []
    assert not policy.is_transition_actor(people.kunshan_verifier2, alert, "accept")
    assert policy.has_transition_role(people.kunshan_verifier2, "accept")


def test_full_personal_data_goes_to_supervisors_and_the_assignee_only(people, make_alert):
    alert = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert policy.may_view_full_pii(people.kunshan_supervisor, alert)
    assert policy.may_view_full_pii(people.kunshan_verifier, alert)
    assert not policy.may_view_full_pii(people.kunshan_verifier2, alert)
    assert not policy.may_view_full_pii(people.city_leader, alert)


def test_responsibility_follows_the_stage(people, make_alert):
    alert = make_alert()
    assert policy.is_responsible(alert, people.kunshan_supervisor)
    assert not policy.is_responsible(alert, people.kunshan_verifier)
    alert = drive(alert, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert policy.stage_actor(alert) == policy.ASSIGNEE
    assert policy.is_responsible(alert, people.kunshan_verifier)
    assert not policy.is_responsible(alert, people.kunshan_supervisor)
    alert = drive(make_alert(), "evaluating", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert policy.is_responsible(alert, people.kunshan_leader)
    alert = drive(make_alert(), "closed", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier,
                  leader=people.kunshan_leader)
    assert alert.status == Status.CLOSED
    assert not policy.is_responsible(alert, people.kunshan_supervisor)


def test_the_warehouse_map_refuses_an_action_it_does_not_list(people):
    assert policy.may_in_warehouse(people.kunshan_supervisor, "model.create")
    assert not policy.may_in_warehouse(people.kunshan_verifier, "model.create")
    assert policy.may_in_warehouse(people.kunshan_verifier, "model.read")
    assert not policy.may_in_warehouse(people.kunshan_supervisor, "model.delete_everything")
    assert not policy.may_in_warehouse(None, "model.read")


def test_a_screening_endpoint_refuses_an_unmapped_write(api, people):
    # A PUT that no view maps to a warehouse action is refused, not treated as a read.
    response = api(people.kunshan_verifier).put("/api/v1/screening-specs/preview/", {}, format="json")
    assert response.status_code in (403, 405)
    assert api(people.kunshan_verifier).delete("/api/v1/screening-specs/preview/").status_code in (403, 405)


def test_alert_for_update_is_scoped(people, make_alert, org):
    alert = make_alert(org_unit=org.kunshan)
    assert alert_for_update(user=people.kunshan_supervisor, alert_id=alert.pk).pk == alert.pk
    with pytest.raises(NotFound):
        alert_for_update(user=people.changshu_supervisor, alert_id=alert.pk)
    with pytest.raises(NotFound):
        alert_for_update(user=people.kunshan_supervisor, alert_id=alert.pk + 1000)


def test_each_role_opens_its_own_screens_and_the_nav_offers_only_those(client, people):
    assert policy.may_open(people.kunshan_supervisor, "dispatch")
    assert not policy.may_open(people.kunshan_verifier, "dispatch")
    assert not policy.may_open(people.kunshan_supervisor, "no_such_screen")
    client.force_login(people.kunshan_verifier)
    assert client.get("/dispatch/").status_code == 403
    html = client.get("/my-work/").content.decode()
    assert 'href="/my-work/"' in html and 'href="/dispatch/"' not in html
