"""Writes of the warehouse: datasets, models (copy, versions), runs and the schedule.

A run's hits become alerts through `workflow.intake.alerts_ingest`, the same path business
systems use, so dedup holds: rerunning a model on the same data creates no new alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OrgUnit, User
from alerts.models import Domain, RiskLevel, SourceSystem
from alerts.policy import may_in_warehouse
from alerts.sources import source_system_create
from core.errors import Forbidden, NotFound  # screening raises the one hierarchy
from screening import engine, importing
from screening.models import (
    Dataset,
    ModelDataset,
    ModelStatus,
    RunStatus,
    Schedule,
    ScreeningHit,
    ScreeningModel,
    ScreeningRun,
)
from screening.spec import DatasetRef, SpecError, compile_spec, roles_of
from screening.templates import TEMPLATES, expand
from workflow.intake import IntakeItem, alerts_ingest

log = logging.getLogger(__name__)

MAX_APPEND_ROWS = 10_000
MAX_HITS = 50_000


# ----- who may do what -----
# The warehouse's permission map is `alerts.policy.WAREHOUSE_PERMISSIONS`; scope (own unit and
# below) is applied on top by the selectors.


def require(user: Any, action: str) -> None:
    """Raise Forbidden unless `user` may do `action`. `None` is the system (schedule, demo seed)."""
    if user is not None and not may_in_warehouse(user, action):
        raise Forbidden(_("Only supervisors and administrators may change the model warehouse; "
                          "your role can only read it."))


def check_units(org_unit: OrgUnit, datasets: dict[str, Dataset], *, field: str = "datasets") -> None:
    """Every dataset of a model must belong to the model's unit or below, so running it never
    reads (and raises alerts from) another unit's rows."""
    outside = sorted(role for role, ds in datasets.items() if not org_unit.contains(ds.org_unit))
    if outside:
        raise ValidationError({field: _("The dataset(s) of role(s) %(r)s do not belong to the model's unit "
                                        "or a unit below it.") % {"r": ", ".join(outside)}})


def clean_text(value: Any) -> str:
    """Query text without NUL characters (PostgreSQL text cannot hold them)."""
    return str(value or "").replace("\x00", "")


# ----- datasets -----

def dataset_local_path(dataset: Dataset) -> str:
    """A local file path DuckDB can read. With remote storage (S3), a cached download."""
    try:
        return default_storage.path(dataset.file.name)
    except NotImplementedError:
        cache = Path(tempfile.gettempdir()) / "huoyan-datasets"
        cache.mkdir(exist_ok=True)
        local = cache / Path(dataset.file.name).name  # names are generated and never reused
        if not local.exists():
            tmp = local.with_suffix(".part")
            with default_storage.open(dataset.file.name, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tmp.rename(local)
        return str(local)


def _store_parquet(path: Path) -> str:
    with open(path, "rb") as fh:
        return default_storage.save(f"datasets/{uuid.uuid4().hex}.parquet", File(fh))


def dataset_create(*, name: str, org_unit: OrgUnit, upload: Any, by: User | None) -> Dataset:
    """Import an uploaded CSV/XLSX as a typed Parquet dataset; a bad file stores nothing."""
    require(by, "dataset.upload")
    name = clean_text(name).strip()
    if not name or len(name) > 128:
        raise ValidationError({"name": _("Give the dataset a name of at most 128 characters.")})
    filename = Path(getattr(upload, "name", "") or "upload.csv").name
    limit = getattr(settings, "HUOYAN_DATASET_MAX_BYTES", 512 * 1024 * 1024)
    if (getattr(upload, "size", 0) or 0) > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}})
    with importing.new_workdir() as tmp:
        work = Path(tmp)
        src = work / "upload.bin"
        with open(src, "wb") as fh:
            for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
                fh.write(chunk)
        try:
            result = importing.import_file(src, filename, work)
        except importing.ImportError_ as exc:
            raise ValidationError({"file": exc.message}) from None
        stored = _store_parquet(result.path)
    try:
        with transaction.atomic():
            return Dataset.objects.create(
                name=name, org_unit=org_unit, file=stored, original_filename=filename[:255],
                columns=result.columns, row_count=result.row_count,
                size_bytes=default_storage.size(stored), created_by=by,
            )
    except Exception:
        default_storage.delete(stored)
        raise


