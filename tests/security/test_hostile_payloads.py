"""Hostile input to intake and uploads: each gets a 4xx and stores nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from alerts.models import Alert
from audit.models import AuditEvent
from cases.models import Evidence, Finding, TimelineEntry
from tests.api.helpers import drive
from tests.conftest import SOURCE_KEY

pytestmark = pytest.mark.django_db
URL = "/api/v1/intake/alerts/"


def good(**overrides):
    body = {"dedup_key": "k", "title": "t", "risk_level": "red", "org_unit": "kunshan"}
    body.update(overrides)
    return body


def deep(n: int) -> object:
    value: object = "x"
    for _ in range(n):
        value = {"a": value}
    return value


HOSTILE_JSON = [
    pytest.param(good(details=deep(100)), id="deep-details"),
    pytest.param([good(dedup_key=str(i)) for i in range(1001)], id="too-many"),
    pytest.param(good(title="x" * 10_000), id="oversized-title"),
    pytest.param(good(dedup_key="k" * 5000), id="oversized-key"),
    pytest.param(good(risk_level=["red"]), id="wrong-type-list"),
    pytest.param(good(amount={"$gt": 0}), id="operator-injection"),
    pytest.param(good(amount="1e400"), id="huge-amount"),
    pytest.param(good(amount="-1"), id="negative-amount"),
    pytest.param(good(org_unit="kunshan' OR '1'='1"), id="sql-injection-unit"),
    pytest.param(good(org_unit="../../etc/passwd"), id="path-traversal-unit"),
    pytest.param(good(subject={"id_number": "110105194912310021"}), id="bad-id-checksum"),
    pytest.param(good(subject={"id_number": "1101051949123100"}), id="short-id"),
    pytest.param(good(subject=12345), id="subject-number"),
    pytest.param(good(details="not an object"), id="details-string"),
    pytest.param(good(occurred_at="2026-13-45T99:00:00"), id="bad-date"),
    pytest.param(good(title=None), id="null-title"),
    pytest.param("just a string", id="string-body"),
    pytest.param(12, id="number-body"),
    pytest.param([], id="empty-list"),
    pytest.param([good(), "x"], id="list-with-garbage"),
    pytest.param(good(details=deep(10), title="t\x00t"), id="nul-in-title"),
]


@pytest.fixture
def feed(api, source):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    return client


@pytest.mark.parametrize("payload", HOSTILE_JSON)
def test_hostile_intake_payloads_are_refused_and_store_nothing(feed, payload):
    r = feed.post(URL, payload, format="json")
    assert 400 <= r.status_code < 500, (r.status_code, r.content[:300])
    assert Alert.objects.count() == 0 and TimelineEntry.objects.count() == 0
    assert not AuditEvent.objects.filter(action="alerts_raised").exists()


@pytest.mark.parametrize(
    "raw",
    [b"{", b"\xff\xfe\x00", b'{"dedup_key": "k", "title": ' + b'"a' * 10 + b"}", b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "not-utf8", "broken-string", "deep-brackets"],
)
def test_malformed_json_is_a_400(feed, raw):
    r = feed.generic("POST", URL, raw, content_type="application/json")
    assert r.status_code == 400 and Alert.objects.count() == 0


def test_html_and_sql_text_is_stored_verbatim_and_returned_as_data(feed, api, people):
    title = "<script>alert(1)</script>'; DROP TABLE alerts_alert; --"
    assert feed.post(URL, good(title=title), format="json").status_code == 201
    body = api(people.kunshan_supervisor).get("/api/v1/alerts/").json()
    assert body["results"][0]["title"] == title
    assert Alert.objects.count() == 1


def test_an_oversized_request_body_is_refused(feed, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    r = feed.post(URL, json.dumps(good(details={"blob": "x" * 20_000})), content_type="application/json")
    assert r.status_code in (400, 413) and Alert.objects.count() == 0


@pytest.fixture
def verifying(people, make_alert):
    return drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("../../../etc/passwd", b"root:x:0:0"),
        ("..\\..\\win.ini", b"[fonts]"),
        ("shell.php.png", b"<?php system($_GET['c']); ?>"),
        ("evil.svg", b"<svg onload=alert(1)>"),
        ("page.html", b"<html><script>alert(1)</script>"),
        ("report.pdf", b"MZ\x90\x00\x03 this is an exe"),
        ("notes.txt", b"\x00\x01\x02 binary"),
    ],
    ids=["traversal", "windows-traversal", "double-extension", "svg", "html", "exe-as-pdf", "binary-txt"],
)
def test_hostile_uploads_are_refused_and_store_nothing(api, people, verifying, name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x", "files": [upload]}, format="multipart"
    )
    assert 400 <= r.status_code < 500, r.content
    assert Finding.objects.count() == 0 and Evidence.objects.count() == 0


@pytest.mark.parametrize("name", ["../../etc/evil.png", "x" * 300 + ".png"])
def test_a_hostile_name_with_valid_content_is_stored_under_a_generated_name(api, people, verifying, name):
    upload = SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    r = api(people.kunshan_verifier).post(
        f"/api/v1/alerts/{verifying.pk}/findings/", {"text": "x", "files": [upload]}, format="multipart"
    )
    assert r.status_code == 201
    stored = Evidence.objects.get()
    assert ".." not in stored.file.name and stored.file.name.startswith(f"evidence/{verifying.pk}/")
    assert len(stored.original_name) <= 255 and "/" not in stored.original_name
