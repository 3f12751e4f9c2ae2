"""Hostile input to every face gives a 4xx, never a 5xx; the schema says what the API answers."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.parsers import JSONParser

from api.parsers import SafeJSONParser
from audit.models import AuditEvent
from core.ids import parse_id, parse_ids
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make

# Deeper than Python's recursion limit: the plain JSON parser dies with RecursionError.
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("value", ["²", "٣", "１２", "-1", "0", "1.0", " ", "", "1" * 19, "12a", "1\x00", None,
                                   True, 1.5, [1]])
def test_parse_id_accepts_only_short_ascii_digits(value):
    assert parse_id(value) is None


def test_parse_id_reads_ascii_digits_and_ints():
    assert parse_id("42") == 42 and parse_id(" 7 ") == 7 and parse_id(9) == 9
    assert parse_ids(["3", "²", "3", "x", "5"]) == [3, 5]


def test_deeply_nested_json_to_the_token_endpoint_is_a_400(api):
    r = api().post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert r.status_code == 400


def test_deeply_nested_json_to_the_dataset_upload_is_a_400(api, people):
    r = api(people.kunshan_supervisor).post("/api/v1/datasets/", DEEP, content_type="application/json")
    assert r.status_code == 400


def test_the_safe_parser_is_the_only_json_parser_anywhere():
    assert [p for p in settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] if "JSON" in p] == [
        "api.parsers.SafeJSONParser"
    ]
    checked = 0
    for view_class in _api_view_classes(get_resolver().url_patterns):
        checked += 1
        for parser in view_class.parser_classes:
            if issubclass(parser, JSONParser):
                assert parser is SafeJSONParser, view_class
    assert checked > 20


def _api_view_classes(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_view_classes(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            yield pattern.callback.cls


@pytest.mark.parametrize("param", ["assignee", "q"])
def test_a_superscript_digit_in_an_id_filter_is_not_a_500(api, people, make_alert, param):
    make_alert()
    r = api(people.kunshan_supervisor).get("/api/v1/alerts/", {param: "²"})
    assert r.status_code == 200 and r.json()["count"] == 0


def test_a_superscript_digit_in_the_list_screen_search_is_not_a_500(client_for, people, make_alert):
    make_alert()
    assert client_for(people.kunshan_supervisor).get(reverse("web:alert_list"), {"q": "²"}).status_code == 200


def test_a_superscript_digit_in_bulk_dispatch_is_a_form_error_not_a_500(client_for, people, make_alert):
    alert = make_alert()
    r = client_for(people.kunshan_supervisor).post(reverse("web:dispatch_bulk"), {
        "alert_ids": [str(alert.pk), "²"], "action": "assign", "assignee": people.kunshan_verifier.pk,
    }, follow=True)
    assert r.status_code == 200 and r.redirect_chain
    alert.refresh_from_db()
    assert alert.status == "warning"  # nothing half done


def test_a_nul_in_an_export_query_string_is_audited_not_a_500(client_for, people, make_alert):
    make_alert()
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_csv") + "?q=a%00b&x%00=1")
    assert r.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert "\x00" not in json.dumps(event.data) and event.data["filters"]["q"] == "a\ufffdb"


def test_an_unknown_api_path_is_a_json_404(api, people):
    for path in ("/api/v1/no-such-thing/", "/api/v1/alerts/abc/", "/api/v1/alerts/1/nope/"):
        r = api(people.kunshan_supervisor).get(path)
        assert r.status_code == 404 and r["Content-Type"].startswith("application/json"), path
        assert r.json()["code"] == "not_found"


def test_an_unknown_screen_path_is_still_an_html_404(client_for, people):
    r = client_for(people.kunshan_supervisor).get("/no-such-screen/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_comment_and_finding_lists_are_paginated_in_the_schema():
    paths = _schema()["paths"]
    for path, name in (("/api/v1/alerts/{id}/comments/", "PaginatedCommentList"),
                       ("/api/v1/alerts/{id}/findings/", "PaginatedFindingList")):
        ref = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/" + name)


def test_fields_that_can_be_null_are_nullable_in_the_schema():
    schemas = _schema()["components"]["schemas"]
    assert schemas["TimelineEntry"]["properties"]["actor"].get("nullable") is True
    for field in ("origin", "previous_version", "created_by"):
        assert schemas["ScreeningModel"]["properties"][field].get("nullable") is True, field


def test_a_pdf_evidence_file_is_downloaded_as_an_attachment(api, client_for, people, make_alert):
    verifying = drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor,
                      verifier=people.kunshan_verifier)
    pdf = SimpleUploadedFile("报告.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
                             content_type="application/pdf")
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{verifying.pk}/findings/",
                                          {"text": "报告", "method": "document_review", "files": [pdf]},
                                          format="multipart")
    assert r.status_code == 201, r.json()
    evidence_id = r.json()["evidence"][0]["id"]
    for response in (client_for(people.kunshan_supervisor).get(reverse("web:evidence", args=[evidence_id])),
                     api(people.kunshan_supervisor).get(f"/api/v1/evidence/{evidence_id}/download/")):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
