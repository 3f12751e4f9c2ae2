"""Leads merge and unmerge: the alert leaves the loop into its lead and comes back as it was;
counts, occurrences and a model's credit follow."""

from __future__ import annotations

import pytest

from alerts.models import Alert, SourceSystem
from alerts.selectors import stats_overview
from alerts.states import Conclusion, Status
from audit.models import AuditEvent
from cases.models import TimelineEntry
from screening.models import ScreeningModel
from screening.selectors import model_results
from tests.api.helpers import drive, transition_url
from tests.factories import SourceSystemFactory
from workflow import services as wf

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_alert, org):
    lead = make_alert(org_unit=org.kunshan, occurrence_count=2)
    screening = SourceSystemFactory(code="screening-x", org_unit=org.city, kind=SourceSystem.Kind.SCREENING)
    hit = make_alert(org_unit=org.kunshan, source=screening, rule_code="REPEAT", occurrence_count=3)
    return lead, hit


def test_merge_and_unmerge_round_trip_with_counts_timelines_and_audit(people, pair, api):
    lead, hit = pair
    sup = people.kunshan_supervisor
    response = api(sup).post(f"/api/v1/alerts/{hit.pk}/merge/", {"into": lead.pk, "reason": "同一问题"},
                             format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "merged" and response.json()["merged_into"] == lead.pk
    lead.refresh_from_db()
    assert lead.occurrence_count == 5
    stats = stats_overview(sup)
    assert (stats["merged"], stats["open"]) == (1, 1)
    assert TimelineEntry.objects.filter(alert=hit, action="merge").exists()
    assert TimelineEntry.objects.filter(alert=lead, action="merged_in").exists()

    response = api(sup).post(f"/api/v1/alerts/{hit.pk}/unmerge/", {"reason": "并错了"}, format="json")
    assert response.status_code == 200, response.content
    hit.refresh_from_db()
    lead.refresh_from_db()
    assert (hit.status, hit.merged_into_id, lead.occurrence_count) == (Status.WARNING, None, 2)
    assert TimelineEntry.objects.filter(alert=lead, action="merge_undone").exists()
    assert AuditEvent.objects.filter(object_id=str(hit.pk), data__transition__in=["merge", "unmerge"]).count() == 2
    assert stats_overview(sup)["merged"] == 0


def test_unmerge_restores_the_stage_the_alert_left(people, pair):
    lead, hit = pair
    drive(hit, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    wf.alert_merge(alert_id=hit.pk, by=people.kunshan_supervisor, into=lead.pk, reason="重复")
    wf.alert_unmerge(alert_id=hit.pk, by=people.kunshan_supervisor, reason="并错了")
    hit.refresh_from_db()
    assert hit.status == Status.VERIFYING and hit.assignee_id == people.kunshan_verifier.pk


def test_a_model_hit_merged_into_a_substantiated_lead_counts_as_substantiated(people, pair, org):
    lead, hit = pair
    model = ScreeningModel(code="REPEAT")
    assert model_results(model)["substantiated"] == 0
    wf.alert_merge(alert_id=hit.pk, by=people.kunshan_supervisor, into=lead.pk, reason="同一问题")
    drive(lead, "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier,
          conclusion=Conclusion.SUBSTANTIATED)
    results = model_results(model)
    assert (results["concluded"], results["substantiated"]) == (1, 1)


@pytest.mark.parametrize("case", ["closed lead", "itself", "no reason"])
def test_a_bad_merge_is_a_400_and_changes_nothing(people, pair, api, case):
    lead, hit = pair
    if case == "closed lead":
        wf.alert_dismiss(alert_id=lead.pk, by=people.kunshan_supervisor, reason="duplicate")
    body = {"into": hit.pk if case == "itself" else lead.pk, "reason": "" if case == "no reason" else "重复"}
    response = api(people.kunshan_supervisor).post(transition_url(hit, "merge"), body, format="json")
    assert response.status_code == 400
    hit.refresh_from_db()
    assert hit.status == Status.WARNING


def test_a_lead_outside_your_scope_is_not_found(people, make_alert, org, api):
    hit = make_alert(org_unit=org.kunshan)
    elsewhere = make_alert(org_unit=org.changshu)
    response = api(people.kunshan_supervisor).post(f"/api/v1/alerts/{hit.pk}/merge/",
                                                   {"into": elsewhere.pk, "reason": "重复"}, format="json")
    assert response.status_code == 404
    assert Alert.objects.get(pk=hit.pk).status == Status.WARNING


def test_only_a_supervisor_merges(people, pair, api):
    lead, hit = pair
    response = api(people.kunshan_leader).post(f"/api/v1/alerts/{hit.pk}/merge/",
                                               {"into": lead.pk, "reason": "重复"}, format="json")
    assert response.status_code == 403


def test_bulk_merge_from_the_dispatch_board(client, people, make_alert, org):
    lead = make_alert(org_unit=org.kunshan)
    twins = [make_alert(org_unit=org.kunshan) for _ in range(2)]
    client.force_login(people.kunshan_supervisor)
    response = client.post("/dispatch/bulk/", {
        "alert_ids": [lead.pk, *[t.pk for t in twins]], "action": "merge", "into": lead.pk, "note": "同一企业",
    })
    assert response.status_code == 302
    assert set(Alert.objects.filter(merged_into=lead).values_list("pk", flat=True)) == {t.pk for t in twins}
    assert Alert.objects.get(pk=lead.pk).status == Status.WARNING
