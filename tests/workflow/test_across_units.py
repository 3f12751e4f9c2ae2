"""提级办理 and 交叉核查: the alert keeps its owning unit and gains a handling unit. The handling
unit's people see it while they handle it, the owning unit keeps seeing it, nobody else gains
sight — in any list, count, export, search or detail."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import Status
from tests.api.helpers import transition_url
from workflow import services as wf

pytestmark = pytest.mark.django_db


def _sees(user, alert, api, client) -> dict[str, bool]:
    """Every way a reader can come across an alert."""
    c = api(user)
    listed = c.get("/api/v1/alerts/", {"q": alert.title}).json()["results"]
    client.force_login(user)
    return {
        "detail": c.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200,
        "list": any(r["id"] == alert.pk for r in listed),
        "count": c.get("/api/v1/stats/overview/").json()["total"] > 0,
        "screen": client.get(f"/alerts/{alert.pk}/").status_code == 200,
        "export": alert.title.encode() in b"".join(client.get("/alerts/export.csv").streaming_content),
        "selector": alerts_visible_to(user).filter(pk=alert.pk).exists(),
    }


@pytest.fixture
def alert(make_alert, org):
    return make_alert(org_unit=org.kunshan, title="交叉核查样本预警")


def test_cross_verification_gives_sight_to_the_handling_county_only_while_it_handles(
    people, alert, api, client, org,
):
    sup = people.city_supervisor
    response = api(sup).post(transition_url(alert, "assign"), {
        "assignee": people.changshu_verifier.pk, "cross_unit": True, "note": "交叉核查",
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["handling_unit"] == "changshu"
    for who in ("changshu_verifier", "changshu_supervisor", "changshu_leader", "kunshan_supervisor", "city_leader"):
        assert all(_sees(getattr(people, who), alert, api, client).values()), who
    assert not any(_sees(people.nobody, alert, api, client).values())
    # The handling county's verifier works it through the loop.
    wf.alert_accept(alert_id=alert.pk, by=people.changshu_verifier)
    # Once closed, the handling county loses sight; the owner keeps it.
    Alert.objects.filter(pk=alert.pk).update(status=Status.CLOSED)
    assert not _sees(people.changshu_supervisor, alert, api, client)["detail"]
    assert _sees(people.kunshan_supervisor, alert, api, client)["detail"]


def test_cross_verification_must_be_asked_for_and_only_from_above(people, alert, api):
    body = {"assignee": people.changshu_verifier.pk, "note": ""}
    assert api(people.city_supervisor).post(transition_url(alert, "assign"), body, format="json").status_code == 400
    # A county cannot send its alert to another county: that verifier is not even in its scope.
    crossed = {**body, "cross_unit": True}
    county = api(people.kunshan_supervisor)
    assert county.post(transition_url(alert, "assign"), crossed, format="json").status_code == 400
    assert Alert.objects.get(pk=alert.pk).status == Status.WARNING


def test_a_unit_above_takes_an_alert_over_and_the_owner_keeps_reading_it(people, alert, api):
    response = api(people.city_supervisor).post(f"/api/v1/alerts/{alert.pk}/escalate-handling/",
                                                {"reason": "案情重大，提级办理"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["handling_unit"] == "suzhou"
    # The county still reads it but no longer acts on it; the city dispatches.
    kunshan = api(people.kunshan_supervisor)
    assert kunshan.get(f"/api/v1/alerts/{alert.pk}/").json()["available_transitions"] == []
    refused = kunshan.post(transition_url(alert, "assign"), {"assignee": people.kunshan_verifier.pk}, format="json")
    assert refused.status_code == 403
    done = api(people.city_supervisor).post(transition_url(alert, "assign"),
                                            {"assignee": people.kunshan_verifier.pk}, format="json")
    assert done.status_code == 200
    assert api(people.changshu_supervisor).get(f"/api/v1/alerts/{alert.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["kunshan_supervisor", "changshu_supervisor", "city_leader"])
def test_only_a_supervisor_above_can_take_an_alert_over(people, alert, api, who):
    response = api(getattr(people, who)).post(f"/api/v1/alerts/{alert.pk}/escalate-handling/",
                                              {"reason": "提级"}, format="json")
    assert response.status_code in (403, 404)
    assert Alert.objects.get(pk=alert.pk).handling_unit_id is None


def test_subject_counts_on_the_boards_include_alerts_seen_elsewhere(people, source, org):
    """The boards' "N alerts about this subject": the reader's own units' alerts plus those their
    units handle or re-check, as the scope rule counts them."""
    from alerts.models import Alert
    from alerts.selectors import alerts_visible_to, subject_alert_counts
    from workflow import services as wf
    from workflow.intake import IntakeItem, alerts_ingest

    items = [IntakeItem(dedup_key=f"s{i}", title=f"主体预警{i}", risk_level="red", org_unit=org.kunshan,
                        subject_name="苏州某化工有限公司", subject_credit_code="91320583MA1XXXXX0X") for i in range(3)]
    ids = [r.id for r in alerts_ingest(source=source, items=items)]
    subject_id = Alert.objects.get(pk=ids[0]).subject_id
    assert subject_id is not None
    wf.alert_assign(alert_id=ids[0], by=people.city_supervisor, assignee=people.changshu_verifier, cross_unit=True)
    for who in ("city_supervisor", "kunshan_supervisor", "changshu_supervisor", "nobody"):
        user = getattr(people, who)
        expected = alerts_visible_to(user).filter(subject_id=subject_id).count()
        assert subject_alert_counts(user, [subject_id]).get(subject_id, 0) == expected, who
    assert subject_alert_counts(people.changshu_supervisor, [subject_id]) == {subject_id: 1}
