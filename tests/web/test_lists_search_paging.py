"""The long lists at scale (issue 16): a search index that serves two Chinese characters, keyset
paging that neither skips nor repeats a row (ties on the sort key, rows inserted meanwhile), a
count that stops at 10,000 — on the screens and in the API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from alerts.models import Alert
from alerts.search import alerts_search
from alerts.states import Status
from core import paging
from core.paging import keyset_page

pytestmark = pytest.mark.django_db


def _ids(client, url: str, params: dict) -> tuple[list[int], object]:
    r = client.get(url, params)
    assert r.status_code == 200
    page = r.context["page"]
    return [a.pk for a in page], page


# ----- search -----


@pytest.fixture
def chem(make_alert, org):
    return {
        "title": make_alert(title="某化工企业违规排放", subject_name="张三"),
        "subject": make_alert(title="排污许可证过期", subject_name="苏州化工有限公司"),
        "lower": make_alert(title="abc Chemical 重复申报", subject_name="李四"),
        "apart": make_alert(title="化肥补贴与工程款", subject_name="王五"),  # 化 and 工, never 化工
        "other_county": make_alert(title="化工园区巡查", subject_name="赵六", org_unit=org.changshu),
    }


def test_two_chinese_characters_are_found_in_title_and_subject(client_for, people, chem):
    ids, _page = _ids(client_for(people.kunshan_supervisor), "/alerts/", {"q": "化工"})
    assert sorted(ids) == sorted([chem["title"].pk, chem["subject"].pk])


def test_one_character_and_case_insensitive_latin(client_for, people, chem):
    client = client_for(people.kunshan_supervisor)
    assert chem["apart"].pk in _ids(client, "/alerts/", {"q": "肥"})[0]
    assert _ids(client, "/alerts/", {"q": "CHEMICAL"})[0] == [chem["lower"].pk]
    assert _ids(client, "/alerts/", {"q": "chemical 重复"})[0] == [chem["lower"].pk]


def test_search_stays_in_scope(client_for, people, chem):
    county = _ids(client_for(people.kunshan_supervisor), "/alerts/", {"q": "化工园区"})[0]
    city = _ids(client_for(people.city_supervisor), "/alerts/", {"q": "化工园区"})[0]
    assert county == [] and city == [chem["other_county"].pk]


def test_the_screen_also_finds_the_rule_code_and_the_number(client_for, people, make_alert):
    alert = make_alert(title="无关", subject_name="无关", rule_code="chem-001")
    client = client_for(people.kunshan_supervisor)
    assert _ids(client, "/alerts/", {"q": "CHEM-0"})[0] == [alert.pk]
    assert alert.pk in _ids(client, "/alerts/", {"q": str(alert.pk)})[0]


def test_a_credit_code_is_found_whole_and_only_whole(client_for, people, make_alert):
    alert = make_alert(title="无关", subject_name="某公司", subject_credit_code="91320500MA1AAAAA1A")
    client = client_for(people.kunshan_supervisor)
    assert _ids(client, "/alerts/", {"q": "91320500ma1aaaaa1a"})[0] == [alert.pk]
    assert _ids(client, "/alerts/", {"q": "91320500MA1"})[0] == []


def test_the_index_serves_the_search_on_postgresql(people, chem):
    """The token condition is written exactly like the index's expression: with sequential
    scans priced out, the plan reads the index."""
    qs = alerts_search(Alert.objects.all(), "化工", user=people.city_leader)
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "alert_search_tokens_idx" in plan, plan


def test_the_unindexed_form_finds_the_same_rows(people, chem, make_alert):
    make_alert(title="身份证320583199001011234 化工", subject_name="x")
    make_alert(title="信用", subject_name="x", subject_credit_code="91320500MA1AAAAA1A", rule_code="m-3205")
    for q in ("化工", "肥", "CHEMICAL", "3205", "1234", "320583199001011234", "3205**********1234",
              "91320500MA1AAAAA1A", "M-32"):
        with_index = alerts_search(Alert.objects.all(), q, user=people.city_leader, rule_code=True)
        without = alerts_search(Alert.objects.all(), q, user=people.city_leader, rule_code=True, indexed=False)
        assert sorted(with_index.values_list("pk", flat=True)) == sorted(without.values_list("pk", flat=True)), q


def test_masked_digits_are_never_matched_through_the_index(client_for, people, make_alert):
    alert = make_alert(title="身份证320583199001011234的人员", subject_name="电话13912345678")
    client = client_for(people.city_leader)
    for hidden in ("83199", "19900101", "0583", "391234", "1234567"):
        assert alert.pk not in _ids(client, "/alerts/", {"q": hidden})[0], hidden
    assert alert.pk in _ids(client, "/alerts/", {"q": "3205"})[0]
    assert alert.pk in _ids(client, "/alerts/", {"q": "139****5678"})[0]


# ----- keyset paging -----


def _walk(fetch, first: dict) -> tuple[list[int], list[int]]:
    """Follow "next" from the first page to the end, then "previous" back to the start."""
    forward, pages = [], []
    ids, page = fetch(first)
    forward += ids
    pages.append(page)
    while page.has_next:
        ids, page = fetch({**first, "page": page.next_page_number(), "after": page.next_cursor})
        forward += ids
        pages.append(page)
    backward = list(reversed([a.pk for a in page]))
    while page.has_previous:
        ids, page = fetch({**first, "page": page.previous_page_number(), "before": page.previous_cursor})
        backward += list(reversed(ids))
    return forward, list(reversed(backward))


@pytest.fixture
def tied(make_alert, org):
    """40 alerts over three creation times only: the sort key ties across every page boundary."""
    alerts = [make_alert(title=f"并列 {i}", subject_name="x") for i in range(40)]
    base = timezone.now() - timedelta(days=1)
    for i, a in enumerate(alerts):
        Alert.objects.filter(pk=a.pk).update(created_at=base + timedelta(minutes=i % 3))
    return alerts


@pytest.mark.parametrize("one_step_rows", [1000, 0], ids=["one query", "ids first"])
def test_next_and_previous_neither_skip_nor_repeat_a_row_among_ties(client_for, people, tied, monkeypatch,
                                                                     one_step_rows):
    monkeypatch.setattr(paging, "ONE_STEP_ROWS", one_step_rows)
    client = client_for(people.kunshan_supervisor)
    expected = list(Alert.objects.filter(title__startswith="并列").order_by("-created_at", "-id")
                    .values_list("pk", flat=True))
    forward, backward = _walk(lambda p: _ids(client, "/alerts/", {"q": "并列", **p}), {"q": "并列"})
    assert forward == expected
    assert backward == expected


@pytest.mark.parametrize("one_step_rows", [1000, 0], ids=["one query", "ids first"])
def test_rows_inserted_meanwhile_shift_no_row_onto_two_pages(client_for, people, tied, make_alert, monkeypatch,
                                                            one_step_rows):
    monkeypatch.setattr(paging, "ONE_STEP_ROWS", one_step_rows)
    client = client_for(people.kunshan_supervisor)
    before = list(Alert.objects.filter(title__startswith="并列").order_by("-created_at", "-id")
                  .values_list("pk", flat=True))
    ids, page = _ids(client, "/alerts/", {"q": "并列"})
    seen = list(ids)
    boundary = Alert.objects.get(pk=ids[-1]).created_at
    while page.has_next:
        # Newer alerts, and ones tied with the last row shown, arrive between two clicks.
        for _ in range(3):
            new = make_alert(title="并列 新", subject_name="x")
            Alert.objects.filter(pk=new.pk).update(created_at=boundary)
            make_alert(title="并列 更新", subject_name="x")
        ids, page = _ids(client, "/alerts/", {"q": "并列", "page": page.next_page_number(),
                                              "after": page.next_cursor})
        seen += ids
        if ids:
            boundary = Alert.objects.get(pk=ids[-1]).created_at
    old = [i for i in seen if i in set(before)]
    assert old == before  # every row there at the start, once, in order
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("one_step_rows", [1000, 0], ids=["one query", "ids first"])
def test_nullable_keys_sort_last_and_page_both_ways(people, make_alert, monkeypatch, one_step_rows):
    """The deadline boards' order: due first, alerts without a deadline last, ties on both."""
    monkeypatch.setattr(paging, "ONE_STEP_ROWS", one_step_rows)
    due = timezone.now() + timedelta(days=2)
    for i in range(23):
        a = make_alert(title=f"期限 {i}", subject_name="x")
        Alert.objects.filter(pk=a.pk).update(due_at=None if i % 3 == 0 else due + timedelta(hours=i % 2))
    qs = Alert.objects.filter(title__startswith="期限")
    order = ("due_at", "risk_rank", "stage_entered_at", "id")
    expected = [a.pk for a in sorted(qs, key=lambda a: (a.due_at is None, a.due_at or due, a.risk_rank,
                                                         a.stage_entered_at, a.pk))]

    def fetch(p: dict):
        page = keyset_page(qs, order=order, size=4, page=p.get("page"), after=p.get("after", ""),
                           before=p.get("before", ""))
        return [a.pk for a in page], page

    forward, backward = _walk(fetch, {})
    assert forward == expected and backward == expected


