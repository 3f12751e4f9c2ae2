"""Each kind of event has its own writer, and each transition leaves exactly one entry written
by its writer: the state left, the state entered, who acted, what they said."""

from __future__ import annotations

import pytest

from alerts.states import Conclusion, Status
from cases.models import TimelineEntry
from cases.services import comment_add, finding_add
from tests.api.helpers import drive
from workflow import services as wf

pytestmark = pytest.mark.django_db


def _transitions(alert):
    return list(
        TimelineEntry.objects.filter(alert=alert, kind=TimelineEntry.Kind.TRANSITION)
        .order_by("at", "id").values_list("action", "from_status", "to_status", "actor__username")
    )


def test_the_whole_loop_leaves_one_entry_per_transition(people, make_alert):
    alert = drive(make_alert(), "closed", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier,
                  leader=people.kunshan_leader)
    assert _transitions(alert) == [
        ("assign", Status.WARNING, Status.ASSIGNED, "kunshan_supervisor"),
        ("accept", Status.ASSIGNED, Status.VERIFYING, "kunshan_verifier"),
        ("submit_verification", Status.VERIFYING, Status.DISPOSING, "kunshan_verifier"),
        ("dispose", Status.DISPOSING, Status.APPLYING, "kunshan_supervisor"),
        ("apply_results", Status.APPLYING, Status.EVALUATING, "kunshan_supervisor"),
        ("close", Status.EVALUATING, Status.CLOSED, "kunshan_leader"),
    ]


def test_a_transition_entry_carries_its_typed_details(people, make_alert):
    alert = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    # An unfounded conclusion needs grounds: here a finding on the record.
    finding_add(alert_id=alert.pk, author=people.kunshan_verifier, text="调阅台账", method="document_review")
    wf.alert_submit_verification(alert_id=alert.pk, by=people.kunshan_verifier,
                                 conclusion=Conclusion.UNFOUNDED, summary="查无实据")
    entry = TimelineEntry.objects.filter(alert=alert, action="submit_verification").get()
    assert (entry.text, entry.data, entry.to_status) == ("查无实据", {"conclusion": "unfounded"}, Status.EVALUATING)
    assign = TimelineEntry.objects.filter(alert=alert, action="assign").get()
    verifier = people.kunshan_verifier
    assert assign.data == {"assignee": verifier.pk, "assignee_name": verifier.display_name}


def test_a_return_records_its_reason(people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    wf.alert_return(alert_id=alert.pk, by=people.kunshan_verifier, reason="不属于本人辖区")
    entry = TimelineEntry.objects.filter(alert=alert, action="return").get()
    assert (entry.from_status, entry.to_status, entry.text, entry.data) == (
        Status.ASSIGNED, Status.WARNING, "不属于本人辖区", {"reason": "不属于本人辖区"})


def test_intake_and_comments_write_their_own_kinds(people, make_alert):
    alert = make_alert()
    comment = comment_add(alert_id=alert.pk, author=people.city_leader, text="请加快")
    entry = TimelineEntry.objects.get(alert=alert, kind=TimelineEntry.Kind.COMMENT)
    assert (entry.actor_id, entry.text, entry.data) == (people.city_leader.pk, "请加快", {"comment_id": comment.pk})
    assert entry.from_status == entry.to_status == Status.WARNING


def test_a_refused_transition_writes_nothing(people, make_alert):
    alert = make_alert()
    with pytest.raises(Exception):  # noqa: B017 - any refusal; the point is what it leaves behind
        wf.alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    assert _transitions(alert) == []
