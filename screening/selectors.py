"""Reads of the warehouse, always through the requester's scope (own unit and below)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import OrgUnit, User
from accounts.selectors import units_visible_to
from alerts.models import Alert, SourceIndicator, SourceSystem
from alerts.policy import may_in_warehouse
from alerts.selectors import alerts_visible_to
from alerts.states import CONCLUDED_STATUSES, Conclusion, Status
from cases.models import Disposition
from cases.people import superseded
from screening.models import Dataset, ModelStatus, ScreeningHit, ScreeningModel, ScreeningRun, SpecialProject
from workflow import rollups
from workflow.models import AlertRollup

SUBSTANTIATED = [Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]


def _credited(prefix: str, **conclusion: Any) -> Q:
    return Q(**{f"{prefix}status__in": CONCLUDED_STATUSES}) & Q(**{f"{prefix}{k}": v for k, v in conclusion.items()})


# A hit merged into a lead is credited with the lead's conclusion: the model found the case even
# if another source's alert carried it through the loop.
CONCLUDED = (_credited("") & ~Q(conclusion="")) | (
    Q(status=Status.MERGED) & _credited("merged_into__") & ~Q(merged_into__conclusion="")
)
SUBSTANTIATED_Q = _credited("", conclusion__in=SUBSTANTIATED) | (
    Q(status=Status.MERGED) & _credited("merged_into__", conclusion__in=SUBSTANTIATED)
)


def datasets_visible_to(user: User) -> QuerySet[Dataset]:
    return Dataset.objects.filter(org_unit__in=units_visible_to(user)).select_related("org_unit", "created_by")


def models_visible_to(user: User, *, latest_only: bool = False) -> QuerySet[ScreeningModel]:
    qs = ScreeningModel.objects.filter(org_unit__in=units_visible_to(user)).select_related("org_unit", "created_by")
    return qs.filter(is_latest=True) if latest_only else qs


def warehouse_list(user: User, *, domain: str = "", unit: str = "", status: str = "", q: str = "",
                   ) -> QuerySet[ScreeningModel]:
    # Query-string text may hold NUL characters, which PostgreSQL text cannot: drop them.
    domain, unit, q = (str(v or "").replace("\x00", "").strip() for v in (domain, unit, q))
    qs = models_visible_to(user, latest_only=True)
    if domain:
        qs = qs.filter(domain=domain)
    if unit:
        qs = qs.filter(org_unit__code=unit)
    if status in ModelStatus.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(supervision_points__icontains=q)
                       | Q(description__icontains=q))
    return qs.order_by("-updated_at", "code")


def runs_visible_to(user: User) -> QuerySet[ScreeningRun]:
    return ScreeningRun.objects.filter(model__org_unit__in=units_visible_to(user)).select_related("model")


def hits_of(run: ScreeningRun) -> QuerySet[ScreeningHit]:
    return run.hits.order_by("id")


def model_alerts(model: ScreeningModel) -> QuerySet[Alert]:
    """Alerts raised by any version of the model (rule = model code, source = a screening feed)."""
    return Alert.objects.filter(rule_code=model.code, source__kind="screening")


def model_results(model: ScreeningModel) -> dict[str, Any]:
    """Hits, alerts raised, and from the loop how many were substantiated (查实率), in two queries."""
    hits = ScreeningHit.objects.filter(run__model__code=model.code).aggregate(n=Count("id"))["n"]
    agg = model_alerts(model).aggregate(
        raised=Count("id"),
        concluded=Count("id", filter=CONCLUDED),
        substantiated=Count("id", filter=SUBSTANTIATED_Q),
        recurrences=Count("id", filter=Q(recurrence_of__isnull=False)),
    )
    rate = round(agg["substantiated"] / agg["concluded"], 3) if agg["concluded"] else None
    return {"hits": hits, "alerts_raised": agg["raised"], "concluded": agg["concluded"],
            "substantiated": agg["substantiated"], "substantiation_rate": rate, "recurrences": agg["recurrences"]}


def typical_cases(model: ScreeningModel, limit: int = 5) -> QuerySet[Alert]:
    return (model_alerts(model).filter(status=Status.CLOSED, conclusion__in=SUBSTANTIATED)
            .order_by("-closed_at")[:limit])


def versions_of(model: ScreeningModel) -> QuerySet[ScreeningModel]:
    return ScreeningModel.objects.filter(code=model.code).order_by("-version")


# ----- the shared warehouse: every unit's published models, data still scoped -----

def warehouse_models_for(user: User) -> QuerySet[ScreeningModel]:
    """Model cards the user may open: every version in their scope, plus the active (published)
    versions of every other unit. Datasets, runs, hits and alerts stay scoped (the other selectors)."""
    return (ScreeningModel.objects.filter(Q(org_unit__in=units_visible_to(user)) | Q(status=ModelStatus.ACTIVE))
            .select_related("org_unit", "created_by"))


def in_scope(user: User, model: ScreeningModel) -> bool:
    """True when the model belongs to the user's unit or below (its data and runs are theirs to see)."""
    return units_visible_to(user).filter(pk=model.org_unit_id).exists()


