"""Screens of the warehouse: list, model card, datasets (upload with preview), run progress and
the zero-code factory. Thin: scope from selectors, writes through services; out of scope → 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import units_visible_to
from alerts.models import Domain, RiskLevel
from alerts.policy import WAREHOUSE_PERMISSIONS, may_in_warehouse
from core.masking import mask_value
from screening import importing, selectors, services
from screening.models import ModelStatus, Schedule
from screening.templates import TEMPLATES, describe

STEP_LABELS = {
    "source": gettext_lazy("Source"), "filter": gettext_lazy("Filter"), "keyword": gettext_lazy("Keyword"),
    "join": gettext_lazy("Join"), "window": gettext_lazy("Sliding window"), "threshold": gettext_lazy("Threshold"),
    "peer": gettext_lazy("Peer comparison"), "emit": gettext_lazy("Emit alert"),
    "compute": gettext_lazy("Compute columns"), "aggregate": gettext_lazy("Group and count"),
    "dedupe": gettext_lazy("Remove duplicates"), "spread": gettext_lazy("Close values in a group"),
}


# The steps the factory's editor has fields for (compute, aggregate, dedupe, spread are written as
# JSON specs or come from templates until the factory learns them; a model using them still opens).
FACTORY_PALETTE = ("source", "filter", "keyword", "join", "window", "threshold", "peer", "emit")

MODEL_ACTIONS = {"run": "run.start", "copy": "model.copy", "activate": "model.update", "retire": "model.update",
                 "draft": "model.update", "schedule": "model.update"}


def _require(request: HttpRequest, action: str) -> None:
    """403 (with the reason) unless the user's role may do `action` (alerts.policy.WAREHOUSE_PERMISSIONS)."""
    if not may_in_warehouse(request.user, action):
        raise PermissionDenied(_("Only supervisors and administrators may change the model warehouse; "
                                 "your role can only read it."))


def _perms(request: HttpRequest) -> dict[str, bool]:
    """What the screens may offer: buttons the user may not use are not shown."""
    return {a.replace(".", "_"): may_in_warehouse(request.user, a) for a in WAREHOUSE_PERMISSIONS}


@login_required
def warehouse(request: HttpRequest) -> HttpResponse:
    f = {k: request.GET.get(k, "").strip() for k in ("domain", "unit", "status", "q")}
    qs = selectors.warehouse_list(request.user, **f)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    lang = get_language() or "zh-hans"
    return render(request, "screening/warehouse.html", {
        "tab": "screening", "page": page, "filters": f, "domains": Domain.choices, "statuses": ModelStatus.choices,
        "units": units_visible_to(request.user), "templates": [describe(t, lang) for t in TEMPLATES.values()],
        "can": _perms(request),
    })