def dataset_rows_validate(dataset: Dataset, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"rows": _("Send a non-empty JSON list of rows.")})
    if len(rows) > MAX_APPEND_ROWS:
        raise ValidationError({"rows": _("At most %(n)d rows per request.") % {"n": MAX_APPEND_ROWS}})
    types = dataset.column_types
    typed = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValidationError({"rows": _("Row %(i)d is not an object.") % {"i": i}})
        unknown = [k for k in row if k not in types]
        if unknown:
            raise ValidationError({"rows": _("Row %(i)d, column %(c)s: no such column in the dataset.")
                                   % {"i": i, "c": unknown[0]}})
        out = {}
        for col, kind in types.items():
            try:
                out[col] = importing.coerce(row.get(col), kind)
            except ValueError as exc:
                raise ValidationError({"rows": _("Row %(i)d, column %(c)s: %(err)s")
                                       % {"i": i, "c": col, "err": exc}}) from None
        typed.append(out)
    return typed


def dataset_rows_append(*, dataset_id: int, rows: Any, source: SourceSystem) -> Dataset:
    """Append JSON rows (all or nothing) for a source system whose unit contains the dataset's."""
    with transaction.atomic():
        dataset = (Dataset.objects.select_for_update().select_related("org_unit")
                   .filter(pk=dataset_id).first())
        if dataset is None or not source.org_unit.contains(dataset.org_unit):
            raise NotFound(_("Dataset not found."))
        typed = dataset_rows_validate(dataset, rows)
        old_name = dataset.file.name
        with importing.new_workdir() as tmp:
            out = Path(tmp) / "data.parquet"
            count = importing.append_rows(Path(dataset_local_path(dataset)), dataset.columns, typed, out)
            stored = _store_parquet(out)
        transaction.on_commit(partial(default_storage.delete, old_name))
        dataset.file.name = stored
        dataset.row_count = count
        dataset.size_bytes = default_storage.size(stored)
        dataset.save(update_fields=["file", "row_count", "size_bytes", "updated_at"])
        return dataset


# ----- models -----

def _spec_for(template: str, params: Any, spec: Any) -> dict[str, Any]:
    if template:
        return expand(template, params or {})
    if not isinstance(spec, dict):
        raise SpecError(_("give a template with params, or a spec"))
    return spec


def spec_validate(spec: Any, datasets: dict[str, Dataset]) -> None:
    """Raise ValidationError unless `spec` compiles against the datasets' columns."""
    missing = [r for r in roles_of(spec) if r not in datasets]
    if missing:
        raise ValidationError({"datasets": _("Bind a dataset to the role(s): %(r)s") % {"r": ", ".join(missing)}})
    refs = {role: DatasetRef(path="", columns=ds.columns, name=ds.name) for role, ds in datasets.items()}
    try:
        compile_spec(spec, refs)
    except SpecError as exc:
        raise ValidationError({"spec": str(exc)}) from None


def _new_code(template: str) -> str:
    return f"{(template or 'model').replace('_', '-')}-{secrets.token_hex(3)}"


def screening_model_create(
    *, by: User | None, name: str, org_unit: OrgUnit, datasets: dict[str, Dataset], template: str = "",
    params: dict[str, Any] | None = None, spec: dict[str, Any] | None = None, domain: str = "",
    risk_level: str = RiskLevel.ORANGE, status: str = ModelStatus.DRAFT, code: str = "",
    supervision_points: str = "", description: str = "", schedule: str = "",
    origin: ScreeningModel | None = None,
) -> ScreeningModel:
    require(by, "model.create")
    if template and template not in TEMPLATES:
        raise ValidationError({"template": _("Unknown template %(t)s.") % {"t": template}})
    try:
        full_spec = _spec_for(template, params, spec)
    except SpecError as exc:
        raise ValidationError({"params" if template else "spec": str(exc)}) from None
    spec_validate(full_spec, datasets)
    check_units(org_unit, datasets)
    if template and not description:
        t = TEMPLATES[template]
        description = f"{t.description_zh}\n\n{t.description_en}"
    model = ScreeningModel(
        code=code or _new_code(template), name=name, org_unit=org_unit, template=template or "",
        params=params or {}, spec=full_spec,
        domain=domain or (TEMPLATES[template].domain if template else Domain.OTHER),
        risk_level=risk_level, status=status, supervision_points=supervision_points, description=description,
        schedule=schedule or "", next_run_at=timezone.now() if schedule else None, origin=origin, created_by=by,
    )
    # Codes are unique across all units: a clash says only "unavailable", never whose code it is
    # (the constraints are checked by the database, not by full_clean's revealing messages).
    model.full_clean(exclude=["spec", "params"], validate_constraints=False)
    with transaction.atomic():
        for attempt in range(3):
            try:
                with transaction.atomic():
                    model.save()
                break
            except IntegrityError:
                if code or attempt == 2:
                    raise ValidationError({"code": _("This code is unavailable; choose another one or leave it "
                                                     "empty to have one generated.")}) from None
                model.code = _new_code(template)
        ModelDataset.objects.bulk_create(ModelDataset(model=model, role=r, dataset=d) for r, d in datasets.items())
    return model