def shared_warehouse(user: User, *, domain: str = "", unit: str = "", status: str = "", q: str = "",
                     template: str = "", tag: str = "") -> QuerySet[ScreeningModel]:
    """The warehouse's cards: latest versions in scope and every unit's active models, filtered."""
    domain, unit, q, template, tag = (str(v or "").replace("\x00", "").strip()
                                      for v in (domain, unit, q, template, tag))
    scoped = Q(org_unit__in=units_visible_to(user), is_latest=True)
    qs = ScreeningModel.objects.filter(scoped | Q(status=ModelStatus.ACTIVE)).select_related("org_unit", "created_by")
    if domain:
        qs = qs.filter(domain=domain)
    if unit:
        qs = qs.filter(org_unit__code=unit)
    if status in ModelStatus.values:
        qs = qs.filter(status=status)
    if template:
        qs = qs.filter(template=template)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(supervision_points__icontains=q)
                       | Q(description__icontains=q))
    if tag:
        # Tags are a short JSON list per model: matched here, portably (SQLite has no JSON containment).
        qs = qs.filter(pk__in=[pk for pk, tags in qs.values_list("pk", "tags") if tag in (tags or [])])
    return qs.order_by("-updated_at", "code")


def warehouse_totals(qs: QuerySet[ScreeningModel]) -> dict[str, int]:
    """The header figures: models, rules (the steps that decide, over all listed models), domains, units."""
    rows = list(qs.values_list("spec", "domain", "org_unit_id"))
    rules = sum(sum(1 for s in (spec or {}).get("steps", []) if isinstance(s, dict)
                    and s.get("type") not in ("source", "emit"))
                for spec, _d, _u in rows if isinstance(spec, dict))
    return {"models": len(rows), "rules": rules, "domains": len({d for _s, d, _u in rows}),
            "units": len({u for _s, _d, u in rows})}


def version_results(model: ScreeningModel) -> list[dict[str, Any]]:
    """主要成效 per version of the model (newest first) and a total row: runs, distinct hits (a
    re-run on the same data counts once), alerts raised, concluded, substantiated, cases filed,
    amounts recovered and the substantiation rate. Counts only: nothing of the alerts is shown."""
    versions = list(ScreeningModel.objects.filter(code=model.code).order_by("-version")
                    .values_list("pk", "version", "status"))
    runs = dict(ScreeningRun.objects.filter(model__code=model.code).values("model_id")
                .annotate(n=Count("id")).values_list("model_id", "n"))
    hits = dict(ScreeningHit.objects.filter(run__model__code=model.code).values("run__model_id")
                .annotate(n=Count("dedup_key", distinct=True)).values_list("run__model_id", "n"))
    # Grouped in the database (a busy model has tens of thousands of alerts): each alert counts
    # for the version whose hit first raised it, else the oldest version (alerts raised before
    # hits were kept); cases filed and money recovered come from its latest disposition. With a
    # single version (most models) nothing needs the per-alert hit lookup.
    oldest = versions[-1][0] if versions else 0

    def version_of(alert_ref: str) -> Any:
        if len(versions) <= 1:
            return Value(oldest, output_field=BigIntegerField())
        first_hit = (ScreeningHit.objects.filter(alert_id=OuterRef(alert_ref), alert_created=True,
                                                 run__model__code=model.code)
                     .order_by("id").values("run__model_id")[:1])
        return Coalesce(Subquery(first_hit), Value(oldest), output_field=BigIntegerField())

    concluded = Q(status__in=CONCLUDED_STATUSES) & ~Q(conclusion="")
    grouped = (
        model_alerts(model).order_by().annotate(first_version=version_of("pk")).values("first_version")
        .annotate(alerts_raised=Count("id"), concluded=Count("id", filter=concluded),
                  substantiated=Count("id", filter=concluded & Q(conclusion__in=SUBSTANTIATED)),
                  recurrences=Count("id", filter=Q(recurrence_of__isnull=False)))
    )
    latest = (Disposition.objects.filter(alert__in=model_alerts(model)).filter(~superseded()).order_by()
              .annotate(first_version=version_of("alert_id")).values("first_version")
              .annotate(cases_filed=Count("id", filter=Q(case_filed=True)), amount_recovered=Sum("amount_recovered")))
    money = {r.pop("first_version"): r for r in latest}
    per_version = {r.pop("first_version"): r for r in grouped}
    for pk, figures_ in money.items():
        per_version.setdefault(pk, {"alerts_raised": 0, "concluded": 0, "substantiated": 0, "recurrences": 0})
        per_version[pk].update(figures_)
    counted = ("alerts_raised", "concluded", "substantiated", "recurrences", "cases_filed")

    def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {k: sum(r.get(k, 0) for r in rows) for k in counted}
        out["amount_recovered"] = sum((r.get("amount_recovered") or Decimal(0) for r in rows), Decimal(0))
        out["substantiation_rate"] = (round(out["substantiated"] / out["concluded"], 3) if out["concluded"]
                                      else None)
        return out

    out = []
    for pk, version, status in versions:
        out.append({"id": pk, "version": version, "status": status, "runs": runs.get(pk, 0),
                    "hits": hits.get(pk, 0), **figures([per_version[pk]] if pk in per_version else [])})
    total_hits = (ScreeningHit.objects.filter(run__model__code=model.code)
                  .aggregate(n=Count("dedup_key", distinct=True))["n"])
    out.append({"id": None, "version": None, "status": "", "runs": sum(runs.values()), "hits": total_hits,
                **figures(list(per_version.values()))})
    return out


