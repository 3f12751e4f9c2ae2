"""Notices as official documents: 文号 from the unit's pattern, the fields the recipient sees,
the .docx read back with python-docx, withdraw (作废) and re-issue."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from docx import Document

from alerts.states import ActionKind
from audit.models import AuditEvent
from cases.models import NoticeNumbering, ResultAction, TimelineEntry
from tests.api.helpers import transition_url
from workflow import services as wf
from workflow.calendar import local

pytestmark = pytest.mark.django_db


def soon(days: int = 10):
    return local(timezone.now()).date() + timedelta(days=days)


def docx_text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def issue(applying, people, **kw):
    fields = {"kind": ActionKind.WORK_NOTICE, "recipient": "昆山市住建局", "text": "请规范招投标。", **kw}
    action = wf.ActionInput(**fields)
    wf.alert_apply_results(alert_id=applying.pk, by=people.kunshan_supervisor, actions=[action])
    return ResultAction.objects.filter(alert=applying).latest("id")


def test_a_notice_takes_its_number_from_the_units_pattern(applying, people, org):
    NoticeNumbering.objects.create(org_unit=org.kunshan, kind=ActionKind.WORK_NOTICE, pattern="昆纪提〔{year}〕{seq}号",
                                   issuer_name="中共昆山市纪律检查委员会")
    notice = issue(applying, people)
    year = local(timezone.now()).year
    assert notice.doc_number == f"昆纪提〔{year}〕1号"
    assert (notice.issuing_unit, notice.seq, notice.year) == (org.kunshan, 1, year)


def test_without_a_pattern_the_number_uses_the_unit_name(applying, people):
    notice = issue(applying, people, kind=ActionKind.RECOMMENDATION)
    assert notice.doc_number.startswith("昆山市建〔") and notice.doc_number.endswith("〕1号")


def test_a_rectification_order_without_a_due_date_is_refused_naming_due_date(applying, people, api):
    r = api(people.kunshan_supervisor).post(transition_url(applying, "apply_results"), {"actions": [
        {"kind": "rectification_order", "recipient": "某局", "text": "请整改"},
    ]}, format="json")
    assert r.status_code == 400, r.content
    assert "due_date" in r.json()
    applying.refresh_from_db()
    assert applying.status == "applying" and not ResultAction.objects.filter(alert=applying).exists()


def test_the_recipient_never_sees_the_internal_alert_title(applying, people, api):
    applying.title = "内部预警：某某涉嫌围标"
    applying.save()
    notice = issue(applying, people, title="关于规范招投标的提示", copy_to=["昆山市财政局", "昆山市审计局"],
                   signer="张三", due_date=soon())
    client = api(people.kunshan_supervisor)
    body = client.get(f"/api/v1/notices/{notice.pk}/").json()
    assert body["title"] == "关于规范招投标的提示" and body["copy_to"] == ["昆山市财政局", "昆山市审计局"]
    assert body["doc_number"] == notice.doc_number and body["status"] == "issued"
    assert "围标" not in str(body)
    r = client.get(f"/api/v1/notices/{notice.pk}/document/")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    text = docx_text(b"".join(r.streaming_content) if r.streaming else r.content)
    assert notice.doc_number in text
    assert "关于规范招投标的提示" in text and "昆山市住建局：" in text and "请规范招投标。" in text
    assert "昆山市财政局，昆山市审计局" in text and "张三" in text
    assert "围标" not in text


def test_the_notice_list_filters_by_kind_status_and_unit(applying, people, api, make_alert):
    issue(applying, people)
    client = api(people.kunshan_supervisor)
    assert client.get("/api/v1/notices/?kind=work_notice").json()["count"] == 1
    assert client.get("/api/v1/notices/?kind=recommendation").json()["count"] == 0
    assert client.get("/api/v1/notices/?status=withdrawn").json()["count"] == 0
    assert client.get("/api/v1/notices/?unit=kunshan").json()["count"] == 1
    assert client.get("/api/v1/notices/?unit=changshu").json()["count"] == 0
    assert api(people.changshu_supervisor).get("/api/v1/notices/").json()["count"] == 0


def test_withdraw_and_reissue_gives_a_new_number_linked_to_the_old(applying, people, api):
    old = issue(applying, people)
    client = api(people.kunshan_supervisor)
    assert client.post(f"/api/v1/notices/{old.pk}/withdraw/", {}, format="json").status_code == 400
    assert api(people.kunshan_verifier).post(
        f"/api/v1/notices/{old.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 403
    assert api(people.changshu_supervisor).post(
        f"/api/v1/notices/{old.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 404
    r = client.post(f"/api/v1/notices/{old.pk}/reissue/", {
        "reason": "主送单位写错", "recipient": "昆山市交通局", "text": "请规范招投标。",
    }, format="json")
    assert r.status_code == 201, r.content
    new = ResultAction.objects.get(pk=r.json()["id"])
    old.refresh_from_db()
    assert old.state == "withdrawn" and old.withdraw_reason == "主送单位写错"
    assert new.replaces_id == old.pk and new.doc_number != old.doc_number and new.seq == old.seq + 1
    assert client.get(f"/api/v1/notices/{old.pk}/").json()["replaced_by"] == new.pk
    actions = set(TimelineEntry.objects.filter(alert=applying, kind="notice").values_list("action", flat=True))
    assert actions == {"notice_withdrawn", "notice_reissued"}
    assert AuditEvent.objects.filter(action="notice_withdrawn", object_id=str(old.pk)).exists()
    assert AuditEvent.objects.filter(action="notice_reissued", object_id=str(new.pk)).exists()
    # Withdrawn: the document says so; a second re-issue of the old one is refused.
    assert "作废" in docx_text(client.get(f"/api/v1/notices/{old.pk}/document/").content)
    assert client.post(f"/api/v1/notices/{old.pk}/reissue/", {
        "recipient": "x", "text": "y"}, format="json").status_code == 409
    assert client.post(f"/api/v1/notices/{old.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 409


def test_the_case_file_reads_back_with_every_part(applying, people, api):
    issue(applying, people, kind=ActionKind.RECTIFICATION_ORDER, due_date=soon())
    r = api(people.kunshan_supervisor).get(f"/api/v1/alerts/{applying.pk}/case-file/")
    assert r.status_code == 200
    text = docx_text(r.content)
    notice = ResultAction.objects.get(alert=applying)
    for part in ("Case file", "Subject", "Source and reason", "findings", "Disposition", "notices",
                 "Evaluation", "Timeline", notice.doc_number, "查明"):
        assert part in text, part
    assert api(people.changshu_supervisor).get(f"/api/v1/alerts/{applying.pk}/case-file/").status_code == 404


def test_hostile_list_parameters_match_nothing_instead_of_failing(applying, people, api):
    issue(applying, people)
    client = api(people.kunshan_supervisor)
    for url in ("/api/v1/notices/?status=%00", "/api/v1/notices/?unit=%00", "/api/v1/notices/?status=void",
                "/api/v1/rectification-orders/?unit=%00", "/api/v1/rectification-orders/?state=%00"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert client.get("/api/v1/notices/?unit=%00").json()["count"] == 0