def model_datasets(model: ScreeningModel) -> dict[str, Dataset]:
    return {link.role: link.dataset for link in model.dataset_links.select_related("dataset")}


EDITABLE = ("name", "description", "domain", "risk_level", "supervision_points", "template", "params", "spec",
            "schedule")


def screening_model_update(*, model_id: int, by: User, changes: dict[str, Any],
                           datasets: dict[str, Dataset] | None = None) -> ScreeningModel:
    """Edit a model. A draft is edited in place; an active model gets a new version (the old one
    is retired and keeps its runs); a retired one cannot be edited except by changing status."""
    require(by, "model.update")
    with transaction.atomic():
        model = ScreeningModel.objects.select_for_update().filter(pk=model_id, is_latest=True).first()
        if model is None:
            raise NotFound(_("Only the latest version of a model can be edited."))
        new_status = changes.pop("status", None)
        content = {k: v for k, v in changes.items() if k in EDITABLE}
        links = datasets if datasets is not None else model_datasets(model)
        if "template" in content or "params" in content or "spec" in content:
            template = content.get("template", model.template)
            try:
                content["spec"] = _spec_for(template, content.get("params", model.params),
                                            content.get("spec", model.spec))
            except SpecError as exc:
                raise ValidationError({"params" if template else "spec": str(exc)}) from None
        if content or datasets is not None:
            spec_validate(content.get("spec", model.spec), links)
        if content or datasets is not None or new_status != ModelStatus.RETIRED:
            check_units(model.org_unit, links)  # retiring is always possible, even a model bound wrongly
        if model.status == ModelStatus.ACTIVE and (content or datasets is not None):
            old_pk = model.pk
            ScreeningModel.objects.filter(pk=old_pk).update(is_latest=False, status=ModelStatus.RETIRED)
            model.pk = None
            model._state.adding = True
            model.version += 1
            model.previous_version_id = old_pk
            model.created_by = by
            model.created_at = None
            for k, v in content.items():
                setattr(model, k, v)
            if new_status:
                model.status = new_status
            model.full_clean(exclude=["spec", "params", "code"], validate_constraints=False)
            model.save()
            ModelDataset.objects.bulk_create(ModelDataset(model=model, role=r, dataset=d) for r, d in links.items())
            return model
        if model.status == ModelStatus.RETIRED and content:
            raise ValidationError({"status": _("A retired model cannot be edited; copy it instead.")})
        for k, v in content.items():
            setattr(model, k, v)
        if new_status:
            model.status = new_status
        if "schedule" in content:
            model.next_run_at = timezone.now() if model.schedule else None
        model.full_clean(exclude=["spec", "params", "code"], validate_constraints=False)
        model.save()
        if datasets is not None:
            model.dataset_links.all().delete()
            ModelDataset.objects.bulk_create(ModelDataset(model=model, role=r, dataset=d) for r, d in datasets.items())
        return model


def screening_model_copy(*, model: ScreeningModel, by: User, org_unit: OrgUnit, name: str = "",
                         datasets: dict[str, Dataset] | None = None) -> ScreeningModel:
    """A new model (version 1, draft) recording where it came from. The datasets (the original's
    unless others are given) are checked against the new unit like on create."""
    require(by, "model.copy")
    return screening_model_create(
        by=by, name=name or _("Copy of %(name)s") % {"name": model.name}, org_unit=org_unit,
        datasets=datasets if datasets is not None else model_datasets(model), template=model.template,
        params=model.params, spec=model.spec, domain=model.domain, risk_level=model.risk_level,
        supervision_points=model.supervision_points, description=model.description, origin=model,
    )


