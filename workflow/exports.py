"""Alert list exports (CSV and xlsx), one implementation for the direct download and the
background job (`workflow.export_jobs`).

- The columns are defined once (`COLUMNS`): header, kind (text, integer, money, date-time) and
  width in Excel. Both formats read the same rows.
- Rows are plain tuples straight from the database (`values_list`), never model instances; the
  use-of-results columns (latest disposition with its people counted, notices) come from two
  more queries over the same alerts in the same order, read in step: three queries per export.
- Every label (stage, risk, domain, conclusion, outcome, timeliness, notice kind) is translated
  once per export, in the language active when the rows are read.
- Values are typed: datetimes local and naive (Excel has no time zones), money Decimal. The CSV
  writes them as text; the xlsx keeps real dates and numbers with a shared number format.
- Text typed by people or other systems is masked (`core.masking.mask_text`; ID numbers always
  masked) and never runs as a formula: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
  return gets a leading apostrophe (CSV injection); characters XML forbids are dropped.
- The CSV is produced in blocks of rows; the xlsx by openpyxl's write-only workbook into a file:
  memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import IO, Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import DateTimeField, F, Field, Func, QuerySet, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from alerts.models import Alert, Domain, RiskLevel
from alerts.states import OPEN_STATUSES, ActionKind, Conclusion, Outcome, Status
from cases.models import DispositionPerson, ResultAction
from core.masking import mask_id_number, mask_text
from workflow import deadlines

EXPORT_LIMIT = 100_000
CHUNK = 2000  # alerts read (and results looked up) per round trip
CSV_BLOCK = 1000  # CSV rows per streamed piece
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

TEXT, INT, MONEY, DATETIME = "text", "int", "money", "datetime"
NUMBER_FORMATS = {MONEY: "#,##0.00", INT: "0", DATETIME: "yyyy-mm-dd hh:mm"}


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows, never runs: `=1+1` → `'=1+1`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _free_text(value: str | None) -> str | None:
    """Text typed by people or other systems: masked, never a formula, nothing XML forbids."""
    if not value:
        return None
    text = mask_text(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    # Every character XML forbids is unprintable: most text skips the regex.
    return text if text.isprintable() else ILLEGAL_CHARACTERS_RE.sub("", text)


class _Memo(dict):
    """`_free_text` remembered per value, for columns with few distinct values (units, sources,
    rules, people): one call per distinct value, a dict lookup per row."""

    def __missing__(self, key: str | None) -> str | None:
        self[key] = text = _free_text(key)
        return text


def _local(field: str) -> Any:
    """The datetime column as local wall-clock time: converted by PostgreSQL (`AT TIME ZONE`), a
    naive datetime comes back and Python converts nothing; elsewhere the column itself (see
    `_naive`)."""
    if connection.vendor == "postgresql":
        return Func(F(field), Value(timezone.get_current_timezone_name()), arg_joiner=" AT TIME ZONE ",
                    template="(%(expressions)s)", output_field=DateTimeField())
    return F(field)


def _instant(field: str) -> Any:
    """The datetime column for comparing instants: on PostgreSQL seconds since the epoch as a float
    (exact to the microsecond; read in C, where an aware datetime is parsed in Python at ~10 µs a
    value), elsewhere the aware datetime itself. `_as_instant` converts Python values alike."""
    if connection.vendor == "postgresql":
        return Func(F(field), template="EXTRACT(EPOCH FROM %(expressions)s)::float8", output_field=_as_read())
    return F(field)


def _as_read() -> Field:
    """An output field with no converter: the driver's value as it is (Django otherwise calls
    float() / int() on every value of a float or integer expression, row by row)."""
    return Field()


def _as_instant(value: datetime | timedelta) -> Any:
    if connection.vendor != "postgresql":
        return value
    return value.total_seconds() if isinstance(value, timedelta) else value.timestamp()


@dataclass(frozen=True)
class Column:
    header: Promise | str
    kind: str = TEXT
    width: int = 14


COLUMNS: list[Column] = [
    Column(gettext_lazy("No."), INT, 8),
    Column(gettext_lazy("Title"), TEXT, 40),
    Column(gettext_lazy("Stage"), TEXT, 12),
    Column(gettext_lazy("Risk level"), TEXT, 8),
    Column(gettext_lazy("Timeliness"), TEXT, 8),
    Column(gettext_lazy("Unit"), TEXT, 14),
    Column(gettext_lazy("Domain"), TEXT, 12),
    Column(gettext_lazy("Source"), TEXT, 18),
    Column(gettext_lazy("Rule"), TEXT, 14),
    Column(gettext_lazy("Subject"), TEXT, 20),
    Column(gettext_lazy("ID number"), TEXT, 20),
    Column(gettext_lazy("Amount (yuan)"), MONEY, 16),
    Column(gettext_lazy("Assignee"), TEXT, 10),
    Column(gettext_lazy("Conclusion"), TEXT, 10),
    Column(gettext_lazy("Raised at"), DATETIME, 17),
    Column(gettext_lazy("Due at"), DATETIME, 17),
    Column(gettext_lazy("Closed at"), DATETIME, 17),
    # The use of results (issue 13): outcome, people per form, cases filed, money, notices.
    Column(gettext_lazy("Outcome"), TEXT, 14),
    Column(gettext_lazy("People: form 1"), INT, 8),
    Column(gettext_lazy("People: form 2"), INT, 8),
    Column(gettext_lazy("People: form 3"), INT, 8),
    Column(gettext_lazy("People: form 4"), INT, 8),
    Column(gettext_lazy("People: case filed"), INT, 8),
    Column(gettext_lazy("People: detained"), INT, 8),
    Column(gettext_lazy("People: transferred"), INT, 8),
    Column(gettext_lazy("Case filed (立案)"), TEXT, 8),
    Column(gettext_lazy("Amount recovered (yuan)"), MONEY, 16),
    Column(gettext_lazy("Amount confiscated (收缴, yuan)"), MONEY, 16),
    Column(gettext_lazy("Notices"), TEXT, 40),
]


def headers() -> list[str]:
    return [safe_cell(str(c.header)) for c in COLUMNS]


_FIELDS = (
    "id", "title", "status", "risk_level", "domain", "x_due_at", "org_unit__name", "source__name", "rule_code",
    "subject_name", "subject_id_number", "amount", "assignee__full_name", "assignee__username", "conclusion",
    "x_created_at", "x_created", "x_due", "x_closed",
)
_FORMS = (DispositionPerson.Form.FORM_1, DispositionPerson.Form.FORM_2, DispositionPerson.Form.FORM_3,
          DispositionPerson.Form.FORM_4)
# An alert with no disposition: empty cells (not zeros), and nothing written to the sheet.
_NO_RESULTS = (None,) * 12


class _Aligned:
    """Rows of a second query in the export's order — each starting with its alert's (created_at,
    id) — taken alongside the alerts: no per-alert lookup and nothing held in memory. A row whose
    alert the export does not have (raised between the two queries) is skipped."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def next_key(self) -> tuple[Any, int] | None:
        return None if self._next is None else (self._next[0], self._next[1])

    def take(self, key: tuple[Any, int]) -> list[tuple]:
        found = []
        nxt = self._next
        while nxt is not None:
            at = (nxt[0], nxt[1])
            if at < key:  # descending order: a later alert's
                break
            if at == key:
                found.append(nxt)
            nxt = next(self._rows, None)
        self._next = nxt
        return found


