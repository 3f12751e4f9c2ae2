"""The rectification ledger as an .xlsx workbook: widths, a frozen header, an autofilter and
real dates, so it sorts and filters in Excel like the screen."""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cases.models import ResultAction
from core.masking import mask_text
from workflow.calendar import local
from workflow.ledger import LEDGER_STATES, state_of


def ledger_xlsx(orders: Iterable[ResultAction]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("Rectification ledger")[:31]
    header = [
        (_("Document number"), 22), (_("Kind"), 18), (_("Alert"), 8), (_("Unit"), 12), (_("Recipient"), 24),
        (_("Date of issue"), 12), (_("Reply due"), 12), (_("State"), 10), (_("Reply"), 40),
        (_("Reply recorded at"), 17), (_("Review note"), 30), (_("Reminder level"), 8),
    ]
    ws.append([h for h, _w in header])
    for i, (_h, width) in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
        ws.cell(row=1, column=i).font = Font(bold=True)
    for o in orders:
        state = getattr(o, "ledger_state", None) or state_of(o)
        ws.append([
            o.doc_number, o.get_kind_display(), o.alert_id, o.alert.org_unit.name, o.recipient,
            o.issue_date or local(o.created_at).date(), o.due_date, str(LEDGER_STATES[state]),
            mask_text(o.feedback), local(o.feedback_at).replace(tzinfo=None) if o.feedback_at else None,
            mask_text(o.review_note), o.reminder_level,
        ])
    for row in ws.iter_rows(min_row=2):
        row[5].number_format = row[6].number_format = "yyyy-mm-dd"
        row[9].number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