def typical_cases_for(user: User, model: ScreeningModel, limit: int = 5) -> list[dict[str, Any]]:
    """Closed, substantiated alerts of the model. One outside the user's scope shows only its
    outcome (unit, conclusion, outcome, case filed, amount): no title, no names, no link."""
    visible = set(units_visible_to(user).values_list("pk", flat=True))
    cases = list(model_alerts(model).filter(status=Status.CLOSED, conclusion__in=SUBSTANTIATED)
                 .select_related("org_unit").order_by("-closed_at")[:limit])
    dispositions: dict[int, Any] = {}
    for d in Disposition.objects.filter(alert__in=cases).order_by("-created_at", "-id"):
        dispositions.setdefault(d.alert_id, d)
    return [{"alert": a if a.org_unit_id in visible else None, "unit": a.org_unit.name,
             "conclusion": a.get_conclusion_display(), "disposition": dispositions.get(a.pk)} for a in cases]


def rule_label(alert: Alert) -> str:
    """How a reader names the rule that raised `alert`: its screening model's name, or the name the
    warehouse gave the business system's indicator; the code only while nobody has named it."""
    if not alert.rule_code:
        return ""
    if alert.source.kind == SourceSystem.Kind.SCREENING:
        names = ScreeningModel.objects.filter(code=alert.rule_code).order_by("-version")
    else:
        names = SourceIndicator.objects.filter(source_id=alert.source_id, code=alert.rule_code)
    return names.exclude(name="").values_list("name", flat=True).first() or alert.rule_code


# ----- special supervision projects -----

def projects_visible_to(user: User) -> QuerySet[SpecialProject]:
    """Projects led by a unit in the user's scope or deployed to one."""
    units = units_visible_to(user)
    ids = SpecialProject.objects.filter(Q(lead_unit__in=units) | Q(units__in=units)).values("pk")
    return SpecialProject.objects.filter(pk__in=ids).select_related("lead_unit", "created_by")


def project_model_codes(project: SpecialProject) -> set[str]:
    """The codes of the project's models and of the copies units made of them."""
    ids = list(project.screening_models.values_list("pk", flat=True))
    return set(ScreeningModel.objects.filter(Q(pk__in=ids) | Q(origin_id__in=ids)).values_list("code", flat=True))


def project_alerts(project: SpecialProject) -> QuerySet[Alert]:
    """Alerts raised by the project's models and by the copies units made of them."""
    return Alert.objects.filter(rule_code__in=project_model_codes(project), source__kind="screening")