# The use-of-results streams join the export's own alerts (a subquery of their order key and id)
# rather than the whole alerts table: each reads only the rows of the exported alerts, in the
# export's order, whatever the size of the table.
_DISPOSITIONS_SQL = """
SELECT a.xc, d.alert_id, d.outcome,
       count(p.id) FILTER (WHERE p.form = %s), count(p.id) FILTER (WHERE p.form = %s),
       count(p.id) FILTER (WHERE p.form = %s), count(p.id) FILTER (WHERE p.form = %s),
       count(p.id) FILTER (WHERE p.case_filed), count(p.id) FILTER (WHERE p.detained),
       count(p.id) FILTER (WHERE p.transferred), d.case_filed, d.amount_recovered, d.amount_confiscated
FROM ({alerts}) a
JOIN cases_disposition d ON d.alert_id = a.xid
LEFT JOIN cases_dispositionperson p ON p.disposition_id = d.id
GROUP BY a.xc, d.id, d.alert_id, d.outcome, d.case_filed, d.amount_recovered, d.amount_confiscated, d.created_at
ORDER BY a.xc DESC, d.alert_id DESC, d.created_at DESC, d.id DESC
"""
_NOTICES_SQL = """
SELECT a.xc, r.alert_id, r.doc_number, r.kind, r.recipient
FROM ({alerts}) a
JOIN cases_resultaction r ON r.alert_id = a.xid
WHERE r.state = %s
ORDER BY a.xc DESC, r.alert_id DESC, r.id
"""


