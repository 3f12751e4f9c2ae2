"""Word (.docx) documents built with python-docx: a notice in the official layout, and the case
file (案卷) of an alert.

The notice follows the printed layout of `templates/web/notice_print.html`: the issuing organ in
red at the head, the 文号 under it above a red rule, the title centred, 主送 with a Chinese colon,
the body, the reply date where one is asked for, the 落款 (issuing organ) and date on the right
with room for the seal, and 抄送 at the foot between two rules. A withdrawn notice carries 作废.

Personal data (ID and phone numbers) is masked unless the reader may see it in full.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from alerts.models import Alert
from cases.models import ResultAction
from core.masking import mask_id_number, mask_text
from workflow.calendar import local
from workflow.notices import document_title, issuer_name

RED = RGBColor(0xC0, 0x00, 0x00)
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def chinese_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _font(run, *, size: float | None = None, bold: bool = False, color: RGBColor | None = None,  # noqa: ANN001
          name: str = "仿宋") -> None:
    run.font.name = name
    run.element.rPr.rFonts.set(qn("w:eastAsia"), name)
    if size:
        run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color


def _para(doc, text: str = "", *, align=None, size: float = 16, bold: bool = False,  # noqa: ANN001
          color: RGBColor | None = None, name: str = "仿宋"):  # noqa: ANN202
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), size=size, bold=bold, color=color, name=name)
    return p


def _rule(paragraph, *, color: str = "C00000", where: str = "bottom", size: int = 12) -> None:  # noqa: ANN001
    """A horizontal line under (or over) a paragraph, as the red rule under the 文号."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    edge = OxmlElement(f"w:{where}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), "1")
    edge.set(qn("w:color"), color)
    borders.append(edge)
    p_pr.append(borders)


def _save(doc) -> bytes:  # noqa: ANN001
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _masked(text: str, full_pii: bool) -> str:
    return text if full_pii else mask_text(text)


def _notice_body(doc, notice: ResultAction, *, full_pii: bool) -> None:  # noqa: ANN001
    organ = issuer_name(notice)
    if notice.is_withdrawn:
        _para(doc, _("WITHDRAWN (作废)"), align=WD_ALIGN_PARAGRAPH.CENTER, size=26, bold=True, color=RED)
    _para(doc, f"{organ}", align=WD_ALIGN_PARAGRAPH.CENTER, size=26, bold=True, color=RED, name="方正小标宋简体")
    number = _para(doc, notice.doc_number, align=WD_ALIGN_PARAGRAPH.CENTER, size=16)
    _rule(number)
    _para(doc, document_title(notice), align=WD_ALIGN_PARAGRAPH.CENTER, size=22, bold=True, name="方正小标宋简体")
    _para(doc, f"{notice.recipient}：", size=16)
    for line in _masked(notice.text, full_pii).splitlines() or [""]:
        p = _para(doc, line, size=16)
        p.paragraph_format.first_line_indent = Pt(32)
    if notice.due_date:
        p = _para(doc, _("Please report back in writing by %(d)s.") % {"d": chinese_date(notice.due_date)}, size=16)
        p.paragraph_format.first_line_indent = Pt(32)
    _para(doc)
    _para(doc, _("(seal)"), align=WD_ALIGN_PARAGRAPH.RIGHT, size=12, color=RGBColor(0x99, 0x99, 0x99))
    _para(doc, organ, align=WD_ALIGN_PARAGRAPH.RIGHT, size=16)
    if notice.signer:
        _para(doc, notice.signer, align=WD_ALIGN_PARAGRAPH.RIGHT, size=16)
    _para(doc, chinese_date(notice.issue_date or local(notice.created_at).date()), align=WD_ALIGN_PARAGRAPH.RIGHT,
          size=16)
    if notice.copy_to:
        _para(doc)
        foot = _para(doc, _("Copy to: %(list)s.") % {"list": "，".join(notice.copy_to)}, size=14)
        _rule(foot, color="000000", where="top", size=6)
        _rule(foot, color="000000", where="bottom", size=6)
    if notice.is_withdrawn:
        _para(doc, _("Withdrawn on %(d)s: %(r)s") % {
            "d": chinese_date(local(notice.withdrawn_at).date()) if notice.withdrawn_at else "",
            "r": _masked(notice.withdraw_reason, full_pii)}, size=12, color=RED)


def notice_docx(notice: ResultAction, *, full_pii: bool = False) -> bytes:
    """One notice as a Word file in the official layout."""
    doc = Document()
    _notice_body(doc, notice, full_pii=full_pii)
    return _save(doc)


# ----- the case file -----


def _heading(doc, text: str) -> None:  # noqa: ANN001
    _para(doc, text, size=16, bold=True, name="黑体")


def _table(doc, header: list[str], rows: Iterable[list[str]]) -> None:  # noqa: ANN001
    rows = list(rows)
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    for i, title in enumerate(header):
        table.rows[0].cells[i].text = title
    for r, row in enumerate(rows, start=1):
        for i, value in enumerate(row):
            table.rows[r].cells[i].text = str(value)


