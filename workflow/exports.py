"""Alert list exports (CSV and xlsx), built once for the screens and the API.

- Plain tuples straight from the database (`values_list`), no model instances per row.
- Every label (stage, risk, domain, conclusion, timeliness) translated once per export.
- CSV is streamed in blocks; xlsx is written by openpyxl's write-only workbook to a spooled
  temporary file: memory stays flat whatever the number of rows.
- Every cell is text, and text a spreadsheet would run as a formula (starting with `=`, `+`,
  `-`, `@`, a tab or a carriage return) gets a leading apostrophe (CSV injection).
- Titles and subjects go through `core.masking.mask_text`, ID numbers are always masked.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from alerts.models import Alert, Domain, RiskLevel
from alerts.states import Conclusion, Status
from core.masking import mask_id_number, mask_text
from workflow import deadlines

EXPORT_LIMIT = 100_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FIELDS = (
    "id", "title", "status", "risk_level", "domain", "due_at", "org_unit__name", "source__name", "rule_code",
    "subject_name", "subject_id_number", "amount", "assignee__full_name", "assignee__username", "conclusion",
    "created_at", "closed_at",
)
_BLOCK = 1000  # CSV rows per streamed chunk
_FREE_TEXT = (1, 9, 12)  # title, subject, assignee: typed by people or other systems


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows, never runs: `=1+1` → `'=1+1`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def header() -> list[str]:
    return [
        _("No."), _("Title"), _("Stage"), _("Risk level"), _("Timeliness"), _("Unit"), _("Domain"), _("Source"),
        _("Rule"), _("Subject"), _("ID number"), _("Amount (yuan)"), _("Assignee"), _("Conclusion"),
        _("Raised at"), _("Due at"), _("Closed at"),
    ]


def export_rows(qs: QuerySet[Alert], *, limit: int = EXPORT_LIMIT) -> Iterator[tuple[str, ...]]:
    """One tuple of text cells per alert of `qs` (already scoped and ordered), masked and safe."""
    status = {v: str(label) for v, label in Status.choices}
    risk = {v: str(label) for v, label in RiskLevel.choices}
    domain = {v: str(label) for v, label in Domain.choices}
    conclusion = {v: str(label) for v, label in Conclusion.choices}
    conclusion[""] = ""
    timeliness = {deadlines.Timeliness.GREEN: _("In time"), deadlines.Timeliness.YELLOW: _("Due soon"),
                  deadlines.Timeliness.RED: _("Overdue")}
    windows: dict[tuple[str, str, str], timedelta] = {}
    tz = timezone.get_current_timezone()
    now = timezone.now()

    def stamp(dt: datetime | None) -> str:
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else ""

    def when(st: str, rl: str, dm: str, due: datetime | None) -> str:
        if st == Status.CLOSED or due is None:
            return timeliness[deadlines.Timeliness.GREEN]
        if due <= now:
            return timeliness[deadlines.Timeliness.RED]
        key = (st, rl, dm)
        window = windows.get(key)
        if window is None:
            rule = deadlines.policy_for(stage=st, risk_level=rl, domain=dm)
            window = windows[key] = rule.warning_window if rule else deadlines.default_warning_window()
        return timeliness[deadlines.Timeliness.YELLOW if due - window <= now else deadlines.Timeliness.GREEN]

    rows = qs.values_list(*_FIELDS)[:limit]
    for (pk, title, st, rl, dm, due, unit, source, rule, subject, id_number, amount, full_name, username, concl,
         created, closed) in rows.iterator(chunk_size=2000):
        yield (
            str(pk), safe_cell(mask_text(title)), status.get(st, st), risk.get(rl, rl), when(st, rl, dm, due),
            safe_cell(unit), domain.get(dm, dm), safe_cell(source), safe_cell(rule),
            safe_cell(mask_text(subject)), mask_id_number(id_number) if id_number else "",
            "" if amount is None else safe_cell(amount), safe_cell(full_name or username or ""),
            conclusion.get(concl, concl), stamp(created), stamp(due), stamp(closed),
        )


def csv_chunks(head: Sequence[str], rows: Iterator[Sequence[str]]) -> Iterator[bytes]:
    """A UTF-8 CSV with a BOM (Excel reads the Chinese then), in blocks of rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff".encode()
    writer.writerow([safe_cell(h) for h in head])
    block: list[Sequence[str]] = []
    for row in rows:
        block.append(row)
        if len(block) >= _BLOCK:
            writer.writerows(block)
            block.clear()
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    writer.writerows(block)
    yield buf.getvalue().encode("utf-8")


def xlsx_file(head: Sequence[str], rows: Iterator[Sequence[str]], *, sheet: str) -> IO[bytes]:
    """An xlsx written row by row (openpyxl write-only) to a temporary file, rewound."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([safe_cell(h) for h in head])
    for row in rows:
        # Control characters pasted into free text are not allowed in the sheet's XML.
        cells = list(row)
        for i in _FREE_TEXT:
            cells[i] = ILLEGAL_CHARACTERS_RE.sub("", cells[i])
        ws.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to the response
    wb.save(out)
    out.seek(0)
    return out
