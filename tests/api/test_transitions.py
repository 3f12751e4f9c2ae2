"""Every transition's allowed path and its refusals, through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.states import Status
from cases.models import Assignment, Dismissal, Disposition, Evaluation, ResultAction, TimelineEntry, Verification
from tests.api.helpers import bodies, drive, transition_url

pytestmark = pytest.mark.django_db


def _post(api, user, alert, name, body=None):
    return api(user).post(transition_url(alert, name), body if body is not None else {}, format="json")


def test_the_whole_loop_runs_from_warning_to_closed_through_the_api(api, people, make_alert):
    alert = make_alert()
    sup, ver, lead = people.kunshan_supervisor, people.kunshan_verifier, people.city_leader
    b = bodies(ver)
    steps = [
        (sup, "assign", Status.ASSIGNED),
        (ver, "accept", Status.VERIFYING),
        (ver, "submit_verification", Status.DISPOSING),
        (sup, "dispose", Status.APPLYING),
        (sup, "apply_results", Status.EVALUATING),
        (lead, "close", Status.CLOSED),
    ]
    for user, name, expected in steps:
        r = _post(api, user, alert, name, b[name])
        assert r.status_code == 200, (name, r.json())
        assert r.json()["status"] == expected
    alert.refresh_from_db()
    assert alert.closed_at is not None
    timeline = api(lead).get(f"/api/v1/alerts/{alert.pk}/timeline/").json()["results"]
    assert [e["action"] for e in timeline if e["kind"] == "transition"] == [s[1] for s in steps]
    assert timeline[-1]["from_status"] == "evaluating" and timeline[-1]["to_status"] == "closed"
    assert timeline[-1]["actor"] == lead.username
    assert {"at", "actor", "kind", "from_status", "to_status", "text"} <= set(timeline[0])


def test_each_transition_keeps_its_own_record(api, people, make_alert):
    alert = make_alert()
    sup, ver, lead = people.kunshan_supervisor, people.kunshan_verifier, people.city_leader
    b = bodies(ver)
    for user, name in [(sup, "assign"), (ver, "accept"), (ver, "submit_verification"), (sup, "dispose"),
                       (sup, "apply_results"), (lead, "close")]:
        assert _post(api, user, alert, name, b[name]).status_code == 200
    assert Assignment.objects.get(alert=alert).accepted_at is not None
    assert Verification.objects.get(alert=alert).conclusion == "substantiated"
    d = Disposition.objects.get(alert=alert)
    assert (d.outcome, d.case_filed, d.amount_recovered) == ("form_2", True, Decimal("1200.50"))
    assert ResultAction.objects.get(alert=alert).kind == "work_notice"
    assert Evaluation.objects.get(alert=alert).score == 5


def test_an_unfounded_conclusion_skips_disposal(api, people, make_alert):
    alert = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.kunshan_verifier, alert, "submit_verification",
              {"conclusion": "unfounded", "summary": "查无实据", "justification": "台账与凭证一致"})
    assert r.status_code == 200
    assert r.json()["status"] == "evaluating"


def test_return_sends_the_alert_back_to_warning_and_clears_the_assignee(api, people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.kunshan_verifier, alert, "return", {"reason": "不属于本单位"})
    assert r.status_code == 200
    assert r.json()["status"] == "warning" and r.json()["assignee"] is None
    assignment = Assignment.objects.get(alert=alert)
    assert assignment.return_reason == "不属于本单位" and assignment.returned_at is not None


def test_return_without_a_reason_is_a_400_and_changes_nothing(api, people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.kunshan_verifier, alert, "return", {"reason": ""})
    assert r.status_code == 400 and "reason" in r.json()
    alert.refresh_from_db()
    assert alert.status == Status.ASSIGNED


@pytest.mark.parametrize("stage", ["verifying", "disposing", "applying"])
def test_a_leader_can_send_back_to_an_earlier_stage(api, people, make_alert, stage):
    alert = drive(make_alert(), "evaluating", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.city_leader, alert, "send_back", {"stage": stage, "reason": "材料不全"})
    assert r.status_code == 200 and r.json()["status"] == stage
    assert Evaluation.objects.get(alert=alert).sent_back_to == stage


def test_send_back_to_a_stage_that_is_not_earlier_is_a_400(api, people, make_alert):
    alert = drive(make_alert(), "evaluating", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.city_leader, alert, "send_back", {"stage": "closed", "reason": "x"})
    assert r.status_code == 400 and "stage" in r.json()


def test_dismiss_closes_a_warning_with_a_reason(api, people, make_alert):
    alert = make_alert()
    r = _post(api, people.kunshan_supervisor, alert, "dismiss", {"reason": "false_positive"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert Dismissal.objects.get(alert=alert).reason == "false_positive"


def test_a_transition_from_the_wrong_state_is_a_409_and_changes_nothing(api, people, make_alert):
    alert = make_alert()
    before = TimelineEntry.objects.filter(alert=alert).count()
    r = _post(api, people.city_leader, alert, "close", {"score": 5})
    assert r.status_code == 409
    alert.refresh_from_db()
    assert alert.status == Status.WARNING
    assert TimelineEntry.objects.filter(alert=alert).count() == before


@pytest.mark.parametrize(
    ("name", "who"),
    [("assign", "kunshan_verifier"), ("dispose", "city_leader"), ("close", "kunshan_supervisor"),
     ("dismiss", "kunshan_verifier"), ("send_back", "kunshan_supervisor")],
)
def test_the_wrong_role_gets_403(api, people, make_alert, name, who):
    alert = make_alert()
    r = _post(api, getattr(people, who), alert, name, bodies(people.kunshan_verifier)[name])
    assert r.status_code == 403
    alert.refresh_from_db()
    assert alert.status == Status.WARNING


@pytest.mark.parametrize("name", ["accept", "return"])
def test_only_the_assignee_may_sign_for_or_return(api, people, make_alert, name):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.kunshan_verifier2, alert, name, bodies(people.kunshan_verifier)[name])
    assert r.status_code == 403
    alert.refresh_from_db()
    assert alert.status == Status.ASSIGNED


def test_only_the_assignee_may_submit_the_conclusion(api, people, make_alert):
    alert = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = _post(api, people.kunshan_verifier2, alert, "submit_verification", {"conclusion": "unfounded", "summary": "x"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("assign", {}, "assignee"),
        ("assign", {"assignee": 999999}, "assignee"),
        ("dismiss", {"reason": "bored"}, "reason"),
    ],
)
def test_an_invalid_body_is_a_400_with_field_errors(api, people, make_alert, name, body, field):
    alert = make_alert()
    r = _post(api, people.kunshan_supervisor, alert, name, body)
    assert r.status_code == 400 and field in r.json()
    alert.refresh_from_db()
    assert alert.status == Status.WARNING and alert.assignee is None


def test_the_assignee_must_be_a_verifier_of_the_alerts_unit_or_below(api, people, make_alert):
    alert = make_alert()
    # A supervisor of the unit is not a verifier.
    r = _post(api, people.city_supervisor, alert, "assign", {"assignee": people.kunshan_supervisor.pk})
    assert r.status_code == 400 and "assignee" in r.json()
    # A verifier of a sibling county is not in the alert's unit (the city supervisor sees both).
    r = _post(api, people.city_supervisor, alert, "assign", {"assignee": people.changshu_verifier.pk})
    assert r.status_code == 400 and "assignee" in r.json()
    # A verifier of an office below the alert's unit is fine.
    r = _post(api, people.city_supervisor, alert, "assign", {"assignee": people.office_verifier.pk})
    assert r.status_code == 200 and r.json()["assignee"] == people.office_verifier.pk


@pytest.mark.parametrize(
    ("name", "stage", "body", "field"),
    [
        ("submit_verification", "verifying", {"conclusion": "maybe", "summary": "x"}, "conclusion"),
        ("submit_verification", "verifying", {"conclusion": "unfounded"}, "summary"),
        ("dispose", "disposing", {"outcome": "form_9"}, "outcome"),
        ("dispose", "disposing", {"outcome": "form_1", "amount_recovered": "-5"}, "amount_recovered"),
        ("apply_results", "applying", {"actions": []}, "actions"),
        ("apply_results", "applying", {"actions": [{"kind": "memo", "recipient": "x", "text": "y"}]}, "actions"),
        ("close", "evaluating", {"score": 6}, "score"),
        ("close", "evaluating", {"score": 0}, "score"),
        ("send_back", "evaluating", {"stage": "verifying"}, "reason"),
    ],
)
def test_stage_bodies_are_validated(api, people, make_alert, name, stage, body, field):
    alert = drive(make_alert(), stage, supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    user = {"submit_verification": people.kunshan_verifier, "close": people.city_leader,
            "send_back": people.city_leader}.get(name, people.kunshan_supervisor)
    r = _post(api, user, alert, name, body)
    assert r.status_code == 400 and field in r.json(), r.json()
    alert.refresh_from_db()
    assert alert.status == stage


def test_an_unknown_transition_is_a_404(api, people, make_alert):
    alert = make_alert()
    assert _post(api, people.kunshan_supervisor, alert, "teleport").status_code == 404


def test_available_transitions_follow_role_state_and_assignee(api, people, make_alert):
    alert = make_alert()
    url = f"/api/v1/alerts/{alert.pk}/"
    supervisor_may = ["assign", "dismiss", "merge", "refer"]
    assert api(people.kunshan_supervisor).get(url).json()["available_transitions"] == supervisor_may
    assert api(people.kunshan_verifier).get(url).json()["available_transitions"] == []
    drive(alert, "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert api(people.kunshan_verifier).get(url).json()["available_transitions"] == ["accept", "return"]
    assert api(people.kunshan_verifier2).get(url).json()["available_transitions"] == []
    # A supervisor can still merge a duplicate that was already dispatched.
    assert api(people.kunshan_supervisor).get(url).json()["available_transitions"] == ["merge"]


def test_each_transition_bumps_the_stage_entry_and_resets_escalation(people, make_alert):
    alert = make_alert()
    seq = alert.stage_seq
    alert = drive(alert, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    assert alert.stage_seq == seq + 2
    assert alert.escalation_level == 0
