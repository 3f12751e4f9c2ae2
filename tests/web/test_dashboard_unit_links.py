"""Each row of the dashboard's unit table drills down to that unit only."""

from __future__ import annotations

import pytest

from alerts.models import Alert

pytestmark = pytest.mark.django_db


def test_the_dashboards_own_unit_row_links_to_that_unit_only(client, people, make_alert, org):
    make_alert(org_unit=org.city)
    make_alert(org_unit=org.kunshan)
    client.force_login(people.city_leader)
    html = client.get("/dashboard/").content.decode()
    assert "unit=suzhou&amp;unit_only=1" in html or "unit_only=1&amp;unit=suzhou" in html
    listed = client.get("/alerts/?unit=suzhou&unit_only=1").content.decode()
    assert listed.count('href="/alerts/') >= 1
    from web.filters import AlertFilterForm

    form = AlertFilterForm({"unit": "suzhou", "unit_only": "1"}, user=people.city_leader)
    assert list(form.filter(Alert.objects.all()).values_list("org_unit__code", flat=True)) == ["suzhou"]