def _stream(sql: str, params: Sequence[Any]) -> Iterator[tuple]:
    """Rows of `sql` from a server-side cursor (PostgreSQL), a block at a time."""
    with connection.chunked_cursor() as cur:
        cur.execute(sql, params)
        while block := cur.fetchmany(CHUNK):
            yield from block


def _aware(value: datetime | str) -> datetime:
    found = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _money(value: Any) -> Decimal | None:
    """An amount as the ORM would give it (SQLite hands raw SQL a float)."""
    return None if value is None or isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.01"))


def _results(alerts: QuerySet, *, outcome: dict[str, str], kind: dict[str, str], yes: str
             ) -> Callable[[tuple[Any, int]], tuple]:
    """The use-of-results cells per alert, from two more queries over the export's alerts (`alerts`:
    their order key `xc` and id `xid`, in order): the latest disposition with its people counted, and the
    issued notices, read in step."""
    try:
        sub, params = alerts.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (an empty scope, an impossible range)
        return lambda key: _NO_RESULTS
    dispositions = _stream(_DISPOSITIONS_SQL.format(alerts=sub), [*_FORMS, *params])
    notices = _stream(_NOTICES_SQL.format(alerts=sub), [*params, ResultAction.State.ISSUED])
    money = _money if connection.vendor != "postgresql" else (lambda v: v)
    if connection.vendor != "postgresql":
        # Raw SQL gets the stored UTC time back without its zone; the alerts' key has it.
        dispositions = ((_aware(r[0]), *r[1:]) for r in dispositions)
        notices = ((_aware(r[0]), *r[1:]) for r in notices)
    dispositions, notices = _Aligned(dispositions), _Aligned(notices)

    def cells(key: tuple[Any, int]) -> tuple:
        d, n = dispositions.next_key(), notices.next_key()
        if (d is None or d < key) and (n is None or n < key):
            return _NO_RESULTS  # most alerts: nothing in either stream
        found = dispositions.take(key)
        issued = notices.take(key)
        text = _free_text("；".join(f"{n[2] or kind.get(n[3], n[3])}（{n[4]}）" for n in issued)) if issued else None
        if not found:
            return (*_NO_RESULTS[:-1], text) if text else _NO_RESULTS
        d = found[0]  # the latest
        return (outcome.get(d[2], d[2]), *d[3:10], yes if d[10] else None, money(d[11]), money(d[12]), text)

    return cells


