"""Screens of the warehouse: list, model card, datasets (upload with preview), run progress and
the zero-code factory. Thin: scope from selectors, writes through services; out of scope → 404."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import OrgUnit
from accounts.selectors import units_visible_to
from alerts.domains import domain_choices, domain_names
from alerts.models import RiskLevel
from alerts.policy import WAREHOUSE_PERMISSIONS, may_in_warehouse
from alerts.selectors import alerts_visible_to
from alerts.states import Status
from core.ids import parse_ids
from core.masking import mask_value
from screening import describe, importing, selectors, services
from screening.models import DatasetStatus, ModelStatus, RunStatus, Schedule
from screening.templates import TEMPLATES
from screening.templates import describe as describe_template

STEP_LABELS = describe.STEP_LABELS


# The steps the factory's editor has fields for (compute, aggregate, dedupe, spread are written as
# JSON specs or come from templates until the factory learns them; a model using them still opens).
FACTORY_PALETTE = ("source", "filter", "keyword", "join", "window", "threshold", "peer", "emit")

MODEL_ACTIONS = {"run": "run.start", "copy": "model.copy", "activate": "model.update", "retire": "model.update",
                 "draft": "model.update", "schedule": "model.update", "tags": "model.update"}


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
    f = {k: request.GET.get(k, "").strip() for k in ("domain", "unit", "status", "q", "template", "tag")}
    qs = selectors.shared_warehouse(request.user, **f)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    lang = get_language() or "zh-hans"
    visible = set(units_visible_to(request.user).values_list("pk", flat=True))
    names = domain_names()
    cards = [{"model": m, "mine": m.org_unit_id in visible, "domain": names.get(m.domain, m.domain),
              "rules": sum(1 for s in (m.spec or {}).get("steps", []) if isinstance(s, dict)
                           and s.get("type") not in ("source", "emit")),
              "template": TEMPLATES[m.template].name_zh if m.template in TEMPLATES and lang.startswith("zh")
              else TEMPLATES[m.template].name_en if m.template in TEMPLATES else ""} for m in page]
    return render(request, "screening/warehouse.html", {
        "tab": "screening", "page": page, "cards": cards, "filters": f, "domains": domain_choices(),
        "statuses": ModelStatus.choices, "totals": selectors.warehouse_totals(qs),
        "units": OrgUnit.objects.order_by("path"),
        "templates": [{**d, "description": describe.plain_text(d["description"], d["example_params"])}
                      for d in (describe_template(t, lang) for t in TEMPLATES.values())],
        "can": _perms(request),
    })


def _card(request: HttpRequest, model: Any, *, preview: dict[str, Any] | None = None,
          preview_error: str = "") -> HttpResponse:
    """The model card: meta, the three elements (监督点 / 监督数据 / 监督规则), the diagram, 主要成效
    per version, typical cases, runs. Another unit's published model shows no data, runs or names."""
    mine = selectors.in_scope(request.user, model)
    links = services.model_datasets(model)
    names = {role: ds.name for role, ds in links.items()} if mine else {}
    used = describe.used_columns(model.spec, {role: ds.columns for role, ds in links.items()})
    data_needs = [{"role": role, "label": describe.role_label(role), "dataset": links.get(role) if mine else None,
                   "columns": [{"name": c["name"], "type": describe.COLUMN_TYPE_LABELS.get(c["type"], c["type"])}
                               for c in used.get(role, [])]}
                  for role in sorted(links) or describe_roles(model.spec)]
    runs = selectors.runs_visible_to(request.user).filter(model__code=model.code)[:20] if mine else []
    versions = selectors.versions_of(model).filter(
        Q(org_unit__in=units_visible_to(request.user)) | Q(status=ModelStatus.ACTIVE))
    lang = get_language() or "zh-hans"
    template = TEMPLATES.get(model.template)
    return render(request, "screening/model_detail.html", {
        "tab": "screening", "model": model, "mine": mine, "data_needs": data_needs, "runs": runs,
        "results": selectors.version_results(model), "cases": selectors.typical_cases_for(request.user, model),
        "versions": versions, "steps": describe.rule_sentences(model.spec, names),
        "diagram": mark_safe(describe.diagram_svg(model.spec, names)),  # noqa: S308 - built from escaped text
        "template_name": (template.name_zh if lang.startswith("zh") else template.name_en) if template else "",
        "description": _description(model, lang), "can": _perms(request), "preview": preview,
        "domain_label": domain_names().get(model.domain, model.domain),
        "preview_error": preview_error,
    })