# ----- runs -----

def _inline() -> bool:
    return not settings.CELERY_BROKER_URL or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)


def _dispatch(run_id: int) -> None:
    if _inline():
        screening_run_execute(run_id=run_id)
        return
    try:
        screening_run_task.apply_async((run_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - an unreachable broker must not leave the run queued forever
        log.warning("could not queue screening run %s: %s", run_id, type(exc).__name__)
        ScreeningRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=timezone.now(),
            error=_("The run could not be queued (%(err)s); try again.") % {"err": type(exc).__name__})


def screening_run_start(*, model: ScreeningModel, by: User | None, scheduled: bool = False) -> ScreeningRun:
    require(by, "run.start")
    if model.status == ModelStatus.RETIRED:
        raise ValidationError({"status": _("A retired model cannot be run.")})
    check_units(model.org_unit, model_datasets(model))
    run = ScreeningRun.objects.create(model=model, triggered_by=by, scheduled=scheduled, spec=model.spec)
    transaction.on_commit(partial(_dispatch, run.pk))
    return run


def screening_source_for(unit: OrgUnit) -> SourceSystem:
    """The screening feed of a unit (kind `screening`), created on first use."""
    code = f"screening-{unit.code}"[:64]
    found = SourceSystem.objects.filter(code=code).first()
    if found:
        return found
    try:
        with transaction.atomic():
            source, _key = source_system_create(
                code=code, name=_("Screening models of %(unit)s") % {"unit": unit.name}, org_unit=unit,
                kind=SourceSystem.Kind.SCREENING,
            )
            return source  # its key is never shown: screening alerts do not come over HTTP
    except IntegrityError:
        return SourceSystem.objects.get(code=code)


def _progress(run_id: int, value: int, started_at: dt.datetime) -> None:
    ScreeningRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, started_at=started_at).update(progress=value)


def stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """A run claimed before this moment cannot still be executing: Celery's hard time limit
    (CELERY_TASK_TIME_LIMIT) has killed its worker by then (a minute of grace on top)."""
    limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 300) or 300)
    return (now or timezone.now()) - dt.timedelta(seconds=limit + 60)


class _ClaimLost(Exception):
    """Another worker took over this run (ours was presumed dead); drop our work."""


