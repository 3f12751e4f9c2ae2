"""Subject files: one company or person, every source; an ID number found only whole."""

from __future__ import annotations

import pytest

from alerts.models import Alert, SourceSystem, Subject
from alerts.selectors import related_alerts
from alerts.subjects import subjects_search
from audit.models import AuditEvent
from core.names import normalize_name
from tests.factories import SourceSystemFactory
from workflow.intake import IntakeItem, alerts_ingest

pytestmark = pytest.mark.django_db
CODE = "91320583MA1XYZ1234"
ID = "320583199001011234"


def _raise(source, unit, key, **subject):
    return alerts_ingest(source=source, items=[IntakeItem(
        dedup_key=key, title="建筑垃圾违规倾倒", risk_level="orange", org_unit=unit, **subject,
    )])[0].id


@pytest.fixture
def feeds(org):
    business = [SourceSystemFactory(code=f"biz{i}", org_unit=org.city) for i in (1, 2)]
    models = [SourceSystemFactory(code="screening-kunshan", org_unit=org.city, kind=SourceSystem.Kind.SCREENING)]
    return business, models[0]


def test_two_sources_and_three_models_on_one_company_make_one_subject_with_four_related_alerts(org, people, feeds):
    business, screening = feeds
    ids = [
        _raise(business[0], org.kunshan, "b1", subject_name="某某建设有限公司", subject_credit_code=CODE),
        _raise(business[1], org.kunshan, "b2", subject_name="某某建设有限公司（昆山分公司）",
               subject_credit_code=CODE.lower()),
        *[
            alerts_ingest(source=screening, items=[IntakeItem(
                dedup_key=f"m{i}", title="模型命中", risk_level="red", org_unit=org.kunshan, rule=f"MODEL-{i}",
                subject_name="某某建设", subject_credit_code=CODE,
            )])[0].id
            for i in (1, 2, 3)
        ],
    ]
    assert Subject.objects.count() == 1
    subject = Subject.objects.get()
    assert subject.kind == Subject.Kind.COMPANY and subject.credit_code == CODE
    assert set(Alert.objects.filter(pk__in=ids).values_list("subject_id", flat=True)) == {subject.pk}
    first = Alert.objects.get(pk=ids[0])
    assert {a.pk for a in related_alerts(people.kunshan_supervisor, first)} == set(ids[1:])


def test_without_a_code_a_name_is_a_subject_within_its_unit_only(org, feeds):
    business, _ = feeds
    a = _raise(business[0], org.kunshan, "n1", subject_name="某某物流有限公司")
    b = _raise(business[0], org.kunshan, "n2", subject_name="某某物流（项目部）")
    c = _raise(business[0], org.changshu, "n3", subject_name="某某物流有限公司")
    subjects = dict(Alert.objects.filter(pk__in=[a, b, c]).values_list("pk", "subject_id"))
    assert subjects[a] == subjects[b] != subjects[c]
    assert normalize_name("ＡＢＣ（苏州）有限责任公司") == "abc"


def test_a_batch_links_its_subjects_without_a_query_per_alert(org, feeds, django_assert_max_num_queries):
    business, _ = feeds
    items = [IntakeItem(dedup_key=f"k{i}", title="t", risk_level="blue", org_unit=org.kunshan,
                        subject_name=f"公司{i % 7}", subject_credit_code=f"9132{i % 7:014d}") for i in range(200)]
    # 13: one of them is the dashboard rollups' upsert (one statement per batch).
    with django_assert_max_num_queries(13):
        alerts_ingest(source=business[0], items=items)
    assert Subject.objects.count() == 7


def test_an_id_number_matches_only_whole_and_the_search_is_audited(org, people, feeds):
    business, _ = feeds
    _raise(business[0], org.kunshan, "p1", subject_name="李四", subject_id_number=ID)
    user = people.kunshan_supervisor
    assert subjects_search(user=user, q=ID).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PII_VIEW, object_type="subject").count() == 1
    # The attack: rebuilding a masked number one digit at a time finds nothing at any length.
    for n in range(6, 18):
        assert subjects_search(user=user, q=ID[:n]).count() == 0, n
    assert subjects_search(user=user, q=ID[-4:]).count() == 0


def test_a_name_search_never_matches_inside_a_phone_number(org, people, feeds):
    business, _ = feeds
    _raise(business[0], org.kunshan, "ph", subject_name="李四 13912345678")
    user = people.kunshan_supervisor
    assert subjects_search(user=user, q="李四").count() == 1
    assert subjects_search(user=user, q="1391234").count() == 0
    assert subjects_search(user=user, q="李四 139").count() == 0


def test_the_subject_file_shows_only_the_readers_scope(org, people, feeds, api):
    business, _ = feeds
    _raise(business[0], org.kunshan, "s1", subject_name="某某建设", subject_credit_code=CODE)
    _raise(business[0], org.changshu, "s2", subject_name="某某建设", subject_credit_code=CODE)
    subject = Subject.objects.get()
    city = api(people.city_leader).get(f"/api/v1/subjects/{subject.pk}/").json()
    assert city["totals"]["alerts"] == 2
    kunshan = api(people.kunshan_leader).get(f"/api/v1/subjects/{subject.pk}/").json()
    assert kunshan["totals"]["alerts"] == 1
    assert {a["org_unit"] for a in kunshan["alerts"]} == {"kunshan"}
    # A subject with nothing in your scope does not exist for you.
    other = Subject.objects.create(key="company:OTHER", kind="company", name="别处公司", credit_code="OTHER")
    assert api(people.kunshan_leader).get(f"/api/v1/subjects/{other.pk}/").status_code == 404
    listed = api(people.kunshan_leader).get("/api/v1/subjects/", {"q": "某某"}).json()
    assert [s["id"] for s in listed["results"]] == [subject.pk]


def test_the_subject_file_masks_an_id_number_for_a_leader(org, people, feeds, api, client):
    business, _ = feeds
    _raise(business[0], org.kunshan, "p2", subject_name="张三", subject_id_number=ID)
    subject = Subject.objects.get()
    body = api(people.kunshan_leader).get(f"/api/v1/subjects/{subject.pk}/").content.decode()
    assert ID not in body
    client.force_login(people.kunshan_leader)
    html = client.get(f"/subjects/{subject.pk}/").content.decode()
    assert ID not in html and "张三" in html


def test_every_alert_of_a_subject_is_a_page_away(org, people, feeds, api):
    business, _ = feeds
    for i in range(3):
        _raise(business[0], org.kunshan, f"pg{i}", subject_name="某某建设", subject_credit_code=CODE)
    subject = Subject.objects.get()
    page = api(people.kunshan_leader).get(f"/api/v1/subjects/{subject.pk}/alerts/", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_a_supervisor_sees_the_full_id_on_the_file_audited_and_masked_in_the_list(org, people, feeds, api):
    business, _ = feeds
    _raise(business[0], org.kunshan, "p3", subject_name="王五", subject_id_number=ID)
    subject = Subject.objects.get()
    sup = api(people.kunshan_supervisor)
    assert ID not in sup.get("/api/v1/subjects/", {"q": "王五"}).content.decode()
    before = AuditEvent.objects.filter(action=AuditEvent.Action.PII_VIEW, object_type="subject").count()
    assert ID in sup.get(f"/api/v1/subjects/{subject.pk}/").content.decode()
    after = AuditEvent.objects.filter(action=AuditEvent.Action.PII_VIEW, object_type="subject").count()
    assert after == before + 1