def export_rows(qs: QuerySet[Alert], *, limit: int = EXPORT_LIMIT,
                progress: Callable[[int], None] | None = None) -> Iterator[tuple]:
    """One typed tuple per alert of `qs` (already scoped and ordered), in `COLUMNS` order, masked
    and safe; None for an empty cell. `progress(n)` is called with the number of rows read after
    each chunk."""
    status = {v: str(label) for v, label in Status.choices}
    risk = {v: str(label) for v, label in RiskLevel.choices}
    domain = {v: str(label) for v, label in Domain.choices}
    conclusion = {v: str(label) for v, label in Conclusion.choices}
    conclusion[""] = None
    outcome = {v: str(label) for v, label in Outcome.choices}
    kind = {v: str(label) for v, label in ActionKind.choices}
    yes = _("yes")
    in_time, due_soon, overdue = _("In time"), _("Due soon"), _("Overdue")
    open_statuses = frozenset(OPEN_STATUSES)
    windows: dict[tuple[str, str, str], Any] = {}
    now = _as_instant(timezone.now())

    def when(st: str, rl: str, dm: str, due: Any) -> str:
        if due is None or st not in open_statuses:
            return in_time
        if due <= now:
            return overdue
        window = windows.get((st, rl, dm))
        if window is None:
            rule = deadlines.policy_for(stage=st, risk_level=rl, domain=dm)
            window = windows[(st, rl, dm)] = _as_instant(
                rule.warning_window if rule else deadlines.default_warning_window())
        return due_soon if due - window <= now else in_time

    local = {"x_created": _local("created_at"), "x_due": _local("due_at"), "x_closed": _local("closed_at"),
             "x_created_at": _instant("created_at"), "x_due_at": _instant("due_at")}
    naive = _naive if connection.vendor != "postgresql" else (lambda dt: dt)
    units, sources, rules, people = _Memo(), _Memo(), _Memo(), _Memo()
    rows = qs.annotate(**local).values_list(*_FIELDS)[:limit].iterator(chunk_size=CHUNK)
    results = _results(qs.annotate(xc=local["x_created_at"], xid=F("pk")).values_list("xc", "xid")[:limit],
                       outcome=outcome, kind=kind, yes=yes)
    done = 0
    while batch := list(islice(rows, CHUNK)):
        for (pk, title, st, rl, dm, due, unit, source, rule, subject, id_number, amount, full_name, username,
             concl, created_at, created, due_local, closed) in batch:
            yield (
                pk, _free_text(title), status.get(st, st), risk.get(rl, rl), when(st, rl, dm, due),
                units[unit], domain.get(dm, dm), sources[source], rules[rule], _free_text(subject),
                mask_id_number(id_number) if id_number else None, amount, people[full_name or username],
                conclusion.get(concl, concl), naive(created), naive(due_local), naive(closed),
                *results((created_at, pk)),
            )
        done += len(batch)
        if progress is not None:
            progress(done)


def _naive(dt: datetime | None) -> datetime | None:
    """Local wall-clock time without a zone (Excel has none), where the database did not convert."""
    return dt.astimezone(timezone.get_current_timezone()).replace(tzinfo=None) if dt is not None else None


def _csv_text(row: tuple, stamps: Sequence[int]) -> list[Any]:
    cells = list(row)
    for i in stamps:
        if cells[i] is not None:
            cells[i] = f"{cells[i]:%Y-%m-%d %H:%M}"
    return cells


def csv_chunks(rows: Iterable[tuple]) -> Iterator[bytes]:
    """A UTF-8 CSV with a BOM (Excel reads the Chinese then), in blocks of rows. None is empty,
    dates are local 'YYYY-MM-DD HH:MM', amounts as stored (two decimals)."""
    stamps = [i for i, c in enumerate(COLUMNS) if c.kind == DATETIME]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers())
    yield "\ufeff".encode() + buf.getvalue().encode("utf-8")
    rows = iter(rows)
    while block := list(islice(rows, CSV_BLOCK)):
        buf.seek(0)
        buf.truncate()
        writer.writerows([_csv_text(r, stamps) for r in block])
        yield buf.getvalue().encode("utf-8")


def write_xlsx(out: IO[bytes], rows: Iterable[tuple], *, sheet: str) -> int:
    """An xlsx written row by row (openpyxl write-only) into `out`: widths, a bold frozen header
    and an autofilter; numbers and dates typed with one shared format per column kind. Returns the
    number of rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in headers():
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    n = _append_typed(ws, rows)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{n + 1}"
    wb.save(out)
    return n


def _append_typed(ws: Any, rows: Iterable[tuple]) -> int:
    """Append the rows, each typed column through one pre-styled cell reused row after row
    (openpyxl writes a row out before the next is appended), so a styled value costs what a
    plain one does instead of a new styled cell per value."""
    styled: list[tuple[int, Any]] = []
    for i, c in enumerate(COLUMNS):
        if c.kind in NUMBER_FORMATS:
            cell = WriteOnlyCell(ws)
            cell.number_format = NUMBER_FORMATS[c.kind]
            styled.append((i, cell))
    n = 0
    for row in rows:
        cells = list(row)
        for i, cell in styled:
            value = cells[i]
            if value is not None:
                cell.value = value
                cells[i] = cell
        ws.append(cells)
        n += 1
    return n
