"""预警纠治: a warning referred to the department that owns it; an accepted reply closes it as
self-corrected, a rejected or overdue one sends it back to dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.states import Outcome, Status
from cases.models import Disposition, Referral
from tests.api.helpers import drive, transition_url
from workflow import services as wf
from workflow.referrals import referral_reply_record
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(people, make_alert, org):
    alert = make_alert(org_unit=org.kunshan)
    wf.alert_refer(alert_id=alert.pk, by=people.kunshan_supervisor, department="区城管局", due_days=5,
                   note="请核实后纠正")
    alert.refresh_from_db()
    return alert


def test_an_accepted_reply_closes_the_alert_as_self_corrected(people, referred, api):
    assert referred.status == Status.REFERRED
    referral = Referral.objects.get(alert=referred)
    assert referral.due_date > timezone.localdate()
    sup = api(people.kunshan_supervisor)
    early = sup.post(transition_url(referred, "accept_referral"), {}, format="json")
    assert early.status_code == 409  # nothing to accept before the reply is recorded
    reply = sup.post(f"/api/v1/alerts/{referred.pk}/referral-reply/", {
        "reply": "已责令清运并处罚", "files": [SimpleUploadedFile("整改.txt", "已整改".encode())],
    }, format="multipart")
    assert reply.status_code == 200, reply.content
    assert Referral.objects.get(alert=referred).state == Referral.State.REPLIED
    accepted = sup.post(transition_url(referred, "accept_referral"), {"comment": "整改到位"}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == Status.CLOSED
    assert Disposition.objects.get(alert=referred).outcome == Outcome.SELF_CORRECTED


def test_a_rejected_reply_sends_the_warning_back_to_dispatch(people, referred):
    referral_reply_record(alert_id=referred.pk, by=people.kunshan_supervisor, reply="情况不属实")
    wf.alert_reject_referral(alert_id=referred.pk, by=people.kunshan_supervisor, reason="答复未说明整改")
    referred.refresh_from_db()
    assert referred.status == Status.WARNING
    assert Referral.objects.get(alert=referred).state == Referral.State.REJECTED


def test_an_overdue_referral_goes_back_to_dispatch_once(people, referred):
    later = timezone.now() + timedelta(days=30)
    first = sweep(now=later, deliveries=False)
    second = sweep(now=later, deliveries=False)
    referred.refresh_from_db()
    assert referred.status == Status.WARNING
    assert (first.referrals_returned, second.referrals_returned) == (1, 0)
    assert Referral.objects.get(alert=referred).state == Referral.State.OVERDUE


def test_self_correction_cannot_be_chosen_at_disposal(people, make_alert, api):
    alert = make_alert()
    drive(alert, "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    response = api(people.kunshan_supervisor).post(transition_url(alert, "dispose"),
                                                   {"outcome": "self_corrected"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("body", [{"department": "", "due_days": 5}, {"department": "城管局", "due_days": 0},
                                  {"department": "城管局", "due_days": 61}])
def test_a_bad_referral_is_a_400(people, make_alert, api, body):
    alert = make_alert()
    response = api(people.kunshan_supervisor).post(transition_url(alert, "refer"), body, format="json")
    assert response.status_code == 400
