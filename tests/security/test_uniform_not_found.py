"""Another county's object and a missing one answer the same 404 with the same words."""

from __future__ import annotations

import pytest

from tests.api.helpers import drive

pytestmark = pytest.mark.django_db


def test_another_countys_extension_and_a_missing_one_read_the_same(api, people, make_alert, org):
    from workflow.extensions import extension_request

    alert = drive(make_alert(org_unit=org.kunshan), "verifying", supervisor=people.kunshan_supervisor,
                  verifier=people.kunshan_verifier)
    ext = extension_request(alert_id=alert.pk, by=people.kunshan_verifier, days=3, reason="材料多")
    theirs = api(people.changshu_supervisor).post(f"/api/v1/extensions/{ext.pk}/approve/", {}, format="json")
    missing = api(people.changshu_supervisor).post("/api/v1/extensions/999999/approve/", {}, format="json")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
