"""Every text of every object, with ID and phone numbers planted in it, read through every API
endpoint and every screen by each role that must see them masked: no full number comes out.

The planted text uses every way people write the numbers (bare, separated, +86, full-width) and
sits in the alert's title, subject, details (keys too) and dedup key, the dispatch note, the
return reason, comments, findings, evidence file names, extension reasons and decisions,
the verification summary, the disposition note, notices and rectification orders (recipient,
text, feedback), the evaluation comment, a dismissal note, notifications and screening hits.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.models import Subject
from alerts.states import ActionKind, Conclusion, DismissReason, Outcome
from cases.models import Evidence, ResultAction
from cases.services import comment_add, finding_add
from screening.models import RunStatus, ScreeningHit, ScreeningModel, ScreeningRun
from workflow import services as wf
from workflow.extensions import extension_approve, extension_request
from workflow.ledger import feedback_accept, rectification_feedback_record
from workflow.models import Notification

pytestmark = pytest.mark.django_db

ID = "320583199001011234"
OLD_ID = "320583900101123"
PHONES = ("13912345678", "139-8765-4321", "137 2468 1357", "+86 135-1111-2222", "１３６１２３４５６７８")
PLANT = f"李四 身份证{ID} 旧证{OLD_ID} 电话" + " / ".join(PHONES)
# Nothing of these may reach a reader who must see masked values.
FULL_NUMBERS = (ID, OLD_ID, *PHONES, "135-1111-2222", "13511112222", "13987654321", "13724681357")


@dataclass
class World:
    alert: object
    dismissed: object
    order: ResultAction
    notice: ResultAction
    evidence: Evidence
    run: ScreeningRun
    subject: Subject


@pytest.fixture
def world(people, make_alert, org) -> World:
    sup, ver, leader = people.kunshan_supervisor, people.kunshan_verifier, people.kunshan_leader
    subject = Subject.objects.create(key=f"person:{ID}", kind=Subject.Kind.PERSON, name=PLANT, id_number=ID)
    alert = make_alert(
        title=f"预警 {PLANT}", subject_name=PLANT, subject_id_number=ID, dedup_key=f"key-{ID}", subject=subject,
        details={f"联系人{PHONES[1]}": PLANT, "身份证": ID, "电话": int(PHONES[0]), "nested": {PLANT: [PLANT]}},
    )
    wf.alert_assign(alert_id=alert.pk, by=sup, assignee=ver, note=PLANT)
    wf.alert_return(alert_id=alert.pk, by=ver, reason=PLANT)
    wf.alert_assign(alert_id=alert.pk, by=sup, assignee=ver, note=PLANT)
    wf.alert_accept(alert_id=alert.pk, by=ver)
    comment_add(alert_id=alert.pk, author=people.kunshan_leader, text=PLANT)
    finding = finding_add(
        alert_id=alert.pk, author=ver, text=PLANT, method="document_review",
        files=[SimpleUploadedFile(f"户籍证明_{ID}.txt", b"household register\n", content_type="text/plain")],
    )
    ext = extension_request(alert_id=alert.pk, by=ver, days=2, reason=PLANT)
    extension_approve(extension_id=ext.pk, by=sup, note=PLANT)
    wf.alert_submit_verification(alert_id=alert.pk, by=ver, conclusion=Conclusion.SUBSTANTIATED, summary=PLANT)
    wf.alert_dispose(alert_id=alert.pk, by=sup, outcome=Outcome.FORM_1, note=PLANT)
    wf.alert_apply_results(alert_id=alert.pk, by=sup, actions=[
        wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient=PLANT, text=PLANT,
                       due_date=date.today() + timedelta(days=30)),
        wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient=PLANT, text=PLANT),
    ])
    order = ResultAction.objects.get(alert=alert, kind=ActionKind.RECTIFICATION_ORDER)
    rectification_feedback_record(order_id=order.pk, by=sup, feedback=PLANT)
    feedback_accept(order_id=order.pk, by=sup, note=PLANT)
    wf.alert_send_back(alert_id=alert.pk, by=leader, stage="applying", reason=PLANT)
    wf.alert_apply_results(alert_id=alert.pk, by=sup, actions=[
        wf.ActionInput(kind=ActionKind.INTEGRITY_NOTICE, recipient=PLANT, text=PLANT)])
    wf.alert_close(alert_id=alert.pk, by=leader, score=4, comment=PLANT)

    dismissed = make_alert(title=f"另一预警 {PLANT}", subject_name=PLANT)
    wf.alert_dismiss(alert_id=dismissed.pk, by=sup, reason=DismissReason.DUPLICATE, note=PLANT)

    # Notifications as a careless writer would store them (the write path masks; the read must too).
    for user in (people.city_leader, people.kunshan_leader, people.kunshan_verifier2):
        Notification.objects.create(recipient=user, alert=alert, kind=Notification.Kind.OVERDUE,
                                    title=PLANT[:255], body=PLANT, created_at=timezone.now())
    model = ScreeningModel.objects.create(code="pii-model", name="模型", org_unit=org.kunshan, spec={})
    run = ScreeningRun.objects.create(model=model, status=RunStatus.SUCCEEDED, hit_count=1)
    ScreeningHit.objects.create(run=run, title=PLANT, subject=PLANT, risk_level="orange",
                                rows=[{PLANT: PLANT, "电话": PHONES[0]}], metrics={PLANT: 1}, alert=alert)
    return World(alert=alert, dismissed=dismissed, order=order, subject=subject,
                 notice=ResultAction.objects.get(alert=alert, kind=ActionKind.WORK_NOTICE),
                 evidence=Evidence.objects.get(finding=finding), run=run)


API = {
    "alert list": "/api/v1/alerts/",
    "alert list, closed": "/api/v1/alerts/?status=closed",
    "alert detail": "/api/v1/alerts/{alert}/",
    "dismissed alert": "/api/v1/alerts/{dismissed}/",
    "timeline": "/api/v1/alerts/{alert}/timeline/",
    "dismissed timeline": "/api/v1/alerts/{dismissed}/timeline/",
    "comments": "/api/v1/alerts/{alert}/comments/",
    "findings": "/api/v1/alerts/{alert}/findings/",
    "extensions": "/api/v1/alerts/{alert}/extensions/",
    "evidence download": "/api/v1/evidence/{evidence}/download/",
    "rectification orders": "/api/v1/rectification-orders/",
    "notifications": "/api/v1/notifications/",
    "screening hits": "/api/v1/screening-runs/{run}/hits/",
    "subject files": "/api/v1/subjects/",
    "subject file": "/api/v1/subjects/{subject}/",
}
PAGES = {
    "alert list": "/alerts/",
    "alert list, closed": "/alerts/?state=closed",
    "alert detail": "/alerts/{alert}/",
    "dismissed alert": "/alerts/{dismissed}/",
    "verification screen": "/alerts/{alert}/verify/",
    "printable order": "/notices/{order}/",
    "printable notice": "/notices/{notice}/",
    "evidence download": "/evidence/{evidence}/",
    "csv export": "/alerts/export.csv",
    "xlsx export": "/alerts/export.xlsx",
    "dispatch board": "/dispatch/",
    "disposal board": "/disposal/",
    "evaluation queue": "/evaluation/",
    "my work": "/my-work/",
    "extension requests": "/extensions/",
    "dashboard": "/dashboard/",
    "screening run": "/screening/runs/{run}/",
    "subject files": "/subjects/",
    "subject file": "/subjects/{subject}/",
}
# Pages about one alert (or one of its records): another county gets a 404.
PER_ALERT = {"alert detail", "dismissed alert", "timeline", "dismissed timeline", "comments", "findings",
             "extensions", "evidence download", "verification screen", "printable order", "printable notice",
    "screening hits", "screening run", "subject file"}
MASKED_READERS = ["city_leader", "kunshan_leader", "kunshan_verifier2", "changshu_supervisor"]


def _url(template: str, w: World) -> str:
    return template.format(alert=w.alert.pk, dismissed=w.dismissed.pk, order=w.order.pk, notice=w.notice.pk,
                           evidence=w.evidence.pk, run=w.run.pk, subject=w.subject.pk)


def _text_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":  # an XLSX: the sheet's XML
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            body = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))
    headers = " ".join(f"{k}: {unquote(v)}" for k, v in response.headers.items())
    text = body.decode("utf-8", errors="replace")
    # JSON escapes non-ASCII (\uXXXX) only when asked to; decode both ways to be sure.
    if "\\u" in text:
        text += body.decode("unicode_escape", errors="replace")
    return headers + "\n" + text


def _assert_masked(text: str, where: str) -> None:
    leaked = [n for n in FULL_NUMBERS if n in text]
    assert not leaked, f"{where} shows {leaked}"


@pytest.mark.parametrize("who", MASKED_READERS)
@pytest.mark.parametrize("endpoint", list(API))
def test_the_api_never_shows_a_full_number_to_a_reader_who_must_see_it_masked(api, people, world, who, endpoint):
    r = api(getattr(people, who)).get(_url(API[endpoint], world))
    if who == "changshu_supervisor" and endpoint in PER_ALERT:
        assert r.status_code == 404
    else:
        assert r.status_code in (200, 403), (r.status_code, r.content[:300])
    _assert_masked(_text_of(r), f"{endpoint} as {who}")


@pytest.mark.parametrize("who", MASKED_READERS)
@pytest.mark.parametrize("screen", list(PAGES))
def test_the_screens_never_show_a_full_number_to_a_reader_who_must_see_it_masked(client, people, world, who, screen):
    client.force_login(getattr(people, who))
    r = client.get(_url(PAGES[screen], world))
    if who == "changshu_supervisor" and screen in PER_ALERT:
        assert r.status_code in (403, 404)
    else:
        assert r.status_code in (200, 302, 403), r.status_code
    _assert_masked(_text_of(r), f"{screen} as {who}")


def test_the_planted_numbers_are_really_there_for_the_supervisor(api, client, people, world):
    """The control: the same reads show full values to those who handle the case, so the tests
    above pass because of masking, not because nothing was planted."""
    sup = people.kunshan_supervisor
    for endpoint in ("alert detail", "timeline", "comments", "findings", "extensions"):
        text = _text_of(api(sup).get(_url(API[endpoint], world)))
        assert ID in text and PHONES[1] in text, endpoint
    client.force_login(sup)
    for screen in ("alert detail", "printable order"):
        text = _text_of(client.get(_url(PAGES[screen], world)))
        assert ID in text and PHONES[1] in text, screen
    disposition = client.get(_url(PAGES["evidence download"], world))["Content-Disposition"]
    assert f"户籍证明_{ID}.txt" in unquote(disposition)


def test_the_masked_forms_are_what_the_leader_reads(api, people, world):
    body = api(people.city_leader).get(f"/api/v1/alerts/{world.alert.pk}/").json()
    assert body["subject"]["name"].startswith("李四 身份证3205**********1234")
    assert "139-****-4321" in body["subject"]["name"] and "+86 135-****-2222" in body["subject"]["name"]
    assert any(k.startswith("联系人139-****-4321") for k in body["details"])
    assert body["dedup_key"] == "key-3205**********1234"
    findings = api(people.city_leader).get(f"/api/v1/alerts/{world.alert.pk}/findings/").json()["results"]
    assert findings[0]["evidence"][0]["original_name"] == "户籍证明_3205**********1234.txt"


@pytest.fixture
def admin_client_(client, org):
    from accounts.services import user_upsert

    admin = user_upsert(username="root", password="x-pass-123", role="admin", org_unit=org.city, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.mark.parametrize("url", [
    "/admin/alerts/alert/", "/admin/alerts/alert/{alert}/change/", "/admin/cases/timelineentry/",
    "/admin/workflow/extension/", "/admin/workflow/notification/", "/admin/workflow/delivery/",
])
def test_the_admin_shows_personal_data_masked(admin_client_, world, url):
    r = admin_client_.get(_url(url, world))
    assert r.status_code == 200
    _assert_masked(_text_of(r), url)


def test_the_admin_change_pages_of_records_are_masked(admin_client_, world):
    from cases.models import TimelineEntry
    from workflow.models import Extension

    for url in (f"/admin/cases/timelineentry/{TimelineEntry.objects.filter(alert=world.alert).last().pk}/change/",
                f"/admin/workflow/extension/{Extension.objects.get().pk}/change/",
                f"/admin/workflow/notification/{Notification.objects.first().pk}/change/"):
        r = admin_client_.get(url)
        assert r.status_code == 200, url
        _assert_masked(_text_of(r), url)