def _spec_steps(spec: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for s in spec.get("steps", []) if isinstance(spec, dict) else []:
        detail = {k: v for k, v in s.items() if k not in ("id", "type")}
        label = str(STEP_LABELS.get(s.get("type"), s.get("type")))
        steps.append({"id": s.get("id"), "type": s.get("type"), "label": label, "detail": detail})
    return steps


@login_required
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(selectors.models_visible_to(request.user), pk=pk)
    runs = selectors.runs_visible_to(request.user).filter(model__code=model.code)[:20]
    return render(request, "screening/model_detail.html", {
        "tab": "screening", "model": model, "datasets": services.model_datasets(model), "runs": runs,
        "results": selectors.model_results(model), "cases": selectors.typical_cases(model),
        "versions": selectors.versions_of(model).filter(org_unit__in=units_visible_to(request.user)),
        "steps": _spec_steps(model.spec), "template": TEMPLATES.get(model.template), "can": _perms(request),
    })


@login_required
@require_POST
def model_action(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(selectors.models_visible_to(request.user), pk=pk)
    action = request.POST.get("action")
    _require(request, MODEL_ACTIONS.get(str(action), "model.update"))
    try:
        if action == "run":
            with transaction.atomic():
                run = services.screening_run_start(model=model, by=request.user)
            return redirect("screening:run", pk=run.pk)
        if action == "copy":
            unit = request.user.org_unit
            if unit is None:
                raise ValidationError(_("You belong to no unit."))
            copy = services.screening_model_copy(model=model, by=request.user, org_unit=unit)
            messages.success(request, _("Copied as a new draft model."))
            return redirect("screening:model", pk=copy.pk)
        if action in ("activate", "retire", "draft"):
            status = {"activate": ModelStatus.ACTIVE, "retire": ModelStatus.RETIRED, "draft": ModelStatus.DRAFT}[action]
            updated = services.screening_model_update(model_id=model.pk, by=request.user, changes={"status": status})
            return redirect("screening:model", pk=updated.pk)
        if action == "schedule" and request.POST.get("schedule", "") in Schedule.values:
            updated = services.screening_model_update(model_id=model.pk, by=request.user,
                                                      changes={"schedule": request.POST.get("schedule", "")})
            return redirect("screening:model", pk=updated.pk)
    except (ValidationError, services.NotFound, services.Forbidden) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("screening:model", pk=model.pk)


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        _require(request, "dataset.upload")
        units = units_visible_to(request.user)
        unit = units.filter(code=request.POST.get("org_unit", "")).first()
        upload = request.FILES.get("file")
        if unit is None:
            errors.append(_("Choose a unit."))
        elif upload is None:
            errors.append(_("Choose a CSV or XLSX file."))
        else:
            try:
                ds = services.dataset_create(
                    name=request.POST.get("name", ""), org_unit=unit, upload=upload, by=request.user,
                    column_types=importing.parse_column_types(request.POST.get("column_types", "")))
            except ValidationError as exc:
                errors += [m for ms in exc.message_dict.values() for m in ms]
            else:
                messages.success(request, _("Imported %(n)d rows.") % {"n": ds.row_count})
                return redirect("screening:dataset", pk=ds.pk)
    page = Paginator(selectors.datasets_visible_to(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "screening/datasets.html", {
        "tab": "screening", "page": page, "units": units_visible_to(request.user), "errors": errors,
        "form": request.POST if request.method == "POST" else {}, "can": _perms(request),
    })


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ds = get_object_or_404(selectors.datasets_visible_to(request.user), pk=pk)
    try:
        rows = [[mask_value(r.get(c["name"])) for c in ds.columns]
                for r in importing.preview(Path(services.dataset_local_path(ds)), limit=20)]
    except Exception:  # noqa: BLE001 - a missing file still shows the card
        rows = []
    return render(request, "screening/dataset_detail.html", {"tab": "screening", "dataset": ds, "rows": rows})


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs_visible_to(request.user), pk=pk)
    hits = Paginator(selectors.hits_of(run), 50).get_page(request.GET.get("page"))
    return render(request, "screening/run_detail.html", {"tab": "screening", "run": run, "hits": hits})


@login_required
def factory(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    model = get_object_or_404(selectors.models_visible_to(request.user), pk=pk) if pk else None
    lang = get_language() or "zh-hans"
    datasets = [{"id": d.pk, "name": d.name, "unit": d.org_unit.code, "columns": d.columns}
                for d in selectors.datasets_visible_to(request.user)[:500]]
    start: dict[str, Any] = {"spec": {"steps": []}, "datasets": {}}
    if model is not None:
        start = {"spec": model.spec, "datasets": {k: v.pk for k, v in services.model_datasets(model).items()},
                 "model": {"id": model.pk, "name": model.name, "code": model.code, "version": model.version,
                           "status": model.status, "org_unit": model.org_unit.code, "domain": model.domain,
                           "risk_level": model.risk_level}}
    elif request.GET.get("template") in TEMPLATES:
        t = describe(TEMPLATES[request.GET["template"]], lang)
        start = {"spec": t["spec"], "datasets": {}, "template": t["code"], "name": t["name"], "domain": t["domain"]}
    return render(request, "screening/factory.html", {
        "tab": "screening", "model": model, "can": _perms(request),
        "factory_data": {
            "start": start, "datasets": datasets,
            "steps": {k: str(v) for k, v in STEP_LABELS.items() if k in FACTORY_PALETTE},
            "units": [{"code": u.code, "name": u.name} for u in units_visible_to(request.user)],
            "domains": [[k, str(v)] for k, v in Domain.choices],
            "risk_levels": [[k, str(v)] for k, v in RiskLevel.choices],
            "templates": [{"code": t.code, "name": t.name_zh if lang.startswith("zh") else t.name_en}
                          for t in TEMPLATES.values()],
            "i18n": {
                "preview": _("Preview"), "remove": _("Remove"), "input": _("Input"),
                "add_condition": _("Add condition"),
                "add_key": _("Add key"), "saved": _("Saved."), "no_rows": _("No rows."), "dataset": _("Dataset"),
                "role": _("Role"), "field": _("Column"), "value": _("Value"), "words": _("Words (comma-separated)"),
                "left": _("Left"), "right": _("Right"), "how": _("Join type"), "partition_by": _("Group by"),
                "date_field": _("Date column"), "window_days": _("Window (days)"), "value_field": _("Value column"),
                "group_by": _("Group by"), "stat": _("Statistic"), "factor": _("Factor"),
                "subject_field": _("Subject column"), "amount_field": _("Amount column"), "title": _("Title template"),
                "risk_level": _("Risk level"), "mode": _("Match"), "any": _("any word"), "all": _("all words"),
                "none": _("(none)"), "drop_here": _("Drag steps here from the palette"),
            },
        },
    })
