"""The alert page shows the alert's tags and its special project; those who may tag edit the tags
there through the API's use case; the all-alerts list filters by tag with the API's filter."""

from __future__ import annotations

import pytest

from screening.services import special_project_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(make_alert, org):
    return make_alert(org_unit=org.kunshan, title="采购预警", tags=["专项", "重点"])


def test_the_page_shows_the_tags_each_linking_to_the_list_of_alerts_with_it(client, people, tagged, make_alert):
    other = make_alert(title="别的预警", tags=["其他"])
    client.force_login(people.kunshan_supervisor)
    page = client.get(f"/alerts/{tagged.pk}/").content.decode()
    assert 'data-testid="alert-tags"' in page and "专项" in page and "/alerts/?tag=" in page
    listed = client.get("/alerts/?tag=专项").content.decode()
    assert f"/alerts/{tagged.pk}/" in listed and f"/alerts/{other.pk}/" not in listed


def test_the_api_list_filters_by_tag_with_the_same_rule(api, people, tagged, make_alert):
    make_alert(tags=["专项组"])  # a longer tag containing the word is another tag
    ids = [r["id"] for r in api(people.kunshan_supervisor).get("/api/v1/alerts/?tag=专项").json()["results"]]
    assert ids == [tagged.pk]
    assert api(people.changshu_supervisor).get("/api/v1/alerts/?tag=专项").json()["count"] == 0  # scope holds


def test_a_supervisor_edits_the_tags_and_sees_a_refusal_on_the_page(client, people, tagged):
    client.force_login(people.kunshan_supervisor)
    r = client.post(f"/alerts/{tagged.pk}/tags/", {"tags-tags": "专项， 复核 ,专项"})
    assert r.status_code == 302
    tagged.refresh_from_db()
    assert tagged.tags == ["专项", "复核"]
    r = client.post(f"/alerts/{tagged.pk}/tags/", {"tags-tags": "长" * 40}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "A tag has at most 32 characters." in r.content.decode()
    tagged.refresh_from_db()
    assert tagged.tags == ["专项", "复核"]


def test_a_verifier_sees_the_tags_but_may_not_edit_them(client, people, tagged):
    client.force_login(people.kunshan_verifier)
    page = client.get(f"/alerts/{tagged.pk}/").content.decode()
    assert "专项" in page and 'data-testid="edit-tags"' not in page
    assert client.post(f"/alerts/{tagged.pk}/tags/", {"tags-tags": "x"}).status_code == 403
    client.force_login(people.changshu_supervisor)  # another county: the alert does not exist for them
    assert client.post(f"/alerts/{tagged.pk}/tags/", {"tags-tags": "x"}).status_code == 404
    tagged.refresh_from_db()
    assert tagged.tags == ["专项", "重点"]


def test_the_special_project_links_to_its_page_only_for_those_who_may_open_it(client, people, org, tagged):
    deployed = special_project_save(by=people.city_supervisor, name="工程招投标专项", lead_unit=org.city,
                                    units=[org.kunshan])
    elsewhere = special_project_save(by=people.city_supervisor, name="常熟专项", lead_unit=org.changshu)
    tagged.details = {"projects": [{"id": deployed.pk, "name": deployed.name},
                                   {"id": elsewhere.pk, "name": elsewhere.name}]}
    tagged.save()
    client.force_login(people.kunshan_supervisor)
    page = client.get(f"/alerts/{tagged.pk}/").content.decode()
    assert f'href="/screening/projects/{deployed.pk}/"' in page
    assert "常熟专项" in page and f"/screening/projects/{elsewhere.pk}/" not in page
    client.force_login(people.city_leader)
    assert f"/screening/projects/{elsewhere.pk}/" in client.get(f"/alerts/{tagged.pk}/").content.decode()


def test_the_page_names_the_rule_that_raised_the_alert_not_its_code(client, people, make_alert, org, source):
    """A business system's indicator once the warehouse named it (its code until then), and a
    screening model by its name."""
    from alerts.models import SourceIndicator
    from tests.factories import SourceSystemFactory

    pushed = make_alert(org_unit=org.kunshan, source=source, rule_code="LAND-07")
    client.force_login(people.kunshan_supervisor)
    assert "LAND-07" in client.get(f"/alerts/{pushed.pk}/").content.decode()  # nobody has named it yet
    SourceIndicator.objects.create(source=source, code="LAND-07", name="违规占用耕地")
    page = client.get(f"/alerts/{pushed.pk}/").content.decode()
    assert "违规占用耕地" in page and "LAND-07" not in page

    from screening.models import ScreeningModel

    model = ScreeningModel.objects.create(code="bid-rigging-ks", name="围标串标模型", org_unit=org.kunshan,
                                          created_by=people.kunshan_supervisor)
    feed = SourceSystemFactory(code="screening-feed", kind="screening", org_unit=org.city)
    raised = make_alert(org_unit=org.kunshan, source=feed, rule_code=model.code)
    page = client.get(f"/alerts/{raised.pk}/").content.decode()
    assert "围标串标模型" in page and "bid-rigging-ks" not in page
