"""The leadership dashboard: figures for the leader's scope and a chosen period, each linking to
the alert list behind it; charts drawn in the browser by ECharts from data in json_script."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.request import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Domain
from alerts.states import Outcome, Status
from assessment.unit_escalation import active_unit_escalations
from cases.models import DispositionPerson
from web.access import screen_required
from web.forms import PeriodForm
from workflow.dashboard import Period, dashboard_for


def period_from(request: HttpRequest) -> tuple[PeriodForm, Period, str]:
    form = PeriodForm(request.GET or {"period": "365"})
    today = timezone.localdate()
    preset = "365"
    start: date | None = today - timedelta(days=364)
    end: date | None = today
    if form.is_valid():
        preset = form.cleaned_data["period"] or "365"
        if preset == "all":
            start = end = None
        elif preset == "custom":
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            start, end = today - timedelta(days=int(preset) - 1), today
    return form, Period(start, end), preset


def _rank_units(rows: list[dict[str, Any]]) -> None:
    """Rank numbers with ties sharing a place (1, 2, 2, 4), and the red/black-list marks only for
    a unit that alone has the best or the worst closure rate: a tie (all at 0%, say) marks nobody."""
    rates = [r["closure_rate"] for r in rows]
    for i, row in enumerate(rows):
        row["rank"] = 1 + sum(1 for x in rates if x > row["closure_rate"]) if rates else i + 1
        row["mark"] = ""
    if len(rows) < 2 or max(rates) == min(rates):
        return
    for row in rows:
        if row["closure_rate"] == max(rates) and rates.count(max(rates)) == 1:
            row["mark"] = "top"
        elif row["closure_rate"] == min(rates) and rates.count(min(rates)) == 1:
            row["mark"] = "bottom"


def _indicator_view(request: HttpRequest, data: dict[str, Any], link: Any) -> dict[str, Any]:
    """The embedded-indicator card: per module (the default) or per indicator, optionally one
    module's indicators only (a module row's drill-down). Each indicator links to its alerts."""
    group = "indicator" if request.GET.get("indicators") == "indicator" else "module"
    module = request.GET.get("module")
    # Module names are stored stripped; the unnamed module travels as a blank (" ").
    module = module.strip() if module is not None else None
    unnamed = _("Module not set")
    for row in data["by_indicator_module"]:
        row["label"] = row["module"] or unnamed
    rows = data["by_indicator"]
    if group == "indicator" and module is not None:
        rows = [r for r in rows if r["module"] == module]
    for row in rows:
        row["label"] = row["name"] or row["code"]
        row["module_label"] = row["module"] or unnamed
        row["url"] = link(source=row["source_id"], rule=row["code"])
        row["substantiated_url"] = link(source=row["source_id"], rule=row["code"], conclusion="substantiated_any")
    return {"group": group, "module": module, "module_label": (module or unnamed) if module is not None else None,
            "modules": data["by_indicator_module"], "rows": rows}


@screen_required("dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    form, period, _preset = period_from(request)
    data = dashboard_for(request.user, period)
    list_url = reverse("web:alert_list")

    def link(**kw: Any) -> str:
        params = QueryDict(mutable=True)
        if period.start:
            params["created_from"] = period.start.isoformat()
        if period.end:
            params["created_to"] = period.end.isoformat()
        for k, v in kw.items():
            if v not in (None, ""):
                params[k] = v
        return f"{list_url}?{params.urlencode()}"

    _rank_units(data["by_unit"])
    for row in data["by_unit"]:
        # The "own unit only" row counts that unit exactly; its links must list the same alerts.
        only = "1" if row.get("own") else None
        row["url"] = link(unit=row["code"], unit_only=only)
        row["closed_url"] = link(unit=row["code"], state="closed", unit_only=only)
        row["overdue_url"] = link(unit=row["code"], state="overdue", unit_only=only)
    for row in data["by_domain"]:
        row["label"] = str(Domain(row["domain"]).label) if row["domain"] in Domain.values else row["domain"]
        row["url"] = link(domain=row["domain"])
    for row in data["by_source"]:
        row["url"] = link(source=row["source_id"])
    indicators = _indicator_view(request, data, link)
    for row in data["outcomes"]:
        row["label"] = str(Outcome(row["outcome"]).label)
        row["url"] = link(outcome=row["outcome"])
    tz = timezone.get_current_timezone()
    for row in data["trend"]:
        b = row["bucket"].astimezone(tz).date() if hasattr(row["bucket"], "astimezone") else row["bucket"]
        row["label"] = b.strftime("%Y-%m") if row["unit"] == "month" else b.isoformat()
        if row["unit"] == "month":
            nxt = (b.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            nxt = b + timedelta(days=7)
        params = QueryDict(mutable=True)
        params["created_from"] = b.isoformat()
        params["created_to"] = (nxt - timedelta(days=1)).isoformat()
        row["url"] = f"{list_url}?{params.urlencode()}"
        # "Closed" in a bucket counts alerts raised in the period and closed in that bucket.
        row["closed_url"] = link(closed_from=b.isoformat(), closed_to=(nxt - timedelta(days=1)).isoformat())
    stage_days = [
        {"status": s, "label": str(Status(s).label), "days": data["stage_days"].get(s), "url": link(left_stage=s)}
        for s in Status.values
        if s != Status.CLOSED
    ]
    people = data["people"]
    people_rows = [
        {"label": str(DispositionPerson.Form(f).label), "n": people["people_by_form"][f], "url": link(person=f)}
        for f in ("form_1", "form_2", "form_3", "form_4")
    ] + [
        {"label": label, "n": people[key], "url": link(person=which)}
        for key, which, label in [
            ("people_case_filed", "case_filed", _("Case filed (立案)")),
            ("people_detained", "detained", _("Detained (留置)")),
            ("people_transferred", "transferred", _("Transferred to the judiciary (移送司法)")),
        ]
    ]
    links = {
        "total": link(),
        "open": link(state="open"),
        "closed": link(state="closed"),
        "dismissed": link(state="dismissed"),
        "overdue": link(state="overdue"),
        "substantiated": link(conclusion="substantiated_any"),
        "disposed": link(disposition="any"),
        "case_filed": link(disposition="case_filed"),
    }
    charts = {
        "labels": {
            "raised": _("Raised"),
            "closed": _("Closed"),
            "closure_rate": _("Closure rate"),
            "alerts": _("Alerts"),
            "days": _("Days"),
            "recovered": _("Amount recovered (yuan)"),
        },
        "units": [
            {"name": r["name"], "rate": float(r["closure_rate"]) * 100, "total": r["total"], "url": r["url"]}
            for r in data["by_unit"]
        ],
        "domains": [{"name": r["label"], "value": r["total"], "url": r["url"]} for r in data["by_domain"]],
        "sources": [{"name": r["source__name"], "value": r["total"], "url": r["url"]} for r in data["by_source"]],
        "outcomes": [{"name": r["label"], "value": r["n"], "url": r["url"]} for r in data["outcomes"]],
        "trend": [
            {"name": r["label"], "raised": r["raised"], "closed": r["closed"], "url": r["url"]} for r in data["trend"]
        ],
        "stages": [{"name": r["label"], "value": r["days"] or 0} for r in stage_days],
    }
    return render(
        request,
        "web/dashboard.html",
        {
            "form": form,
            "period": period,
            "data": data,
            "links": links,
            "charts": charts,
            "stage_days": stage_days,
            "unit_escalations": list(active_unit_escalations(request.user)),
            "people_rows": people_rows,
            "indicators": indicators,
            "tab": "dashboard",
        },
    )
