"""The API and the screens run the same use case, so they cannot drift apart: full personal data
is audited the same way on both, and evidence downloads carry the same headers on both."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from cases.services import comment_add, finding_add
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


def _pii_views(alert) -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.PII_VIEW, object_id=str(alert.pk)).count()


def test_a_phone_number_in_a_comment_is_audited_on_the_detail_page_as_by_the_api(client, api, people, make_alert):
    alert = make_alert(title="虚报冒领补贴", subject_id_number="", details={})
    comment_add(alert_id=alert.pk, author=people.kunshan_supervisor, text=f"举报人电话{PHONE}")
    supervisor = people.kunshan_supervisor

    response = api(supervisor).get(f"/api/v1/alerts/{alert.pk}/comments/")
    assert PHONE in response.content.decode()
    assert _pii_views(alert) == 1

    client.force_login(supervisor)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert PHONE in html
    assert _pii_views(alert) == 2, "the screen showed the full number without a pii_view audit entry"


def test_nothing_personal_shown_means_nothing_audited_on_either_face(client, api, people, make_alert):
    alert = make_alert(title="虚报冒领补贴", subject_id_number="", details={})
    comment_add(alert_id=alert.pk, author=people.kunshan_supervisor, text="请尽快核查")
    api(people.kunshan_supervisor).get(f"/api/v1/alerts/{alert.pk}/")
    client.force_login(people.kunshan_supervisor)
    client.get(f"/alerts/{alert.pk}/")
    assert _pii_views(alert) == 0


def test_a_leader_sees_the_comment_masked_and_nothing_is_audited(client, people, make_alert):
    alert = make_alert(title="虚报冒领补贴", subject_id_number="", details={})
    comment_add(alert_id=alert.pk, author=people.kunshan_supervisor, text=f"举报人电话{PHONE}")
    client.force_login(people.city_leader)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert PHONE not in html and "139****5678" in html
    assert _pii_views(alert) == 0


@pytest.fixture
def evidence(people, make_alert):
    alert = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    finding = finding_add(
        alert_id=alert.pk, author=people.kunshan_verifier, text="走访记录", method="site_visit",
        files=[SimpleUploadedFile("记录.pdf", b"%PDF-1.4\n%fake\n", content_type="application/pdf")],
    )
    return finding.evidence.get()


@pytest.mark.parametrize("face", ["api", "screen"])
def test_evidence_downloads_are_private_unsniffed_attachments_on_both_faces(client, api, people, evidence, face):
    if face == "api":
        response = api(people.kunshan_supervisor).get(f"/api/v1/evidence/{evidence.pk}/download/")
    else:
        client.force_login(people.kunshan_supervisor)
        response = client.get(f"/evidence/{evidence.pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize("face", ["api", "screen"])
def test_another_countys_evidence_is_a_404_on_both_faces(client, api, people, evidence, face):
    if face == "api":
        status = api(people.changshu_supervisor).get(f"/api/v1/evidence/{evidence.pk}/download/").status_code
    else:
        client.force_login(people.changshu_supervisor)
        status = client.get(f"/evidence/{evidence.pk}/").status_code
    assert status == 404
