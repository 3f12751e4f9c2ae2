from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Evidence, Finding, TimelineEntry
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def verifying(people, make_alert):
    return drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)


def test_anyone_in_scope_can_comment_at_any_stage_and_it_is_on_the_timeline(api, people, make_alert):
    alert = make_alert()
    r = api(people.city_leader).post(f"/api/v1/alerts/{alert.pk}/comments/", {"text": "请关注"}, format="json")
    assert r.status_code == 201 and r.json()["author"] == "suzhou_leader"
    entry = TimelineEntry.objects.get(alert=alert, kind="comment")
    assert entry.text == "请关注" and entry.actor == people.city_leader
    listed = api(people.kunshan_verifier).get(f"/api/v1/alerts/{alert.pk}/comments/").json()
    assert [c["text"] for c in listed["results"]] == ["请关注"]


def test_an_empty_comment_is_a_400(api, people, make_alert):
    alert = make_alert()
    r = api(people.city_leader).post(f"/api/v1/alerts/{alert.pk}/comments/", {"text": ""}, format="json")
    assert r.status_code == 400 and "text" in r.json()


def test_the_assignee_adds_a_finding_with_files_while_verifying(api, people, verifying):
    files = [SimpleUploadedFile("现场.png", PNG, content_type="image/png"),
             SimpleUploadedFile("note.txt", "核查记录".encode(), content_type="text/plain")]
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/",
        {"text": "现场核实", "method": "site_visit", "files": files}, format="multipart",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["method"] == "site_visit" and len(body["evidence"]) == 2
    stored = Evidence.objects.get(original_name="现场.png")
    assert "现场" not in stored.file.name  # generated names only
    assert TimelineEntry.objects.filter(alert=verifying, kind="finding").count() == 1
    # The file is served only through the scoped download view.
    url = body["evidence"][0]["download_url"]
    got = api(people.city_leader).get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
    assert api(people.changshu_supervisor).get(url).status_code == 404


def test_a_file_whose_content_does_not_match_its_type_stores_nothing(api, people, verifying):
    fake = SimpleUploadedFile("photo.png", b"MZ\x90\x00 not a png", content_type="image/png")
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x", "files": [fake]}, format="multipart"
    )
    assert r.status_code == 400 and "files" in r.json()
    assert Finding.objects.count() == 0 and Evidence.objects.count() == 0


def test_a_disallowed_extension_is_refused(api, people, verifying):
    exe = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x", "files": [exe]}, format="multipart"
    )
    assert r.status_code == 400 and Finding.objects.count() == 0


def test_an_oversized_file_is_refused(api, people, verifying, settings):
    settings.HUOYAN_EVIDENCE_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 4096, content_type="application/pdf")
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x", "files": [big]}, format="multipart"
    )
    assert r.status_code == 400 and Finding.objects.count() == 0


def test_only_the_assignee_adds_findings(api, people, verifying):
    r = api(people.kunshan_supervisor).post(f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x"})
    assert r.status_code == 403


def test_findings_are_refused_outside_verification(api, people, make_alert):
    alert = drive(make_alert(), "assigned", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{alert.pk}/findings/", {"text": "x"})
    assert r.status_code == 409 and Finding.objects.count() == 0


def test_findings_list_shows_evidence_without_a_query_per_row(api, people, verifying, django_assert_max_num_queries):
    for i in range(5):
        api(people.kunshan_verifier).post(
            f"/api/v1/alerts/{verifying.pk}/findings/",
            {"text": f"f{i}", "files": [SimpleUploadedFile(f"{i}.txt", io.BytesIO(b"ok").read())]},
            format="multipart",
        )
    with django_assert_max_num_queries(8):
        r = api(people.kunshan_verifier).get(f"/api/v1/alerts/{verifying.pk}/findings/")
    assert len(r.json()["results"]) == 5


def test_a_single_part_named_file_is_accepted_too(api, people, verifying):
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/",
        {"text": "单个附件", "file": SimpleUploadedFile("a.png", PNG, content_type="image/png")}, format="multipart",
    )
    assert r.status_code == 201 and len(r.json()["evidence"]) == 1
