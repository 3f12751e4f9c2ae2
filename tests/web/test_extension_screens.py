"""Extension requests and rectification feedback through the screens (needs the deadlines work)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from workflow.services import alert_accept, alert_assign

pytest.importorskip("workflow.extensions")
Extension = pytest.importorskip("workflow.models").Extension


@pytest.fixture
def verifying(people, make_alert):
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    type(alert).objects.filter(pk=alert.pk).update(due_at=timezone.now() + timedelta(days=5))
    return alert


def test_the_assignee_requests_an_extension_and_a_supervisor_approves_it(people, verifying, client_for):
    ver = client_for(people.kunshan_verifier)
    page = ver.get(reverse("web:verify", args=[verifying.pk])).content.decode()
    assert 'data-testid="request-extension"' in page
    r = ver.post(reverse("web:extension_request", args=[verifying.pk]),
                 {"ext-days": "3", "ext-reason": "需调取银行流水"})
    assert r.status_code == 302
    ext = Extension.objects.get(alert=verifying)
    assert ext.state == Extension.State.REQUESTED

    sup = client_for(people.kunshan_supervisor)
    assert f'data-extension="{ext.pk}"' in sup.get(reverse("web:extensions")).content.decode()
    assert client_for(people.kunshan_verifier).get(reverse("web:extensions")).status_code == 403
    assert ver.post(reverse("web:extension_decide", args=[ext.pk]), {"decision": "approve"}).status_code == 403
    r = sup.post(reverse("web:extension_decide", args=[ext.pk]), {"decision": "approve", "note": "同意"})
    assert r.status_code == 302
    ext.refresh_from_db()
    assert ext.state == Extension.State.APPROVED


def test_another_county_cannot_decide_an_extension(people, verifying, client_for):
    client_for(people.kunshan_verifier).post(
        reverse("web:extension_request", args=[verifying.pk]), {"ext-days": "2", "ext-reason": "r"}
    )
    ext = Extension.objects.get(alert=verifying)
    r = client_for(people.changshu_supervisor).post(reverse("web:extension_decide", args=[ext.pk]),
                                                    {"decision": "approve"})
    assert r.status_code == 404
    assert f'data-extension="{ext.pk}"' not in client_for(people.changshu_supervisor).get(
        reverse("web:extensions")).content.decode()
