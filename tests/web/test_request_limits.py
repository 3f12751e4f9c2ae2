"""Per-request limits are the same on every face (issue 10): one finding takes at most
MAX_EVIDENCE_FILES files, whether it comes from the verification screen or the API; the
verification screen once stored 60 where the API refused 21."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.evidence import MAX_EVIDENCE_FILES
from cases.models import Evidence, Finding
from cases.services import finding_add
from tests.api.helpers import drive

pytestmark = pytest.mark.django_db

TOO_MANY = f"At most {MAX_EVIDENCE_FILES} files per finding (this one has {MAX_EVIDENCE_FILES + 1}); " \
           "record the rest in another finding."


def notes(n: int) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"记录{i}.txt", f"第{i}页".encode(), content_type="text/plain") for i in range(n)]


@pytest.fixture
def verifying(people, make_alert):
    return drive(make_alert(), "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)


def test_the_verification_screen_refuses_more_files_than_the_limit(client_for, people, verifying):
    page = client_for(people.kunshan_verifier).post(reverse("web:verify", args=[verifying.pk]), {
        "method": "document_review", "text": "调阅材料", "files": notes(MAX_EVIDENCE_FILES + 1),
    })
    assert page.status_code == 400
    assert TOO_MANY in page.content.decode()
    assert Finding.objects.count() == 0 and Evidence.objects.count() == 0


def test_the_screen_counts_photos_and_documents_together(client_for, people, verifying):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    photos = [SimpleUploadedFile(f"p{i}.png", png, content_type="image/png") for i in range(10)]
    page = client_for(people.kunshan_verifier).post(reverse("web:verify", args=[verifying.pk]), {
        "method": "site_visit", "text": "现场", "photos": photos, "files": notes(MAX_EVIDENCE_FILES - 9),
    })
    assert page.status_code == 400 and Finding.objects.count() == 0


def test_the_api_refuses_the_same_with_the_same_words(api, people, verifying):
    r = api(people.kunshan_verifier).post(f"/api/v1/alerts/{verifying.pk}/findings/",
                                          {"text": "调阅材料", "files": notes(MAX_EVIDENCE_FILES + 1)},
                                          format="multipart")
    assert r.status_code == 400 and r.json() == {"files": [TOO_MANY]}
    assert Finding.objects.count() == 0


def test_the_limit_lives_in_the_service(people, verifying):
    with pytest.raises(ValidationError) as caught:
        finding_add(alert_id=verifying.pk, author=people.kunshan_verifier, text="x", method="document_review",
                    files=notes(MAX_EVIDENCE_FILES + 1))
    assert caught.value.message_dict == {"files": [TOO_MANY]}
    finding = finding_add(alert_id=verifying.pk, author=people.kunshan_verifier, text="x",
                          method="document_review", files=notes(MAX_EVIDENCE_FILES))
    assert finding.evidence.count() == MAX_EVIDENCE_FILES
