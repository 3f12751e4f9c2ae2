"""Leaders' 考核 screens: the unit assessment with drill-down and export, re-check samples, and
analysis reports; and the verifier's re-check list."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from accounts.selectors import units_visible_to
from assessment.figures import assessable_unit, assessment_rows, figure_rows
from assessment.models import RecheckItem
from assessment.periods import period_parse
from assessment.rechecks import recheck_confirm, recheck_draw, recheck_problem
from assessment.reports import report_create
from assessment.selectors import rechecks_assigned_to, rechecks_visible_to, reports_visible_to
from core.errors import AppError
from web.access import paginate, screen_required
from web.assessment_forms import AssessmentFilterForm, RecheckDrawForm, RecheckOutcomeForm, ReportForm

COLUMNS = [
    ("received", gettext_lazy("Received")),
    ("dispatched", gettext_lazy("Dispatched")),
    ("dispatched_on_time", gettext_lazy("Dispatched on time")),
    ("verified", gettext_lazy("Verified")),
    ("verified_on_time", gettext_lazy("Verified on time")),
    ("substantiated", gettext_lazy("Substantiated")),
    ("closed", gettext_lazy("Closed")),
    ("overdue_now", gettext_lazy("Overdue now")),
    ("overdue_ever", gettext_lazy("Ever overdue")),
    ("orders_due", gettext_lazy("Orders due")),
    ("orders_on_time", gettext_lazy("Replied on time")),
    ("recurrences", gettext_lazy("Recurrences")),
    ("rechecked", gettext_lazy("Re-checked")),
    ("recheck_failures", gettext_lazy("Re-check failures")),
]


def _flash(request: HttpRequest, exc: ValidationError | AppError) -> None:
    """A refusal as messages on the page the user is sent back to."""
    for message in ([exc.message] if isinstance(exc, AppError) else exc.messages):
        messages.error(request, message)


def _current_quarter() -> str:
    today = timezone.localdate()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def _assessment(request: HttpRequest) -> tuple[AssessmentFilterForm, Any, Any, list[Any]]:
    units = units_visible_to(request.user).order_by("path")
    form = AssessmentFilterForm(request.GET or {"period": _current_quarter()}, units=units)
    if not form.is_valid():
        return form, None, None, []
    try:
        period = period_parse(form.cleaned_data["period"])
    except ValidationError as exc:
        form.add_error("period", exc.message_dict["period"])
        return form, None, None, []
    unit = form.cleaned_data["unit"] or assessable_unit(request.user, None)
    return form, period, unit, assessment_rows(user=request.user, period=period, unit=unit)


@screen_required("assessment")
def assessment(request: HttpRequest) -> HttpResponse:
    form, period, unit, rows = _assessment(request)
    units = units_visible_to(request.user).order_by("path")
    return render(request, "web/assessment.html", {
        "form": form, "period": period, "unit": unit, "rows": rows, "columns": [(k, str(v)) for k, v in COLUMNS],
        "draw_form": RecheckDrawForm(units=units, prefix="draw",
                                     initial={"period": period.code if period else _current_quarter()}),
        "rechecks": rechecks_visible_to(request.user)[:10], "tab": "assessment",
    })


@screen_required("assessment")
def assessment_export(request: HttpRequest) -> HttpResponse:
    form, period, unit, rows = _assessment(request)
    if period is None:
        raise Http404
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Assessment"))
    ws.append([_("Unit"), *[str(label) for _k, label in COLUMNS], _("Score"), _("Rank")])
    for row in rows:
        ws.append([row.unit.name, *[row.figures[k] for k, _l in COLUMNS], float(row.score), row.rank])
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(out.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="assessment-{period.code}-{unit.code}.xlsx"'
    return response


@screen_required("assessment")
def assessment_drill(request: HttpRequest) -> HttpResponse:
    """The alerts behind one figure of one unit."""
    figure = request.GET.get("figure", "")
    code = request.GET.get("unit", "")
    unit = units_visible_to(request.user).filter(code=code).first()
    if unit is None or figure not in {k for k, _l in COLUMNS}:
        raise Http404
    try:
        period = period_parse(request.GET.get("period", ""))
    except ValidationError:
        raise Http404 from None
    qs = figure_rows(user=request.user, period=period, unit=unit, figure=figure)
    return render(request, "web/assessment_drill.html", {
        "page": paginate(request, qs.select_related("org_unit", "source", "assignee").order_by("-created_at")),
        "unit": unit, "period": period, "label": dict(COLUMNS)[figure], "tab": "assessment",
    })


@screen_required("assessment")
@require_POST
def recheck_create(request: HttpRequest) -> HttpResponse:
    units = units_visible_to(request.user).order_by("path")
    form = RecheckDrawForm(request.POST, units=units, prefix="draw")
    if form.is_valid():
        d = form.cleaned_data
        try:
            recheck = recheck_draw(by=request.user, period=d["period"], units=[u.code for u in d["units"]],
                                   size=d["size"], ratio=d["ratio"])
        except (ValidationError, AppError) as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("%(n)d closed alerts drawn for re-check (seed %(seed)s).")
                             % {"n": recheck.items.count(), "seed": recheck.seed})
    else:
        _flash(request, ValidationError(form.errors))
    return redirect(reverse("web:assessment") + "#rechecks")


@screen_required("rechecks")
def my_rechecks(request: HttpRequest) -> HttpResponse:
    items = rechecks_assigned_to(request.user)
    return render(request, "web/rechecks.html", {
        "page": paginate(request, items), "form": RecheckOutcomeForm(), "tab": "rechecks",
    })


@screen_required("rechecks")
@require_POST
def recheck_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    form = RecheckOutcomeForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            if d["outcome"] == RecheckItem.Outcome.CONFIRMED:
                recheck_confirm(by=request.user, item_id=pk, note=d["note"])
                messages.success(request, _("Re-check confirmed."))
            else:
                recheck_problem(by=request.user, item_id=pk, stage=d["stage"], note=d["note"])
                messages.success(request, _("Problem recorded; the alert is reopened."))
        except (ValidationError, AppError) as exc:
            _flash(request, exc)
    else:
        _flash(request, ValidationError(form.errors))
    return redirect("web:rechecks")


@screen_required("assessment")
def reports(request: HttpRequest) -> HttpResponse:
    units = units_visible_to(request.user).order_by("path")
    form = ReportForm(request.POST or None, units=units, initial={"period": _current_quarter()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            report = report_create(by=request.user, title=d["title"], period=d["period"],
                                   units=[u.code for u in d["units"]], preset=d["preset"], schedule=d["schedule"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except AppError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Report “%(t)s” is ready.") % {"t": report.title})
            return redirect("web:reports")
    return render(request, "web/reports.html", {
        "form": form, "page": paginate(request, reports_visible_to(request.user)), "tab": "reports",
    }, status=400 if form.errors else 200)


@screen_required("assessment")
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    report = reports_visible_to(request.user).exclude(file="").filter(pk=pk).first()
    if report is None:
        raise Http404
    response = FileResponse(report.file.open("rb"), as_attachment=True, filename=f"{report.title}.docx",
                            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    response["Cache-Control"] = "private, no-store"
    return response


