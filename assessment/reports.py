"""数据分析专项报告: a report builder over a period, units, domains and sources or models — tables
and charts (drawn server-side with a Chinese font) in a .docx that is stored, listed, and can be
generated on a schedule and sent to the leaders' inboxes. A "四风 periodic analysis" preset
groups 四风 alerts by domain and rule."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from matplotlib import font_manager
from matplotlib.figure import Figure

from accounts.models import OrgUnit, Role, User
from accounts.selectors import units_visible_to
from alerts import policy
from alerts.models import Alert, Domain
from alerts.selectors import alerts_visible_to
from alerts.states import Conclusion, Outcome
from assessment.models import AnalysisReport
from assessment.periods import Period, period_parse
from cases.models import Disposition
from core.errors import Forbidden
from core.masking import mask_text
from workflow.models import Notification
from workflow.notify import Message, notify_many, role_holders_for

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]
PRESETS = {"four_winds": gettext_lazy("四风 periodic analysis")}
_CJK_FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"]


def _font() -> font_manager.FontProperties | None:
    for path in _CJK_FONTS:
        if Path(path).exists():
            return font_manager.FontProperties(fname=path)
    return None


@dataclass
class ReportScope:
    period: Period
    units: list[OrgUnit]
    domains: list[str]
    sources: list[str]
    rules: list[str]


def _alerts(user: User, scope: ReportScope) -> QuerySet[Alert]:
    qs = alerts_visible_to(user).filter(created_at__gte=scope.period.start_at, created_at__lt=scope.period.end_at)
    if scope.units:
        match = Q()
        for unit in scope.units:
            match |= Q(org_unit__path__startswith=unit.path)
        qs = qs.filter(match)
    if scope.domains:
        qs = qs.filter(domain__in=scope.domains)
    if scope.sources:
        qs = qs.filter(source__code__in=scope.sources)
    if scope.rules:
        qs = qs.filter(rule_code__in=scope.rules)
    return qs


def _chart(title: str, labels: list[str], values: list[float], kind: str = "bar") -> bytes:
    font = _font()
    # A bare Figure draws to memory with Agg: no pyplot state shared between requests.
    fig = Figure(figsize=(6.4, 3.2), dpi=110)
    ax = fig.subplots()
    if kind == "line":
        ax.plot(labels, values, marker="o", color="#b3261e")
    else:
        ax.bar(labels, values, color="#b3261e")
    ax.set_title(title, fontproperties=font)
    for label in ax.get_xticklabels():
        label.set_fontproperties(font)
        label.set_rotation(30 if len(labels) > 5 else 0)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _table(doc: Any, headers: list[str], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = str(value)


def _money(value: Decimal | None) -> str:
    return f"¥{(value or Decimal('0')):,.2f}"


def report_document(*, user: User, title: str, scope: ReportScope, preset: str = "") -> bytes:
    """The report as .docx bytes: what every leader opens."""
    qs = _alerts(user, scope)
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(10.5)
    heading = doc.add_heading(title, level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(_("Period: %(start)s to %(end)s. Units: %(units)s.") % {
        "start": scope.period.start.isoformat(), "end": (scope.period.end - timedelta(days=1)).isoformat(),
        "units": "、".join(u.name for u in scope.units) or _("all in scope"),
    })
    total = qs.count()
    substantiated = qs.filter(conclusion__in=SUBSTANTIATED).count()
    amount = qs.aggregate(s=Sum("amount"))["s"]
    recovered = Disposition.objects.filter(alert__in=qs.values("pk")).aggregate(s=Sum("amount_recovered"))["s"]
    doc.add_paragraph(_("%(n)d alerts were raised; %(s)d substantiated; amount involved %(a)s, recovered %(r)s.") % {
        "n": total, "s": substantiated, "a": _money(amount), "r": _money(recovered)})

    domains = dict(Domain.choices)
    if preset == "four_winds":
        doc.add_heading(_("四风 problems by domain and rule"), level=1)
        rows = list(qs.values("domain", "rule_code").annotate(n=Count("id")).order_by("-n")[:50])
        _table(doc, [_("Domain"), _("Rule or model"), _("Alerts")],
               [[str(domains.get(r["domain"], r["domain"])), r["rule_code"] or "—", r["n"]] for r in rows])

    doc.add_heading(_("By unit"), level=1)
    by_unit = list(qs.values("org_unit__name").annotate(
        n=Count("id"), s=Count("id", filter=Q(conclusion__in=SUBSTANTIATED)), a=Sum("amount")).order_by("-n"))
    _table(doc, [_("Unit"), _("Alerts"), _("Substantiated"), _("Amount involved")],
           [[r["org_unit__name"], r["n"], r["s"], _money(r["a"])] for r in by_unit])
    if by_unit:
        doc.add_picture(io.BytesIO(_chart(_("Alerts by unit"), [r["org_unit__name"] for r in by_unit],
                                          [r["n"] for r in by_unit])), width=Cm(15))

    doc.add_heading(_("By domain"), level=1)
    by_domain = list(qs.values("domain").annotate(n=Count("id")).order_by("-n"))
    _table(doc, [_("Domain"), _("Alerts")], [[str(domains.get(r["domain"], r["domain"])), r["n"]] for r in by_domain])

    doc.add_heading(_("By month"), level=1)
    by_month = list(qs.annotate(m=TruncMonth("created_at")).values("m").annotate(n=Count("id")).order_by("m"))
    _table(doc, [_("Month"), _("Alerts")], [[r["m"].strftime("%Y-%m"), r["n"]] for r in by_month])
    if by_month:
        doc.add_picture(io.BytesIO(_chart(_("Alerts by month"), [r["m"].strftime("%Y-%m") for r in by_month],
                                          [r["n"] for r in by_month], kind="line")), width=Cm(15))

    doc.add_heading(_("Repeat subjects"), level=1)
    repeat = list(qs.filter(subject__isnull=False).values("subject__name").annotate(n=Count("id"))
                  .filter(n__gte=2).order_by("-n")[:20])
    _table(doc, [_("Subject"), _("Alerts")], [[mask_text(r["subject__name"]), r["n"]] for r in repeat])

    doc.add_heading(_("Hotspots: rules and models"), level=1)
    hot = list(qs.exclude(rule_code="").values("rule_code").annotate(n=Count("id")).order_by("-n")[:15])
    _table(doc, [_("Rule or model"), _("Alerts")], [[r["rule_code"], r["n"]] for r in hot])

    doc.add_heading(_("Outcomes and amounts"), level=1)
    outcomes = Counter(dict(Disposition.objects.filter(alert__in=qs.values("pk")).values("outcome")
                            .annotate(n=Count("id")).values_list("outcome", "n")))
    labels = dict(Outcome.choices)
    _table(doc, [_("Outcome"), _("Dispositions")], [[str(labels.get(o, o)), n] for o, n in outcomes.most_common()])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def report_scope(*, user: User, period: str, units: list[str] | None = None, domains: list[str] | None = None,
                 sources: list[str] | None = None, rules: list[str] | None = None, preset: str = "") -> ReportScope:
    p = period_parse(period)
    found = list(units_visible_to(user).filter(code__in=units or []))
    if units and len(found) != len(set(units)):
        raise ValidationError({"units": [_("Choose units in your scope.")]})
    if preset and preset not in PRESETS:
        raise ValidationError({"preset": [_("Unknown preset.")]})
    if preset == "four_winds" and not domains:
        domains = list(settings.HUOYAN_FOUR_WINDS_DOMAINS)
    return ReportScope(p, found, list(domains or []), list(sources or []), list(rules or []))


def report_create(*, by: User, title: str, period: str, units: list[str] | None = None,
                  domains: list[str] | None = None, sources: list[str] | None = None, rules: list[str] | None = None,
                  preset: str = "", schedule: str = "") -> AnalysisReport:
    if not policy.may_assess(by):
        raise Forbidden(_("Only a leader can build analysis reports."))
    if not title.strip():
        raise ValidationError({"title": [_("Give the report a title.")]})
    if schedule not in AnalysisReport.Schedule.values:
        raise ValidationError({"schedule": [_("Unknown schedule.")]})
    scope = report_scope(user=by, period=period, units=units, domains=domains, sources=sources, rules=rules,
                         preset=preset)
    params = {"period": scope.period.code, "units": [u.code for u in scope.units], "domains": scope.domains,
              "sources": scope.sources, "rules": scope.rules}
    with transaction.atomic():
        report = AnalysisReport.objects.create(
            title=title.strip()[:200], preset=preset, params=params, org_unit=by.org_unit, schedule=schedule,
            created_by=by, next_run_at=_next_run(timezone.now(), schedule),
        )
        _generate(report, by, scope)
    return report


def _generate(report: AnalysisReport, user: User, scope: ReportScope) -> None:
    data = report_document(user=user, title=report.title, scope=scope, preset=report.preset)
    report.generated_at = timezone.now()
    report.file.save(f"report-{report.pk}.docx", ContentFile(data), save=False)
    report.save(update_fields=["file", "generated_at"])


def _next_run(now: datetime, schedule: str) -> datetime | None:
    if not schedule:
        return None
    local = timezone.localtime(now)
    months = 1 if schedule == AnalysisReport.Schedule.MONTHLY else 3
    month = local.month - 1 + months
    return local.replace(year=local.year + month // 12, month=month % 12 + 1, day=1, hour=6, minute=0, second=0,
                         microsecond=0)


def _previous_period(now: datetime, schedule: str) -> str:
    local = timezone.localtime(now).date().replace(day=1) - timedelta(days=1)
    if schedule == AnalysisReport.Schedule.QUARTERLY:
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year}-{local.month:02d}"


def reports_due(*, now: datetime) -> int:
    """Scheduled reports whose time has come: a fresh copy for the period just ended, sent to the
    leaders of the report's unit. Claimed with SKIP LOCKED so two runners never make it twice."""
    made = 0
    with transaction.atomic():
        due = list(AnalysisReport.objects.select_for_update(skip_locked=True)
                   .filter(next_run_at__lte=now).exclude(schedule="").select_related("org_unit", "created_by"))
        for template in due:
            template.next_run_at = _next_run(now, template.schedule)
            template.save(update_fields=["next_run_at"])
            period = _previous_period(now, template.schedule)
            params = template.params
            scope = report_scope(user=template.created_by, period=period, units=params.get("units"),
                                 domains=params.get("domains"), sources=params.get("sources"),
                                 rules=params.get("rules"), preset=template.preset)
            copy = AnalysisReport.objects.create(
                title=f"{template.title}（{period}）", preset=template.preset, params={**params, "period": period},
                org_unit=template.org_unit, created_by=template.created_by,
            )
            _generate(copy, template.created_by, scope)
            leaders = role_holders_for(template.org_unit, Role.LEADER)
            notify_many([Message(leaders, Notification.Kind.REPORT_READY, _("Report ready: %(t)s") % {"t": copy.title},
                                 _("The scheduled analysis report for %(p)s is ready to download.") % {"p": period})],
                        now=now)
            made += 1
    return made