def describe_roles(spec: Any) -> list[str]:
    return [s.get("dataset") for s in (spec or {}).get("steps", []) if isinstance(s, dict)
            and s.get("type") == "source" and isinstance(s.get("dataset"), str)]


def _description(model: Any, lang: str) -> str:
    """A built-in model's stored description holds both languages (zh, blank line, en): show one."""
    template = TEMPLATES.get(model.template)
    text = model.description or ""
    if template and text == f"{template.description_zh}\n\n{template.description_en}":
        text = template.description_zh if lang.startswith("zh") else template.description_en
    return describe.plain_text(text, model.params)


@login_required
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(selectors.warehouse_models_for(request.user), pk=pk)
    return _card(request, model)


@login_required
@require_POST
def model_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview a model of one's own unit on its datasets: nothing is saved, no alert raised."""
    model = get_object_or_404(selectors.models_visible_to(request.user), pk=pk)
    _require(request, "spec.preview")
    try:
        result = services.screening_preview(by=request.user, spec=model.spec, datasets=services.model_datasets(model),
                                            org_unit=model.org_unit, code=model.code)
    except ValidationError as exc:
        return _card(request, model, preview_error="; ".join(exc.messages))
    return _card(request, model, preview=result)


@login_required
def model_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy any published model (or one of your own) onto your datasets: choose a dataset per role,
    then the column of yours that stands for each column the model uses (suggested by name and
    type). Saving makes a draft in your unit."""
    model = get_object_or_404(selectors.warehouse_models_for(request.user), pk=pk)
    _require(request, "model.copy")
    data = request.POST if request.method == "POST" else request.GET
    units = units_visible_to(request.user)
    unit = units.filter(code=data.get("org_unit", "")).first() or request.user.org_unit
    my_datasets = list(selectors.datasets_visible_to(request.user).filter(org_unit__in=units))
    by_id = {str(d.pk): d for d in my_datasets}
    used = services.model_columns_used(model)
    roles = describe_roles(model.spec)
    chosen = {role: by_id.get(data.get(f"ds-{role}", "")) for role in roles}
    errors: list[str] = []
    column_map: dict[str, dict[str, str]] = {}
    rows = []
    for role in roles:
        ds = chosen[role]
        suggested = services.column_suggestions(used.get(role, []), ds) if ds else {}
        cols = []
        for c in used.get(role, []):
            choice = data.get(f"col-{role}-{c['name']}", None)
            value = suggested.get(c["name"], "") if choice is None else choice
            if ds and value:
                column_map.setdefault(role, {})[c["name"]] = value
            options = [o for o in (ds.columns if ds else []) if services._types_fit(c["type"], o["type"])]
            cols.append({"name": c["name"], "type": describe.COLUMN_TYPE_LABELS.get(c["type"], c["type"]),
                         "field": f"col-{role}-{c['name']}", "value": value, "options": options})
        rows.append({"role": role, "label": describe.role_label(role), "help": describe.ROLE_HELP.get(role, ""),
                     "field": f"ds-{role}", "dataset": ds, "columns": cols})
    if request.method == "POST" and request.POST.get("action") == "save":
        if any(ds is None for ds in chosen.values()):
            errors.append(_("Choose one of your datasets for every role."))
        else:
            try:
                copy = services.screening_model_copy_mapped(
                    model=model, by=request.user, org_unit=unit, datasets=chosen, column_map=column_map,
                    name=request.POST.get("name", "").strip())
            except ValidationError as exc:
                errors += [m for ms in exc.message_dict.values() for m in ms]
            else:
                messages.success(request, _("Copied as a new draft model. Preview it, then activate it."))
                return redirect("screening:model", pk=copy.pk)
    return render(request, "screening/model_copy.html", {
        "tab": "screening", "model": model, "rows": rows, "datasets": my_datasets, "units": units, "unit": unit,
        "errors": errors, "name": data.get("name", "") or _("Copy of %(name)s") % {"name": model.name},
        "ready": all(ds is not None for ds in chosen.values()),
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
        if action == "tags":
            services.screening_model_tags_set(model_id=model.pk, by=request.user, tags=request.POST.get("tags", ""))
            messages.success(request, _("Tags saved."))
            return redirect("screening:model", pk=model.pk)
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
                if ds.status == DatasetStatus.IMPORTING:
                    messages.info(request, _("The file is large: it is being imported in the background, "
                                             "and this page shows how far it has got."))
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
    rows = []
    if ds.status == DatasetStatus.READY:
        try:
            rows = [[mask_value(r.get(c["name"])) for c in ds.columns]
                    for r in importing.preview(Path(services.dataset_local_path(ds)), limit=20)]
        except Exception:  # noqa: BLE001 - a missing file still shows the card
            rows = []
    columns = [{**c, "label": describe.COLUMN_TYPE_LABELS.get(c["type"], "")} for c in ds.columns]
    return render(request, "screening/dataset_detail.html", {"tab": "screening", "dataset": ds, "rows": rows,
                                                             "columns": columns})


@login_required
def dataset_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's progress, polled by the dataset page (htmx) while the worker imports; once
    the import has ended the page reloads to show the rows or the reason it failed."""
    ds = get_object_or_404(selectors.datasets_visible_to(request.user), pk=pk)
    response = render(request, "screening/_dataset_progress.html", {"dataset": ds})
    if ds.status != DatasetStatus.IMPORTING:
        response["HX-Refresh"] = "true"
    return response


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs_visible_to(request.user), pk=pk)
    hits = Paginator(selectors.hits_of(run), 50).get_page(request.GET.get("page"))
    ids = [h.alert_id for h in hits if h.alert_id]
    linkable = set(alerts_visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    labels = {k: str(v) for k, v in RunStatus.choices}
    return render(request, "screening/run_detail.html", {
        "tab": "screening", "run": run, "hits": hits, "linkable": linkable, "status_labels": labels,
        "status_label": labels.get(run.status, ""),
    })


@login_required
def factory(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    model = get_object_or_404(selectors.models_visible_to(request.user), pk=pk) if pk else None
    lang = get_language() or "zh-hans"
    datasets = [{"id": d.pk, "name": d.name, "unit": d.org_unit.code, "columns": d.columns}
                for d in selectors.datasets_visible_to(request.user).filter(status=DatasetStatus.READY)[:500]]
    start: dict[str, Any] = {"spec": {"steps": []}, "datasets": {}}
    if model is not None:
        start = {"spec": model.spec, "datasets": {k: v.pk for k, v in services.model_datasets(model).items()},
                 "model": {"id": model.pk, "name": model.name, "code": model.code, "version": model.version,
                           "status": model.status, "org_unit": model.org_unit.code, "domain": model.domain,
                           "risk_level": model.risk_level, "supervision_points": model.supervision_points}}
    elif request.GET.get("template") in TEMPLATES:
        t = describe_template(TEMPLATES[request.GET["template"]], lang)
        start = {"spec": t["spec"], "datasets": {}, "template": t["code"], "name": t["name"], "domain": t["domain"]}
    return render(request, "screening/factory.html", {
        "tab": "screening", "model": model, "can": _perms(request),
        "factory_data": {
            "start": start, "datasets": datasets, "steps": {k: str(v) for k, v in STEP_LABELS.items()},
            "palette": [[k, str(STEP_LABELS[k])] for k in ("source", "filter", "keyword", "join", "window", "threshold",
                                                          "peer", "emit")],
            "ops": {k: str(v) for k, v in describe.OP_LABELS.items()},
            "joins": {k: str(v) for k, v in describe.JOIN_LABELS.items()},
            "stats": {k: str(describe.STAT_LABELS[k]) for k in ("median", "mean")},
            "columns": {k: str(v) for k, v in describe.INTERNAL_COLUMNS.items()},
            "roles": {k: str(v) for k, v in describe.ROLE_LABELS.items()},
            "can_preview": may_in_warehouse(request.user, "spec.preview"),
            "units": [{"code": u.code, "name": u.name} for u in units_visible_to(request.user)],
            "domains": [[k, v] for k, v in domain_choices()],
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
                "step_n": _("Step %(n)s"), "colon": _(": "), "op": _("Condition"), "from": _("From"), "to": _("To"),
                "reorder": _("This step read a step that now comes after it. Choose its input again (it was not "
                             "changed for you)."),
                "unsaved": _("Not saved: "),
                "mark_emit_last": _("The step that raises alerts must be the last one."),
            },
        },
    })


def _form_params(t: Any, data: Any, datasets: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """The template's parameters as form fields (labels, help, units, type-filtered columns), the
    values read from `data` (defaults from the template's example) and the problems found, each
    naming the field by its label."""
    fields, params, errors = [], {}, []
    submitted = "name" in data
    for name, kind in t.params.items():
        meta = describe.PARAM_META.get(name, {})
        role = describe.param_role(t.roles, name)
        ds = datasets.get(role)
        types = meta.get("types")
        options = [c["name"] for c in (ds.columns if ds else []) if not types or c["type"] in types]
        example = t.example.get(name)
        label = describe.param_label(name)
        help_text = meta.get("help_required", meta.get("help", "")) if kind == "column" else meta.get("help", "")
        field = {"name": name, "kind": kind, "label": label, "help": help_text, "options": options,
                 "unit": str(describe.UNITS.get(meta.get("unit", ""), "")), "input": f"p-{name}",
                 "role_label": describe.role_label(role) if len(t.roles) > 1 else ""}
        if kind in ("column", "optional-column"):
            value = data.get(field["input"], example if isinstance(example, str) and example in options else "")
            field["value"] = value
            if value:
                params[name] = value
            elif kind == "column" and submitted:
                errors.append(_("%(label)s: choose a column.") % {"label": label})
        elif kind == "columns":
            chosen = data.getlist(field["input"]) if hasattr(data, "getlist") else []
            field["value"] = chosen
            if chosen:
                params[name] = chosen
            elif submitted:
                errors.append(_("%(label)s: tick at least one column.") % {"label": label})
        elif kind in ("int", "number"):
            raw = str(data.get(field["input"], "" if example is None else example)).strip()
            field["value"] = raw
            try:
                value = int(raw) if kind == "int" else float(raw)
                if value <= 0:
                    raise ValueError
                params[name] = int(value) if kind == "number" and float(value).is_integer() else value
            except ValueError:
                if submitted:
                    errors.append((_("%(label)s: give a whole number above zero.") if kind == "int" else
                                   _("%(label)s: give a number above zero.")) % {"label": label})
        elif kind == "conditions":
            rows = []
            for i in range(3):
                column = data.get(f"{field['input']}-field-{i}", "")
                words = data.get(f"{field['input']}-words-{i}", "")
                if not submitted and i == 0 and isinstance(example, list) and example:
                    column = example[0].get("field", "") if example[0].get("field") in options else ""
                    words = "，".join(example[0].get("any_of", []))
                rows.append({"i": i, "field": column, "words": words})
                word_list = [w.strip() for w in words.replace("，", ",").replace("、", ",").split(",") if w.strip()]
                if column and word_list:
                    params.setdefault(name, []).append({"field": column, "any_of": word_list})
            field["rows"] = rows
            if name not in params and submitted:
                errors.append(_("%(label)s: choose a column and give at least one word.") % {"label": label})
        else:
            value = data.get(field["input"], "" if example is None else example)
            field["value"] = value
            if value not in ("", None):
                params[name] = value
        fields.append(field)
    return params, fields, errors


@login_required
def factory_form(request: HttpRequest, code: str) -> HttpResponse:
    """A built-in model as a form: datasets by role (with what each must contain), columns from
    drop-downs filtered to the right type, numbers with their units. Preview runs it on your data
    without saving; Save creates a draft model. "Open as steps" leads to the canvas."""
    template = TEMPLATES.get(code)
    if template is None:
        raise Http404
    lang = get_language() or "zh-hans"
    data = request.POST if request.method == "POST" else request.GET
    units = units_visible_to(request.user)
    my_datasets = list(selectors.datasets_visible_to(request.user))
    by_id = {str(d.pk): d for d in my_datasets}
    datasets = {role: by_id[data.get(f"ds-{role}", "")] for role in template.roles
                if data.get(f"ds-{role}", "") in by_id}
    roles = [{"role": r, "label": describe.role_label(r), "help": describe.ROLE_HELP.get(r, ""), "input": f"ds-{r}",
              "dataset": datasets.get(r)} for r in template.roles]
    params, fields, errors = _form_params(template, data, datasets)
    preview = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("preview", "save"):
        if len(datasets) < len(template.roles):
            errors.insert(0, _("Choose a dataset for every part."))
        if not errors:
            try:
                if action == "preview":
                    spec = services.expand_template(code, params)
                    preview = services.screening_preview(by=request.user, spec=spec, datasets=datasets)
                else:
                    unit = units.filter(code=request.POST.get("org_unit", "")).first() or request.user.org_unit
                    model = services.screening_model_create(
                        by=request.user, name=request.POST.get("name", "").strip(), org_unit=unit, datasets=datasets,
                        template=code, params=params, domain=request.POST.get("domain", ""),
                        risk_level=request.POST.get("risk_level") or RiskLevel.ORANGE,
                        supervision_points=request.POST.get("supervision_points", ""))
                    messages.success(request, _("Saved as a draft model. Preview it, then activate it."))
                    return redirect("screening:model", pk=model.pk)
            except ValidationError as exc:
                errors += [m for ms in (exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages])
                           for m in ms]
    described = describe_template(template, lang)
    described["description"] = describe.plain_text(described["description"], params or template.example)
    return render(request, "screening/factory_form.html", {
        "tab": "screening", "template": described, "roles": roles, "fields": fields, "datasets": my_datasets,
        "errors": errors, "preview": preview, "units": units, "domains": domain_choices(),
        "risk_levels": RiskLevel.choices, "form": data, "can": _perms(request),
        "default_domain": data.get("domain", template.domain), "default_unit": data.get("org_unit", "")
        or getattr(request.user.org_unit, "code", ""),
    })


# ----- special supervision projects (专项监督) -----

def _project_form(request: HttpRequest, project: Any = None) -> tuple[Any, list[str]]:
    """Save a project from the screen's form through the same service as the API."""
    units = units_visible_to(request.user)
    post = request.POST
    lead = units.filter(code=post.get("lead_unit", "")).first() or (project.lead_unit if project else None)
    errors: list[str] = []
    if lead is None:
        return None, [_("Choose the lead unit.")]
    dates = {}
    for key in ("start_date", "end_date"):
        raw = post.get(key, "").strip()
        try:
            dates[key] = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(_("Give dates as 2026-12-01."))
    if errors:
        return None, errors
    try:
        saved = services.special_project_save(
            by=request.user, project=project, name=post.get("name", ""), description=post.get("description", ""),
            lead_unit=lead, models=list(selectors.warehouse_models_for(request.user)
                                        .filter(pk__in=parse_ids(post.getlist("models")))),
            units=list(units.filter(code__in=post.getlist("units"))), **dates)
    except ValidationError as exc:
        return None, [m for ms in exc.message_dict.values() for m in ms]
    return saved, []


def _project_choices(request: HttpRequest) -> dict[str, Any]:
    unit = request.user.org_unit
    below = [u for u in units_visible_to(request.user) if unit is None or u.pk != unit.pk]
    return {"below": below, "model_choices": selectors.shared_warehouse(request.user, status=ModelStatus.ACTIVE)[:200],
            "units": units_visible_to(request.user)}


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    _require(request, "project.read")
    errors: list[str] = []
    if request.method == "POST":
        _require(request, "project.manage")
        project, errors = _project_form(request)
        if project is not None:
            messages.success(request, _("Project saved."))
            return redirect("screening:project", pk=project.pk)
    return render(request, "screening/projects.html", {
        "tab": "screening", "projects": selectors.projects_visible_to(request.user), "errors": errors,
        "form": request.POST if request.method == "POST" else {}, "can": _perms(request), **_project_choices(request),
    })


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "project.read")
    project = get_object_or_404(selectors.projects_visible_to(request.user), pk=pk)
    manages = selectors.projects_managed_by(request.user).filter(pk=pk).exists()
    errors: list[str] = []
    if request.method == "POST":
        _require(request, "project.manage")
        if not manages:
            raise PermissionDenied(_("Only the lead unit may change this project."))
        saved, errors = _project_form(request, project)
        if saved is not None:
            messages.success(request, _("Project saved."))
            return redirect("screening:project", pk=pk)
    status_labels = dict(Status.choices)
    figures = selectors.project_unit_figures(request.user, project)
    for row in figures:
        row["stage_list"] = [(status_labels[s], n) for s, n in row["stages"].items()]
    return render(request, "screening/project_detail.html", {
        "tab": "screening", "project": project, "figures": figures, "manages": manages and _perms(request)[
            "project_manage"], "models": project.screening_models.select_related("org_unit"),
        "stages": [label for _s, label in Status.choices], "errors": errors, **_project_choices(request),
        "can": _perms(request),
        "chosen_units": set(project.units.values_list("code", flat=True)),
        "chosen_models": set(project.screening_models.values_list("pk", flat=True)),
    })


# ----- business systems' embedded indicators -----

@login_required
def indicator_list(request: HttpRequest) -> HttpResponse:
    """Each business system's embedded indicators with their results; grouped by module or system."""
    _require(request, "indicator.read")
    rows = selectors.indicator_results(request.user)
    by = request.GET.get("by", "")
    groups = selectors.indicator_groups(rows, by=by) if by in ("module", "source") else None
    return render(request, "screening/indicators.html", {
        "tab": "screening", "rows": rows, "groups": groups, "by": by, "can": _perms(request)})


@login_required
def indicator_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "indicator.update")
    row = next((r for r in selectors.indicator_results(request.user) if r["indicator"].pk == pk), None)
    if row is None:
        raise Http404
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.indicator_update(indicator_id=pk, by=request.user,
                                      changes={k: request.POST.get(k, "") for k in services.INDICATOR_FIELDS})
        except ValidationError as exc:
            errors = [m for ms in exc.message_dict.values() for m in ms]
        except services.NotFound:
            raise Http404 from None
        else:
            messages.success(request, _("Indicator saved."))
            return redirect("screening:indicators")
    return render(request, "screening/indicator_edit.html", {"tab": "screening", "ind": row["indicator"],
                                                             "errors": errors})
