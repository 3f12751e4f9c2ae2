"""Dispositions record people; the stats count people per form, cases filed, detained and
transferred; 办结率 no longer counts dismissals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.helpers import drive, transition_url
from workflow import services as wf

pytestmark = pytest.mark.django_db


def disposing(make_alert, people):
    return drive(make_alert(), "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)


def test_dispose_records_people_and_amounts_and_stats_count_people(make_alert, people, api):
    alert = disposing(make_alert, people)
    r = api(people.kunshan_supervisor).post(transition_url(alert, "dispose"), {
        "outcome": "form_2", "amount_recovered": "12000.50", "amount_confiscated": "3000",
        "people": [
            {"name": "张三", "position": "科长", "unit": "住建局", "form": "form_2",
             "sanction": "party_serious_warning"},
            {"name": "李四", "position": "处长", "unit": "住建局", "form": "form_4", "case_filed": True,
             "detained": True, "transferred": True, "id_number": "320583198001011234"},
            {"name": "王五", "form": "form_1"},
        ],
    }, format="json")
    assert r.status_code == 200, r.content
    other = disposing(make_alert, people)
    wf.alert_dispose(alert_id=other.pk, by=people.kunshan_supervisor, outcome="form_1", people=[
        wf.PersonInput(name="赵六", form="form_1"),
    ])
    cleared = disposing(make_alert, people)
    wf.alert_dispose(alert_id=cleared.pk, by=people.kunshan_supervisor, outcome="cleared")  # no people: fine
    stats = api(people.city_leader).get("/api/v1/stats/overview/").json()
    assert stats["people_by_form"] == {"form_1": 2, "form_2": 1, "form_3": 0, "form_4": 1, "none": 0}
    assert (stats["people_case_filed"], stats["people_detained"], stats["people_transferred"]) == (1, 1, 1)
    assert stats["people_total"] == 4
    assert Decimal(str(stats["amount_recovered"])) == Decimal("12000.50")
    assert Decimal(str(stats["amount_confiscated"])) == Decimal("3000")
    assert api(people.changshu_leader).get("/api/v1/stats/overview/").json()["people_total"] == 0


def test_a_person_without_a_name_is_refused(make_alert, people, api):
    alert = disposing(make_alert, people)
    r = api(people.kunshan_supervisor).post(transition_url(alert, "dispose"), {
        "outcome": "form_1", "people": [{"name": "", "form": "form_1"}]}, format="json")
    assert r.status_code == 400 and "people" in r.json()


def test_a_disposition_redone_after_send_back_counts_its_people_once(make_alert, people, api):
    alert = disposing(make_alert, people)
    wf.alert_dispose(alert_id=alert.pk, by=people.kunshan_supervisor, outcome="form_1",
                     people=[wf.PersonInput(name="张三", form="form_1")])
    wf.alert_apply_results(alert_id=alert.pk, by=people.kunshan_supervisor,
                           actions=[wf.ActionInput(kind="work_notice", recipient="某局", text="请注意")])
    wf.alert_send_back(alert_id=alert.pk, by=people.kunshan_leader, stage="disposing", reason="形态认定不准")
    wf.alert_dispose(alert_id=alert.pk, by=people.kunshan_supervisor, outcome="form_2",
                     people=[wf.PersonInput(name="张三", form="form_2")])
    stats = api(people.kunshan_leader).get("/api/v1/stats/overview/").json()
    assert stats["people_by_form"]["form_1"] == 0 and stats["people_by_form"]["form_2"] == 1


def test_closure_rate_and_dismissal_rate_are_apart(make_alert, people, api):
    drive(make_alert(), "closed", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier,
          leader=people.kunshan_leader)
    dismissed = make_alert()
    wf.alert_dismiss(alert_id=dismissed.pk, by=people.kunshan_supervisor, reason="duplicate")
    make_alert()
    make_alert()
    stats = api(people.kunshan_leader).get("/api/v1/stats/overview/").json()
    assert (stats["closed"], stats["dismissed"]) == (2, 1)
    assert stats["closure_rate"] == 0.25 and stats["dismissal_rate"] == 0.25


def test_the_people_figures_drill_down_to_their_alerts(make_alert, people, api):
    alert = disposing(make_alert, people)
    wf.alert_dispose(alert_id=alert.pk, by=people.kunshan_supervisor, outcome="form_3", people=[
        wf.PersonInput(name="张三", form="form_3", detained=True)])
    other = disposing(make_alert, people)
    wf.alert_dispose(alert_id=other.pk, by=people.kunshan_supervisor, outcome="form_1", people=[
        wf.PersonInput(name="李四", form="form_1")])
    client = api(people.kunshan_leader)
    assert [a["id"] for a in client.get("/api/v1/alerts/?person=form_3").json()["results"]] == [alert.pk]
    assert [a["id"] for a in client.get("/api/v1/alerts/?person=detained").json()["results"]] == [alert.pk]
    assert client.get("/api/v1/alerts/?person=form_4").json()["count"] == 0