def test_a_page_number_still_works_and_a_bad_cursor_is_ignored(client_for, people, tied):
    client = client_for(people.kunshan_supervisor)
    expected = list(Alert.objects.filter(title__startswith="并列").order_by("-created_at", "-id")
                    .values_list("pk", flat=True))
    assert _ids(client, "/alerts/", {"q": "并列", "page": "2"})[0] == expected[25:]
    assert _ids(client, "/alerts/", {"q": "并列", "page": "99"})[0] == expected[25:]  # clamped
    assert _ids(client, "/alerts/", {"q": "并列", "after": "not-a-cursor"})[0] == expected[:25]
    assert _ids(client, "/alerts/", {"q": "并列", "after": "WyJ4IiwiMSJd"})[0] == expected[:25]


@pytest.mark.parametrize("url", ["/dispatch/", "/alerts/?state=open"])
def test_the_boards_page_by_cursor_too(client_for, people, make_alert, url):
    for i in range(30):
        make_alert(title=f"待派 {i}", subject_name="x")
    client = client_for(people.kunshan_supervisor)
    path, _, query = url.partition("?")
    params = dict(p.split("=") for p in query.split("&") if p)
    forward, backward = _walk(lambda p: _ids(client, path, {**params, **p}), params)
    assert len(forward) == len(set(forward)) == Alert.objects.filter(status=Status.WARNING).count()
    assert backward == forward


