from __future__ import annotations

import pytest

from alerts.models import SourceSystem
from alerts.sources import source_system_for_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, people, org):
    from accounts.services import user_upsert

    admin = user_upsert(username="root", password="x-pass-123", role="admin", org_unit=org.city, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_pages_open(admin_client_, make_alert):
    alert = make_alert()
    for url in ["/admin/accounts/orgunit/", "/admin/accounts/user/", "/admin/alerts/sourcesystem/",
                "/admin/alerts/alert/", f"/admin/alerts/alert/{alert.pk}/change/", "/admin/cases/timelineentry/"]:
        assert admin_client_.get(url).status_code == 200, url


def test_alert_admin_cannot_change_state(admin_client_, make_alert):
    alert = make_alert()
    r = admin_client_.post(f"/admin/alerts/alert/{alert.pk}/change/", {"status": "closed"})
    alert.refresh_from_db()
    assert alert.status == "warning"
    assert r.status_code in (200, 302, 403)


def test_creating_a_source_system_in_the_admin_shows_a_working_key_once(admin_client_, org):
    r = admin_client_.post("/admin/alerts/sourcesystem/add/", {
        "code": "tax", "name": "税务系统", "kind": "business", "org_unit": org.kunshan.pk, "is_active": "on",
    }, follow=True)
    assert r.status_code == 200
    text = r.content.decode()
    key = text.split("hy_", 1)[1].split("<", 1)[0].split()[0]
    assert source_system_for_key(f"hy_{key}") == SourceSystem.objects.get(code="tax")