def _dt(value) -> str:  # noqa: ANN001
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def case_file_docx(alert: Alert, *, full_pii: bool = False) -> bytes:
    """The case file (案卷) of one alert: subject, source and reason, findings with their
    evidence, the timeline, the disposition with its people, the notices with their 文号, and
    the evaluation."""
    doc = Document()
    _para(doc, _("Case file"), align=WD_ALIGN_PARAGRAPH.CENTER, size=26, bold=True, name="方正小标宋简体")
    _para(doc, _("Alert #%(id)s · %(unit)s") % {"id": alert.pk, "unit": alert.org_unit.name},
          align=WD_ALIGN_PARAGRAPH.CENTER, size=14)
    _para(doc, _("Built on %(d)s") % {"d": chinese_date(local(timezone.now()).date())},
          align=WD_ALIGN_PARAGRAPH.CENTER, size=12)

    _heading(doc, _("1. Subject"))
    id_number = alert.subject_id_number if full_pii else mask_id_number(alert.subject_id_number or "")
    _table(doc, [_("Item"), _("Value")], [
        [_("Subject"), alert.subject_name or "—"],
        [_("ID number"), id_number or "—"],
        [_("Credit code"), alert.subject_credit_code or "—"],
        [_("Unit"), alert.org_unit.name],
        [_("Stage"), alert.get_status_display()],
    ])

    _heading(doc, _("2. Source and reason"))
    _table(doc, [_("Item"), _("Value")], [
        [_("Title"), _masked(alert.title, full_pii)],
        [_("Source"), alert.source.name],
        [_("Rule"), alert.rule_code or "—"],
        [_("Risk level"), alert.get_risk_level_display()],
        [_("Domain"), alert.get_domain_display()],
        [_("Amount (yuan)"), f"{alert.amount:,.2f}" if alert.amount is not None else "—"],
        [_("Raised at"), _dt(alert.created_at)],
    ])
    if alert.details:
        _table(doc, [_("Data snapshot"), _("Value")],
               [[str(k), _masked(str(v), full_pii)] for k, v in alert.details.items()])

    _heading(doc, _("3. Verification: findings and evidence"))
    for v in alert.verifications.select_related("verifier"):
        _para(doc, _("Conclusion: %(c)s (%(who)s, %(at)s)") % {
            "c": v.get_conclusion_display(), "who": v.verifier.display_name, "at": _dt(v.created_at)}, size=12)
        _para(doc, _masked(v.summary, full_pii), size=12)
    findings = list(alert.findings.select_related("author").prefetch_related("evidence"))
    if findings:
        _table(doc, [_("Recorded at"), _("Method"), _("Finding"), _("Evidence")], [
            [_dt(f.created_at), f.get_method_display(), _masked(f.text, full_pii),
             "；".join(f"{e.original_name} ({e.sha256[:12]})" for e in f.evidence.all()) or "—"]
            for f in findings
        ])
    else:
        _para(doc, _("No findings recorded."), size=12)

    _heading(doc, _("4. Disposition"))
    dispositions = list(alert.dispositions.select_related("decided_by").prefetch_related("people"))
    for d in dispositions:
        _para(doc, _("%(outcome)s · recovered ¥%(rec)s · confiscated ¥%(conf)s%(filed)s (%(who)s, %(at)s)") % {
            "outcome": d.get_outcome_display(), "rec": f"{d.amount_recovered:,.2f}",
            "conf": f"{d.amount_confiscated:,.2f}", "filed": _(" · case filed") if d.case_filed else "",
            "who": d.decided_by.display_name, "at": _dt(d.created_at)}, size=12)
        if d.note:
            _para(doc, _masked(d.note, full_pii), size=12)
        people = list(d.people.all())
        if people:
            _table(doc, [_("Name"), _("ID number"), _("Position"), _("Work unit"), _("Form of handling"),
                         _("Sanction"), _("Case filed"), _("Detained"), _("Transferred")], [
                [p.name, (p.id_number if full_pii else mask_id_number(p.id_number)) if p.id_number else "",
                 p.position, p.unit, p.get_form_display(), p.get_sanction_display() if p.sanction else "",
                 _("yes") if p.case_filed else "", _("yes") if p.detained else "", _("yes") if p.transferred else ""]
                for p in people
            ])
    if not dispositions:
        _para(doc, _("No disposition recorded."), size=12)

    _heading(doc, _("5. Use of results: notices"))
    notices = list(alert.result_actions.select_related("issuing_unit"))
    if notices:
        _table(doc, [_("Document number"), _("Kind"), _("Recipient"), _("Date of issue"), _("Reply due"),
                     _("Reply"), _("State")], [
            [n.doc_number or "—", n.get_kind_display(), n.recipient, chinese_date(n.issue_date),
             chinese_date(n.due_date), _masked(n.feedback, full_pii) or "—",
             n.get_state_display() + (f" · {n.get_review_display()}" if n.review else "")]
            for n in notices
        ])
    else:
        _para(doc, _("No notices issued."), size=12)

    _heading(doc, _("6. Evaluation"))
    evaluations = list(alert.evaluations.select_related("evaluator"))
    for e in evaluations:
        line = _("%(decision)s by %(who)s on %(at)s") % {
            "decision": e.get_decision_display(), "who": e.evaluator.display_name, "at": _dt(e.created_at)}
        if e.score:
            line += " · " + _("score %(s)d") % {"s": e.score}
        _para(doc, line, size=12)
        for text in (e.comment, e.override_reason):
            if text:
                _para(doc, _masked(text, full_pii), size=12)
    if not evaluations:
        _para(doc, _("Not evaluated yet."), size=12)

    _heading(doc, _("7. Timeline"))
    _table(doc, [_("At"), _("Event"), _("By"), _("Text")], [
        [_dt(t.at), t.get_kind_display() + (
            f" · {t.get_from_status_display()} → {t.get_to_status_display()}"
            if t.from_status and t.to_status and t.from_status != t.to_status else ""),
         t.actor.display_name if t.actor_id else "", _masked(t.text, full_pii)[:500]]
        for t in alert.timeline.select_related("actor").order_by("at", "id")
    ])
    return _save(doc)