# ----- the capped count -----


def test_the_count_stops_at_the_cap_in_both_languages(client_for, people, make_alert, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    monkeypatch.setattr(paging, "ONE_STEP_ROWS", 0)
    for i in range(8):
        make_alert(title=f"很多 {i}", subject_name="x")
    client = client_for(people.kunshan_supervisor)
    for lang, text in (("zh-hans", "第 1 页 · 5+ 条预警"), ("en", "Page 1 · 5+ alerts")):
        with override(lang):
            r = client.get("/alerts/", {"q": "很多"}, HTTP_ACCEPT_LANGUAGE=lang)
        client.cookies.pop("django_language", None)
        html = r.content.decode()
        assert text in html, (lang, html[html.find('data-testid="page-count"'):][:200])
        assert r.context["page"].count_capped
        # More than the cap: read without the index condition, the same rows in the same order.
        assert [a.pk for a in r.context["page"]] == list(
            Alert.objects.filter(title__startswith="很多").order_by("-created_at", "-id").values_list("pk", flat=True))
    # Below the cap the exact count, as before.
    r = client.get("/alerts/", {"q": "很多 1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Page 1 of 1 · 1 alert" in r.content.decode()


def test_the_count_query_stops_at_the_cap(people, make_alert, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    for i in range(6):
        make_alert(title=f"计数 {i}", subject_name="x")
    page = keyset_page(Alert.objects.filter(title__startswith="计数"), order=("-created_at", "-id"), size=2)
    assert (page.count, page.count_capped, page.paginator.num_pages) == (3, True, None)


# ----- the API shares it -----


def test_the_api_pages_by_cursor_and_keeps_page_numbers(api, people, tied):
    client = api(people.kunshan_supervisor)
    expected = list(Alert.objects.filter(title__startswith="并列").order_by("-created_at", "-id")
                    .values_list("pk", flat=True))
    r = client.get("/api/v1/alerts/", {"q": "并列", "page_size": 15, "page": 2}).json()
    assert r["count"] == 40 and [a["id"] for a in r["results"]] == expected[15:30]
    seen, url = [], "/api/v1/alerts/?q=%E5%B9%B6%E5%88%97&page_size=15&cursor="
    while url:
        body = client.get(url).json()
        seen += [a["id"] for a in body["results"]]
        url = body["next"]
    assert seen == expected
    assert body["count"] == 40 and body["count_capped"] is False
    back = client.get(body["previous"]).json()
    assert [a["id"] for a in back["results"]] == expected[15:30]
    assert client.get("/api/v1/alerts/", {"cursor": "garbage!"}).status_code == 400


def test_the_api_finds_the_same_rows_past_the_cap(api, people, make_alert, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    for i in range(6):
        make_alert(title=f"化工 {i}", subject_name="x")
    make_alert(title="无关", subject_name="x")
    expected = list(Alert.objects.filter(title__startswith="化工").order_by("-created_at", "-id")
                    .values_list("pk", flat=True))
    client = api(people.kunshan_supervisor)
    r = client.get("/api/v1/alerts/", {"q": "化工"}).json()
    assert r["count"] == 6 and [a["id"] for a in r["results"]] == expected  # page mode: the exact count
    r = client.get("/api/v1/alerts/", {"q": "化工", "cursor": ""}).json()
    assert (r["count"], r["count_capped"]) == (3, True) and [a["id"] for a in r["results"]] == expected
