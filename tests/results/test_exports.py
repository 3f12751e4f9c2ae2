"""The alert exports carry the use of results: outcome, people per form, cases filed, money,
notices; the xlsx has a frozen header, an autofilter, real dates and number formats."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from alerts.states import ActionKind
from cases.models import ResultAction
from tests.api.helpers import drive
from workflow import services as wf

pytestmark = pytest.mark.django_db


@pytest.fixture
def disposed(make_alert, people):
    alert = drive(make_alert(), "disposing", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    wf.alert_dispose(alert_id=alert.pk, by=people.kunshan_supervisor, outcome="form_2",
                     amount_recovered=Decimal("1234567.5"), amount_confiscated=Decimal("800"), people=[
                         wf.PersonInput(name="张三", form="form_2"),
                         wf.PersonInput(name="李四", form="form_4", case_filed=True, detained=True),
                     ])
    wf.alert_apply_results(alert_id=alert.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="某局", text="请注意")])
    return alert


def test_the_csv_export_has_the_results_columns(disposed, people, client_for):
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    row = dict(zip(rows[0], next(x for x in rows[1:] if x[0] == str(disposed.pk)), strict=True))
    assert row["People: form 2"] == "1" and row["People: form 4"] == "1" and row["People: detained"] == "1"
    assert row["Amount recovered (yuan)"] == "1234567.50" and row["Amount confiscated (收缴, yuan)"] == "800.00"
    assert ResultAction.objects.get(alert=disposed).doc_number in row["Notices"]


def test_the_xlsx_export_is_typed_frozen_and_filtered(disposed, people, client_for):
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_xlsx"))
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == disposed.pk)
    cells = dict(zip(header, row, strict=True))
    assert isinstance(cells["Raised at"].value, datetime)
    recovered = cells["Amount recovered (yuan)"]
    assert recovered.value == 1234567.5 and recovered.number_format == "#,##0.00"
    assert ws.column_dimensions["B"].width == 40
