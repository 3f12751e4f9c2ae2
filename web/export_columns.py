"""The columns of the alert exports (CSV and xlsx), defined once: a header, how to read the
value from an alert, its kind (text, integer, money, date-time) and its width in Excel.

Both exports read the same list, so a column is added here and nowhere else. Values are typed
(dates are datetimes, money is Decimal): the CSV formats them as text, the xlsx keeps them as
real dates and numbers with a thousands separator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from alerts.models import Alert
from cases.models import Disposition, DispositionPerson, ResultAction
from core.masking import mask_id_number, mask_text
from workflow.deadlines import timeliness_of
from workflow.exports import safe_cell

TEXT, INT, MONEY, DATETIME = "text", "int", "money", "datetime"
TIMELINESS = {"green": _("In time"), "yellow": _("Due soon"), "red": _("Overdue")}


@dataclass(frozen=True)
class Column:
    header: Promise | str
    value: Callable[[Alert], Any]
    kind: str = TEXT
    width: int = 14


def _latest(alert: Alert) -> Disposition | None:
    # Prefetched newest first (see `export_queryset`).
    found = alert.dispositions.all()
    return found[0] if found else None


def _people(alert: Alert) -> list[DispositionPerson]:
    d = _latest(alert)
    return list(d.people.all()) if d else []


def _count(predicate: Callable[[DispositionPerson], bool]) -> Callable[[Alert], int]:
    return lambda a: sum(1 for p in _people(a) if predicate(p))


def _form_count(form: str) -> Callable[[Alert], int]:
    return _count(lambda p: p.form == form)


def _notices(alert: Alert) -> str:
    return "；".join(
        f"{n.doc_number or n.get_kind_display()}（{n.recipient}）" for n in alert.result_actions.all()
    )


ALERT_COLUMNS: list[Column] = [
    Column(_("No."), lambda a: a.pk, INT, 8),
    Column(_("Title"), lambda a: mask_text(a.title), TEXT, 40),
    Column(_("Stage"), lambda a: a.get_status_display(), TEXT, 12),
    Column(_("Risk level"), lambda a: a.get_risk_level_display(), TEXT, 8),
    Column(_("Timeliness"), lambda a: str(TIMELINESS[timeliness_of(a)]), TEXT, 8),
    Column(_("Unit"), lambda a: a.org_unit.name, TEXT, 14),
    Column(_("Domain"), lambda a: a.get_domain_display(), TEXT, 12),
    Column(_("Source"), lambda a: a.source.name, TEXT, 18),
    Column(_("Rule"), lambda a: a.rule_code, TEXT, 14),
    Column(_("Subject"), lambda a: mask_text(a.subject_name), TEXT, 20),
    Column(_("ID number"), lambda a: mask_id_number(a.subject_id_number) if a.subject_id_number else "", TEXT, 20),
    Column(_("Amount (yuan)"), lambda a: a.amount, MONEY, 16),
    Column(_("Assignee"), lambda a: a.assignee.display_name if a.assignee else "", TEXT, 10),
    Column(_("Conclusion"), lambda a: a.get_conclusion_display() if a.conclusion else "", TEXT, 10),
    Column(_("Raised at"), lambda a: a.created_at, DATETIME, 17),
    Column(_("Due at"), lambda a: a.due_at, DATETIME, 17),
    Column(_("Closed at"), lambda a: a.closed_at, DATETIME, 17),
]

# The use of results (issue 13): outcome, people per form, cases filed, money, notices.
RESULT_COLUMNS: list[Column] = [
    Column(_("Outcome"), lambda a: _latest(a).get_outcome_display() if _latest(a) else "", TEXT, 14),
    Column(_("People: form 1"), _form_count("form_1"), INT, 8),
    Column(_("People: form 2"), _form_count("form_2"), INT, 8),
    Column(_("People: form 3"), _form_count("form_3"), INT, 8),
    Column(_("People: form 4"), _form_count("form_4"), INT, 8),
    Column(_("People: case filed"), _count(lambda p: p.case_filed), INT, 8),
    Column(_("People: detained"), _count(lambda p: p.detained), INT, 8),
    Column(_("People: transferred"), _count(lambda p: p.transferred), INT, 8),
    Column(_("Case filed (立案)"), lambda a: str(_("yes")) if _latest(a) and _latest(a).case_filed else "",
           TEXT, 8),
    Column(_("Amount recovered (yuan)"), lambda a: _latest(a).amount_recovered if _latest(a) else None, MONEY, 16),
    Column(_("Amount confiscated (收缴, yuan)"), lambda a: _latest(a).amount_confiscated if _latest(a) else None,
           MONEY, 16),
    Column(_("Notices"), _notices, TEXT, 40),
]

EXPORT_COLUMNS: list[Column] = [*ALERT_COLUMNS, *RESULT_COLUMNS]


def export_queryset(qs: QuerySet[Alert]) -> QuerySet[Alert]:
    """What the columns read, fetched per chunk (two queries per chunk, not per row)."""
    dispositions = Disposition.objects.order_by("-created_at", "-id").prefetch_related("people")
    notices = ResultAction.objects.filter(state=ResultAction.State.ISSUED).order_by("id")
    return qs.select_related("org_unit", "source", "assignee").prefetch_related(
        Prefetch("dispositions", queryset=dispositions), Prefetch("result_actions", queryset=notices),
    )


def as_text(column: Column, value: Any) -> Any:
    """A value for the CSV: dates as local 'YYYY-MM-DD HH:MM', empty for none."""
    if value is None:
        return ""
    if column.kind == DATETIME and isinstance(value, datetime):
        return value.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
    # Exports are always masked, and text never runs as a formula.
    return safe_cell(mask_text(str(value))) if column.kind == TEXT else value


def as_cell(column: Column, value: Any) -> Any:
    """A value for the xlsx: local naive datetimes (Excel has no time zones)."""
    if column.kind == DATETIME and isinstance(value, datetime):
        return value.astimezone(timezone.get_current_timezone()).replace(tzinfo=None)
    if column.kind == TEXT or isinstance(value, Promise):
        # Text typed by people or other systems never runs as a formula, nor breaks the XML.
        return ILLEGAL_CHARACTERS_RE.sub("", safe_cell(mask_text(str(value))))
    return value


NUMBER_FORMATS = {MONEY: "#,##0.00", INT: "0", DATETIME: "yyyy-mm-dd hh:mm"}