def project_unit_figures(user: User, project: SpecialProject) -> list[dict[str, Any]]:
    """Per unit of the project (the lead unit and each unit it was deployed to) that the user may
    see: alerts, alerts per stage, substantiated, cases filed and amounts recovered. A unit counts
    the alerts of its whole subtree. Read from the rollups' per-model rows (month grain, all
    time), kept with every intake, transition and disposition, so the cost does not grow with the
    number of alerts the project's models raised."""
    candidates = [project.lead_unit, *project.units.order_by("path")]
    visible = set(units_visible_to(user).filter(pk__in=[u.pk for u in candidates]).values_list("pk", flat=True))
    units: list[OrgUnit] = []
    for unit in candidates:
        if unit.pk in visible and unit not in units:
            units.append(unit)
    if not units:
        return []
    # Every unit of the subtrees involved and the project units it counts for (a deployed unit
    # below the lead unit counts for both).
    subtree = Q()
    for unit in units:
        subtree |= Q(path__startswith=unit.path)
    counts_for = {pk: [u.pk for u in units if path.startswith(u.path)]
                  for pk, path in OrgUnit.objects.filter(subtree).values_list("pk", "path")}
    figures: dict[int, dict[str, Any]] = {
        u.pk: {"stages": dict.fromkeys(Status.values, 0), "substantiated": 0, "cases_filed": 0,
               "amount_recovered": Decimal(0)} for u in units}
    codes = sorted(project_model_codes(project))
    keys = [rollups.model_key(kind, code) for code in codes for kind in [*Status.values, rollups.MODEL_MONEY]]
    found = (AlertRollup.objects.filter(dim=AlertRollup.Dim.MODEL + rollups.MONTHLY, key__in=keys,
                                        org_unit_id__in=list(counts_for))
             .order_by().values("org_unit_id", "key")
             .annotate(n=Sum("n"), substantiated=Sum("substantiated"), filed=Sum("filed"), amount=Sum("amount")))
    for r in found:
        kind = r["key"].partition(":")[0]
        for owner in counts_for.get(r["org_unit_id"], ()):
            figure = figures[owner]
            if kind == rollups.MODEL_MONEY:
                figure["cases_filed"] += r["filed"]
                figure["amount_recovered"] += r["amount"] or Decimal(0)
            else:
                figure["stages"][kind] = figure["stages"].get(kind, 0) + r["n"]
                figure["substantiated"] += r["substantiated"]
    return [{"org_unit": u.code, "name": u.name, "alerts": sum(figures[u.pk]["stages"].values()), **figures[u.pk]}
            for u in units]


def alert_projects(user: User, alert: Alert) -> list[dict[str, Any]]:
    """The special projects an alert carries (written on it when a project's model raised it,
    `details.projects`), each with `id`, `name` and `visible`: whether the reader may open the
    project's page (may read projects and the project is led by or deployed to their scope)."""
    details = alert.details if isinstance(alert.details, dict) else {}
    carried = [p for p in details.get("projects") or [] if isinstance(p, dict) and isinstance(p.get("id"), int)]
    if not carried:
        return []
    visible: set[int] = set()
    if may_in_warehouse(user, "project.read"):
        visible = set(projects_visible_to(user).filter(pk__in=[p["id"] for p in carried]).values_list("pk", flat=True))
    return [{"id": p["id"], "name": str(p.get("name") or ""), "visible": p["id"] in visible} for p in carried]


def projects_managed_by(user: User) -> QuerySet[SpecialProject]:
    """Projects whose lead unit is in the user's scope (they may edit, deploy or delete them)."""
    return SpecialProject.objects.filter(lead_unit__in=units_visible_to(user)).select_related("lead_unit")


# ----- business systems' embedded indicators -----

def indicator_results(user: User) -> list[dict[str, Any]]:
    """Every embedded indicator with, over the alerts the user may see: warnings raised,
    concluded, substantiated and the substantiation rate (查实率). One grouped query."""
    counts = {
        (row["source_id"], row["rule_code"]): row
        for row in alerts_visible_to(user).filter(source__kind="business").exclude(rule_code="")
        .values("source_id", "rule_code").annotate(
            warnings=Count("id"),
            concluded=Count("id", filter=Q(status__in=CONCLUDED_STATUSES) & ~Q(conclusion="")),
            substantiated=Count("id", filter=Q(status__in=CONCLUDED_STATUSES, conclusion__in=SUBSTANTIATED)),
        )
    }
    out = []
    for ind in SourceIndicator.objects.select_related("source").order_by("source__name", "module", "code"):
        c = counts.get((ind.source_id, ind.code), {})
        concluded, substantiated = c.get("concluded", 0), c.get("substantiated", 0)
        out.append({"indicator": ind, "warnings": c.get("warnings", 0), "concluded": concluded,
                    "substantiated": substantiated,
                    "substantiation_rate": round(substantiated / concluded, 3) if concluded else None})
    return out


def indicator_groups(rows: list[dict[str, Any]], by: str = "module") -> list[dict[str, Any]]:
    """The indicator rows summed per module (`by="module"`) or per source system (`by="source"`)."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        ind = r["indicator"]
        key = ind.module if by == "module" else ind.source.name
        g = groups.setdefault(key, {"group": key, "indicators": 0, "warnings": 0, "concluded": 0,
                                    "substantiated": 0})
        g["indicators"] += 1
        for k in ("warnings", "concluded", "substantiated"):
            g[k] += r[k]
    for g in groups.values():
        g["substantiation_rate"] = round(g["substantiated"] / g["concluded"], 3) if g["concluded"] else None
    return sorted(groups.values(), key=lambda g: (-g["warnings"], g["group"]))