def screening_run_execute(*, run_id: int) -> ScreeningRun | None:
    """Run a queued run: compile, query, write hits and alerts in one transaction. A failure
    records why and creates nothing. Claimed with a conditional UPDATE (one statement, atomic on
    its own) that stamps `started_at`: a second worker finds it no longer queued and does nothing,
    but a redelivered task (acks_late after a SIGKILL or the hard time limit) takes over a run whose
    claim is older than the time limit. Every later write is conditional on our claim, so a worker
    that was taken over commits nothing."""
    now = timezone.now()
    claimed = ScreeningRun.objects.filter(
        Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, started_at__lt=stale_before(now)), pk=run_id,
    ).update(status=RunStatus.RUNNING, started_at=now, progress=5, error="")
    if not claimed:
        return None
    ours = ScreeningRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, started_at=now)
    run = ScreeningRun.objects.select_related("model", "model__org_unit").get(pk=run_id)
    model = run.model
    try:
        datasets = model_datasets(model)
        refs = {role: DatasetRef(path=dataset_local_path(ds), columns=ds.columns, name=ds.name)
                for role, ds in datasets.items()}
        run.datasets = {role: {"id": ds.pk, "name": ds.name, "rows": ds.row_count} for role, ds in datasets.items()}
        compiled = compile_spec(run.spec, refs)
        _progress(run_id, 20, now)
        t0 = time.perf_counter()
        hits, query_ms = engine.execute(compiled, code=model.code)
        if len(hits) > MAX_HITS:
            raise SpecError(_("%(n)d hits: more than %(max)d, so the rule is too broad to raise alerts.")
                            % {"n": len(hits), "max": MAX_HITS})
        _progress(run_id, 60, now)
        risk = compiled.emit.risk_level or model.risk_level
        with transaction.atomic():
            source = screening_source_for(model.org_unit)
            items = [
                IntakeItem(
                    dedup_key=h.dedup_key, title=h.title, risk_level=risk, org_unit=model.org_unit,
                    domain=model.domain, rule=model.code, subject_name=h.subject, amount=h.amount,
                    details={"model": {"code": model.code, "version": model.version, "name": model.name},
                             "run": run.pk, "group_key": h.group_key, "metrics": h.metrics, "rows": h.rows},
                )
                for h in hits
            ]
            results = alerts_ingest(source=source, items=items) if items else []
            ScreeningHit.objects.bulk_create(
                [ScreeningHit(run=run, group_key=h.group_key, dedup_key=h.dedup_key, title=h.title,
                              subject=h.subject, amount=h.amount, risk_level=risk, rows=h.rows, metrics=h.metrics,
                              alert_id=r.id, alert_created=r.created)
                 for h, r in zip(hits, results, strict=True)],
                batch_size=1000,
            )
            done = ours.update(
                status=RunStatus.SUCCEEDED, progress=100, hit_count=len(hits),
                alerts_created=sum(1 for r in results if r.created), finished_at=timezone.now(),
                datasets=run.datasets, error="",
                duration_ms=query_ms or int((time.perf_counter() - t0) * 1000),
            )
            if not done:
                raise _ClaimLost
    except _ClaimLost:
        log.warning("screening run %s was taken over by another worker; discarding this result", run_id)
    except Exception as exc:  # noqa: BLE001 - a failed run records why instead of vanishing
        message = str(exc) if isinstance(exc, (SpecError, ValidationError, OSError)) else (
            f"{type(exc).__name__}: {exc}")
        log.warning("screening run %s of model %s failed: %s", run_id, model.code, type(exc).__name__)
        ours.update(
            status=RunStatus.FAILED, error=message[:2000], finished_at=timezone.now(), hit_count=0, alerts_created=0)
    run.refresh_from_db()
    return run


SCHEDULE_STEP = {Schedule.DAILY: dt.timedelta(days=1), Schedule.WEEKLY: dt.timedelta(days=7)}


def fail_stale_runs(now: dt.datetime | None = None) -> int:
    """Mark failed every run still `running` although its claim is older than the hard time limit
    (its worker was killed and the task was not redelivered). Returns how many."""
    return ScreeningRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=stale_before(now)).update(
        status=RunStatus.FAILED, finished_at=now or timezone.now(), hit_count=0, alerts_created=0,
        error=_("The worker running this stopped (killed or over the time limit) before it finished; "
                "nothing was created. Run the model again."))


def run_due_scheduled_models(now: dt.datetime | None = None) -> list[ScreeningRun]:
    """Start a run of every active, scheduled model whose time has come; safe for two sweepers
    (rows are claimed with SKIP LOCKED and the next time is moved forward in the same transaction).
    Also fails runs left `running` by a dead worker (`fail_stale_runs`)."""
    now = now or timezone.now()
    fail_stale_runs(now)
    runs = []
    with transaction.atomic():
        due = list(ScreeningModel.objects.select_for_update(skip_locked=True).filter(
            is_latest=True, status=ModelStatus.ACTIVE, schedule__in=list(SCHEDULE_STEP), next_run_at__lte=now,
        ))
        for model in due:
            step = SCHEDULE_STEP[Schedule(model.schedule)]
            nxt = model.next_run_at + step
            while nxt <= now:
                nxt += step
            ScreeningModel.objects.filter(pk=model.pk).update(next_run_at=nxt)
            runs.append(screening_run_start(model=model, by=None, scheduled=True))
    return runs


# ----- Celery tasks -----
# Declared beside the services they run so that queueing a run needs no import back from
# `screening.tasks`, which re-exports them for Celery's autodiscovery (names unchanged).

@shared_task(name="screening.run", acks_late=True, ignore_result=True)
def screening_run_task(run_id: int) -> None:
    screening_run_execute(run_id=run_id)


@shared_task(name="screening.run_due_scheduled_models", ignore_result=True)
def run_due_scheduled_models_task() -> int:
    return len(run_due_scheduled_models())
