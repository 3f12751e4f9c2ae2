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
from alerts.models import Alert, Domain, RiskLevel, SourceIndicator, SourceSystem
from alerts.policy import may_in_warehouse
from alerts.sources import source_system_create
from alerts.states import Status
from alerts.tags import clean_tags
from core.errors import Forbidden, NotFound  # screening raises the one hierarchy
from screening import describe, engine, importing
from screening.models import (
    Dataset,
    DatasetStatus,
    ModelDataset,
    ModelStatus,
    RunStatus,
    Schedule,
    ScreeningHit,
    ScreeningModel,
    ScreeningRun,
    SpecialProject,
)
from screening.spec import DatasetRef, SpecError, compile_spec, roles_of
from screening.templates import TEMPLATES, expand
from workflow.intake import IntakeItem, alerts_ingest

log = logging.getLogger(__name__)

MAX_APPEND_ROWS = 10_000


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
    """A local file path DuckDB can read. With remote storage (S3), a cached download.
    A dataset still being imported (or whose import failed) has none: a field error says so."""
    if dataset.status != DatasetStatus.READY:
        raise ValidationError({"datasets": _("The dataset %(name)s is not ready: it is still being imported or "
                                             "its import failed.") % {"name": dataset.name}})
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


def _file_error(exc: importing.ImportError_) -> ValidationError:
    return ValidationError({"file": exc.message})


def dataset_create(*, name: str, org_unit: OrgUnit, upload: Any, by: User | None,
                   column_types: Any = None) -> Dataset:
    """Import an uploaded CSV/XLSX as a typed Parquet dataset; a bad file stores nothing.
    `column_types` ({column: text|integer|decimal|date}) overrides the inferred types.

    The row cap and (XLSX) the unpacked-size cap are checked before the file is parsed. A file
    with more than HUOYAN_DATASET_INLINE_ROWS rows is imported by the worker: the dataset comes
    back `importing` and its `progress` moves until it is `ready` (or `failed`, saying why)."""
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
            types = importing.check_column_types(column_types)
        except importing.ImportError_ as exc:
            raise ValidationError({"column_types": exc.message}) from None
        try:
            measured = importing.measure(src, filename, max_rows=settings.HUOYAN_DATASET_MAX_ROWS,
                                         max_unpacked=settings.HUOYAN_XLSX_MAX_UNPACKED_BYTES)
            if measured.rows > settings.HUOYAN_DATASET_INLINE_ROWS:
                return _dataset_import_later(name=name, org_unit=org_unit, src=src, filename=filename, by=by,
                                             column_types=types)
            result = importing.import_file(src, filename, work, column_types=types)
        except importing.ImportError_ as exc:
            exc.message = importing.scrub_paths(exc.message, src, work, filename)
            field = "column_types" if exc.column and exc.column in types and not exc.row else "file"
            raise ValidationError({field: exc.message}) from None
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


def _dataset_import_later(*, name: str, org_unit: OrgUnit, src: Path, filename: str, by: User | None,
                          column_types: dict[str, str] | None = None) -> Dataset:
    with open(src, "rb") as fh:
        raw = default_storage.save(f"dataset-uploads/{uuid.uuid4().hex}.bin", File(fh))
    try:
        with transaction.atomic():
            ds = Dataset.objects.create(
                name=name, org_unit=org_unit, file="", original_filename=filename[:255], upload=raw,
                status=DatasetStatus.IMPORTING, progress=0, size_bytes=src.stat().st_size, created_by=by,
                requested_types=column_types or {},
            )
            transaction.on_commit(partial(_dispatch_import, ds.pk))
    except Exception:
        default_storage.delete(raw)
        raise
    ds.refresh_from_db()  # imported already when there is no worker and no outer transaction
    if ds.status == DatasetStatus.FAILED:  # imported in-process and refused: nothing stays
        error = ds.error
        ds.delete()
        raise ValidationError({"file": error})
    return ds


def _dispatch_import(dataset_id: int) -> None:
    if _inline():
        dataset_import_execute(dataset_id=dataset_id)
        return
    try:
        dataset_import_task.apply_async((dataset_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - an unreachable broker must not leave the import pending forever
        log.warning("could not queue the import of dataset %s: %s", dataset_id, type(exc).__name__)
        _import_failed(dataset_id, _("The import could not be queued; upload the file again."))


def _import_failed(dataset_id: int, message: str) -> None:
    ds = Dataset.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING).first()
    if ds is None:
        return
    Dataset.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING).update(
        status=DatasetStatus.FAILED, error=message[:2000], progress=0, upload="")
    if ds.upload:
        default_storage.delete(ds.upload)


def dataset_import_execute(*, dataset_id: int) -> Dataset | None:
    """Import a dataset left `importing` by `dataset_create` (in the worker), moving `progress`;
    the dataset ends `ready` or `failed` with the reason (never a server path). Idempotent: a
    dataset no longer importing is left alone."""
    ds = Dataset.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING).first()
    if ds is None:
        return None
    pending = Dataset.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING)

    def progress(value: int) -> None:
        pending.update(progress=max(1, min(int(value), 99)))

    stored = ""
    try:
        with importing.new_workdir() as tmp:
            work = Path(tmp)
            src = work / "upload.bin"
            with default_storage.open(ds.upload, "rb") as fin, open(src, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            progress(5)
            result = importing.import_file(src, ds.original_filename or "upload.csv", work, ds.requested_types,
                                           progress=progress)
            stored = _store_parquet(result.path)
    except importing.ImportError_ as exc:
        _import_failed(dataset_id, exc.message)
        return Dataset.objects.get(pk=dataset_id)
    except Exception as exc:  # noqa: BLE001 - a failed import records why instead of staying "importing"
        log.warning("import of dataset %s failed: %s", dataset_id, type(exc).__name__)
        _import_failed(dataset_id, _("The import stopped unexpectedly; upload the file again."))
        return Dataset.objects.get(pk=dataset_id)
    done = pending.update(status=DatasetStatus.READY, file=stored, columns=result.columns, progress=100,
                          row_count=result.row_count, size_bytes=default_storage.size(stored), upload="", error="")
    if done:
        default_storage.delete(ds.upload)
    else:
        default_storage.delete(stored)
    return Dataset.objects.get(pk=dataset_id)


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


EDITABLE = ("name", "description", "domain", "risk_level", "supervision_points", "template", "params", "spec")


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
        # The schedule is how often a version runs, not a new rule: changed in place, never a version.
        if "schedule" in changes:
            schedule = changes["schedule"] or ""
            if schedule not in SCHEDULE_STEP and schedule != "":
                raise ValidationError({"schedule": _("Choose daily, weekly or no schedule.")})
            if schedule and model.status == ModelStatus.RETIRED:
                raise ValidationError({"schedule": _("A retired model cannot be scheduled.")})
            if schedule != model.schedule or (schedule and model.next_run_at is None):
                model.schedule = schedule
                model.next_run_at = timezone.now() if schedule else None
                ScreeningModel.objects.filter(pk=model.pk).update(schedule=schedule, next_run_at=model.next_run_at)
        if "spec" in content and "params" not in content and "template" not in content:
            # A spec edited as steps wins over the template it came from (it is checked, not ignored).
            content.update(template="", params={})
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
        cap = engine.max_hits()
        compiled = compile_spec(run.spec, refs, cap=cap)
        _progress(run_id, 20, now)
        t0 = time.perf_counter()
        # An over-broad rule raises engine.TooManyHits once its hits are counted, before any evidence.
        hits, query_ms = engine.execute(compiled, code=model.code)
        if len(hits) > cap:  # the net below that count
            raise engine.TooManyHits(None, cap)
        _progress(run_id, 60, now)
        risk = compiled.emit.risk_level or model.risk_level
        dry_run = model.status != ModelStatus.ACTIVE
        with transaction.atomic():
            source = screening_source_for(model.org_unit)
            links = {} if dry_run else _earlier_alerts(source, hits)
            items = []
            for h in hits:
                earlier = links.get(h.dedup_key)
                if earlier is not None and earlier.status == Status.CLOSED and not _has_new_evidence(h, earlier):
                    continue  # dismissed or closed, and nothing new: not raised again
                details = {"model": {"code": model.code, "version": model.version, "name": model.name},
                           "run": run.pk, "group_key": h.group_key, "metrics": h.metrics, "rows": h.rows,
                           "reason": h.reason, "evidence": h.evidence, "fingerprints": engine.row_fingerprints(h.rows)}
                if earlier is not None and earlier.status == Status.CLOSED:
                    details["previous_alert"] = earlier.pk
                items.append(IntakeItem(
                    dedup_key=h.dedup_key, title=h.title, risk_level=risk, org_unit=model.org_unit,
                    domain=model.domain, rule=model.code, subject_name=h.subject, amount=h.amount,
                    subject_id_number=h.subject_id_number, subject_credit_code=h.subject_credit_code,
                    details=details))
            results = {} if dry_run or not items else {
                r.dedup_key: r for r in alerts_ingest(source=source, items=items)}
            ScreeningHit.objects.bulk_create(
                [ScreeningHit(run=run, group_key=h.group_key, dedup_key=h.dedup_key, title=h.title,
                              subject=h.subject, amount=h.amount, risk_level=risk, rows=h.rows, metrics=h.metrics,
                              reason=h.reason, evidence=h.evidence,
                              alert_id=(results[h.dedup_key].id if h.dedup_key in results
                                        else getattr(links.get(h.dedup_key), "pk", None)),
                              alert_created=h.dedup_key in results and results[h.dedup_key].created,
                              suppressed=not dry_run and h.dedup_key not in results)
                 for h in hits],
                batch_size=1000,
            )
            created = {r.id for r in results.values() if r.created}
            done = ours.update(
                status=RunStatus.SUCCEEDED, progress=100, hit_count=len(hits), dry_run=dry_run,
                alerts_created=len(created), finished_at=timezone.now(),
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
    if run.status == RunStatus.SUCCEEDED and run.alerts_created:
        project_label_alerts(run=run)
    return run


def _earlier_alerts(source: SourceSystem, hits: list[engine.HitData]) -> dict[str, Alert]:
    """For each hit's dedup key, its open alert if there is one, else its latest closed one."""
    found: dict[str, Alert] = {}
    keys = [h.dedup_key for h in hits]
    for start in range(0, len(keys), 1000):
        qs = (Alert.objects.filter(source=source, dedup_key__in=keys[start:start + 1000])
              .only("id", "status", "dedup_key", "details").order_by("id"))
        for alert in qs:
            current = found.get(alert.dedup_key)
            if current is None or current.status == Status.CLOSED:
                found[alert.dedup_key] = alert
    return found


def _has_new_evidence(hit: engine.HitData, alert: Alert) -> bool:
    """True when the hit has an evidence row the (closed) alert did not show."""
    details = alert.details if isinstance(alert.details, dict) else {}
    before = details.get("fingerprints")
    if not isinstance(before, list):
        before = engine.row_fingerprints(details.get("rows") or [])
    return bool(set(engine.row_fingerprints(hit.rows)) - set(before))


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


@shared_task(name="screening.dataset_import", acks_late=True, ignore_result=True)
def dataset_import_task(dataset_id: int) -> None:
    dataset_import_execute(dataset_id=dataset_id)


# ----- the shared warehouse: copying another unit's model onto your own data -----

def _types_fit(needed: str, mine: str) -> bool:
    numeric = ("integer", "decimal", "double")
    return needed == mine or (needed in numeric and mine in numeric)


def column_suggestions(used: list[dict[str, str]], dataset: Dataset) -> dict[str, str]:
    """For each column a model uses, the column of `dataset` that most likely stands for it: the
    same name, else a name containing it (or contained in it), of a fitting type; else none."""
    mine = dataset.columns
    out: dict[str, str] = {}
    for col in used:
        fitting = [c["name"] for c in mine if _types_fit(col["type"], c["type"])]
        exact = [n for n in fitting if n == col["name"]]
        near = [n for n in fitting if col["name"] in n or n in col["name"]]
        pick = (exact or near or [""])[0]
        if pick:
            out[col["name"]] = pick
    return out


def model_columns_used(model: ScreeningModel) -> dict[str, list[dict[str, str]]]:
    """{role: [{name, type}]}: the columns of each dataset role the model's rule reads."""
    return describe.used_columns(model.spec, {role: ds.columns for role, ds in model_datasets(model).items()})


def screening_model_copy_mapped(*, model: ScreeningModel, by: User, org_unit: OrgUnit,
                                datasets: dict[str, Dataset], column_map: Any = None,
                                name: str = "") -> ScreeningModel:
    """Copy a (possibly another unit's, published) model into `org_unit` onto the given datasets:
    every column the rule reads is renamed to the column that stands for it in the new dataset
    (`column_map` {role: {model column: your column}}; a column of the same name and a fitting
    type maps itself). A used column left unmapped, mapped to a missing column or to one of the
    wrong type is a 400 naming it; nothing is saved. The copy is a draft with `origin` set."""
    require(by, "model.copy")
    if column_map is None:
        column_map = {}
    if not isinstance(column_map, dict) or not all(
            isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
            for v in column_map.values()):
        raise ValidationError({"column_map": _("Give the column mapping as {role: {model column: your column}}.")})
    originals = model_datasets(model)
    needed = roles_of(model.spec)
    missing = [r for r in needed if r not in datasets]
    if missing:
        raise ValidationError({"datasets": _("Choose a dataset for: %(r)s.")
                               % {"r": ", ".join(describe.role_label(r) for r in missing)}})
    extra = sorted(set(datasets) - set(needed))
    if extra:
        raise ValidationError({"datasets": _("The model has no dataset role %(r)s.") % {"r": ", ".join(extra)}})
    check_units(org_unit, datasets)
    role_columns = {role: ds.columns for role, ds in originals.items()}
    used = describe.used_columns(model.spec, role_columns)
    mapping: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for role, cols in used.items():
        types = datasets[role].column_types
        given = column_map.get(role) or {}
        for col in cols:
            mine = given.get(col["name"]) or (col["name"] if col["name"] in types else "")
            label = {"role": describe.role_label(role), "col": col["name"], "mine": mine,
                     "type": describe.COLUMN_TYPE_LABELS.get(col["type"], col["type"])}
            if not mine:
                errors.append(_("%(role)s: the model uses the column “%(col)s”; choose the column of your dataset "
                                "that stands for it.") % label)
            elif mine not in types:
                errors.append(_("%(role)s: your dataset has no column “%(mine)s” (for “%(col)s”).") % label)
            elif not _types_fit(col["type"], types[mine]):
                errors.append(_("%(role)s: “%(col)s” needs a column of type %(type)s; “%(mine)s” is not.") % label)
            else:
                mapping.setdefault(role, {})[col["name"]] = mine
    if errors:
        raise ValidationError({"column_map": errors})
    spec = describe.rename_columns(model.spec, role_columns, mapping)
    with transaction.atomic():
        copy = screening_model_create(
            by=by, name=name or _("Copy of %(name)s") % {"name": model.name}, org_unit=org_unit, datasets=datasets,
            spec=spec, domain=model.domain, risk_level=model.risk_level,
            supervision_points=model.supervision_points, description=model.description, origin=model,
        )
        if model.template:
            # Keep the template (the factory's form) when its renamed parameters give the same rule.
            flat = {old: new for m in mapping.values() for old, new in m.items()}
            params = {k: (flat.get(v, v) if isinstance(v, str) else v) for k, v in (model.params or {}).items()}
            try:
                same = expand(model.template, params) == spec
            except SpecError:
                same = False
            if same:
                ScreeningModel.objects.filter(pk=copy.pk).update(template=model.template, params=params)
                copy.template, copy.params = model.template, params
    return copy


# ----- preview before anything is saved or run -----

PREVIEW_SAMPLES = 20


def screening_preview(*, by: User, spec: Any, datasets: dict[str, Dataset], org_unit: OrgUnit | None = None,
                      code: str = "") -> dict[str, Any]:
    """Run a rule on the full datasets without saving or raising anything: how many hits, how many
    would be new alerts and how many match an open or a closed alert (same dedup key in the unit's
    screening feed; only with the model `code`), and the first 20 hits with their reasons."""
    require(by, "spec.preview")
    missing = [r for r in roles_of(spec) if r not in datasets]
    if missing:
        raise ValidationError({"datasets": _("Choose a dataset for: %(r)s.")
                               % {"r": ", ".join(describe.role_label(r) for r in missing)}})
    refs = {role: DatasetRef(path=dataset_local_path(ds), columns=ds.columns, name=ds.name)
            for role, ds in datasets.items()}
    try:
        compiled = compile_spec(spec, refs)
        hits, _ms = engine.execute(compiled, code=code or "preview")
    except SpecError as exc:
        raise ValidationError({"spec": describe.step_error(spec, exc.step, exc.message)}) from None
    open_keys: set[str] = set()
    closed_keys: set[str] = set()
    if code and org_unit is not None:
        keys = [h.dedup_key for h in hits]
        source = SourceSystem.objects.filter(code=f"screening-{org_unit.code}"[:64]).first()
        if source is not None:
            for start in range(0, len(keys), 1000):
                for key, status in (Alert.objects.filter(source=source, dedup_key__in=keys[start:start + 1000])
                                    .values_list("dedup_key", "status")):
                    (closed_keys if status == Status.CLOSED else open_keys).add(key)
    closed_keys -= open_keys
    names = {role: ds.name for role, ds in datasets.items()}
    sentences = describe.rule_sentences(spec, names)
    fallback = " ".join(s["sentence"] for s in sentences if s["type"] not in ("source", "emit"))
    samples = [{"title": h.title, "subject": h.subject, "amount": h.amount,
                "reason": getattr(h, "reason", "") or fallback, "rows": len(h.rows),
                "matches": ("open" if h.dedup_key in open_keys else "closed" if h.dedup_key in closed_keys else "new")}
               for h in hits[:PREVIEW_SAMPLES]]
    return {"hits": len(hits), "new": len(hits) - len(open_keys) - len(closed_keys),
            "matching_open": len(open_keys), "matching_closed": len(closed_keys), "samples": samples}


def expand_template(code: str, params: Any) -> dict[str, Any]:
    """A built-in model's spec for `params`; a bad parameter is a field error on `params`."""
    try:
        return expand(code, params)
    except SpecError as exc:
        raise ValidationError({"params": str(exc)}) from None


# ----- special supervision projects (专项监督) -----

def _require_project(user: Any) -> None:
    if user is not None and not may_in_warehouse(user, "project.manage"):
        raise Forbidden(_("Only supervisors and administrators may manage special projects; your role can only "
                          "read them."))


def special_project_save(*, by: User, name: str, lead_unit: OrgUnit, project: SpecialProject | None = None,
                         description: str = "", start_date: dt.date | None = None, end_date: dt.date | None = None,
                         models: list[ScreeningModel] | None = None, datasets: list[Dataset] | None = None,
                         units: list[OrgUnit] | None = None) -> SpecialProject:
    """Create or edit a project. It may be deployed only to the lead unit's own units below it, its
    datasets belong to the lead unit or below; models may be any published ones (the units copy
    them onto their own data). Deploying makes the project visible to those units."""
    _require_project(by)
    name = clean_text(name).strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 128:
        errors["name"] = [_("Give the project a name of at most 128 characters.")]
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = [_("The end date is before the start date.")]
    outside = [u.name for u in units or [] if u.pk == lead_unit.pk or not lead_unit.contains(u)]
    if outside:
        errors["units"] = [_("A project is deployed to units below its lead unit, not to %(u)s.")
                           % {"u": ", ".join(outside)}]
    foreign = [d.name for d in datasets or [] if not lead_unit.contains(d.org_unit)]
    if foreign:
        errors["datasets"] = [_("These datasets do not belong to the lead unit or below: %(d)s.")
                              % {"d": ", ".join(foreign)}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if project is None:
            project = SpecialProject(created_by=by)
        project.name, project.description, project.lead_unit = name, clean_text(description), lead_unit
        project.start_date, project.end_date = start_date, end_date
        project.save()
        if models is not None:
            project.screening_models.set(models)
        if datasets is not None:
            project.datasets.set(datasets)
        if units is not None:
            project.units.set(units)
    return project


def special_project_delete(*, by: User, project: SpecialProject) -> None:
    _require_project(by)
    project.delete()


def screening_model_tags_set(*, model_id: int, by: User, tags: Any) -> ScreeningModel:
    """Replace the tags of a model version of one's own scope (a label, not a new version)."""
    require(by, "model.update")
    cleaned = clean_tags(tags)
    with transaction.atomic():
        model = ScreeningModel.objects.select_for_update().filter(pk=model_id).first()
        if model is None:
            raise NotFound(_("Model not found."))
        model.tags = cleaned
        model.save(update_fields=["tags", "updated_at"])
    return model


# ----- business systems' embedded indicators -----

INDICATOR_FIELDS = {"name": 128, "module": 64, "threshold": 128, "department": 128}


def indicator_update(*, indicator_id: int, by: User, changes: dict[str, Any]) -> SourceIndicator:
    """Name an embedded indicator and say what it checks (module, threshold, owning department).
    Only for indicators of a source system of the editor's unit or below."""
    if not may_in_warehouse(by, "indicator.update"):
        raise Forbidden(_("Only supervisors and administrators may edit indicators; your role can only read them."))
    errors = {k: [_("At most %(n)d characters.") % {"n": n}] for k, n in INDICATOR_FIELDS.items()
              if len(clean_text(changes.get(k, ""))) > n}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        ind = (SourceIndicator.objects.select_for_update().select_related("source__org_unit")
               .filter(pk=indicator_id).first())
        unit = getattr(by, "org_unit", None)
        if ind is None or not (by.is_superuser or (unit is not None and unit.contains(ind.source.org_unit))):
            raise NotFound(_("Indicator not found."))
        for k in INDICATOR_FIELDS:
            if k in changes:
                setattr(ind, k, clean_text(changes[k]).strip())
        ind.save()
    return ind


def project_label_alerts(*, run: ScreeningRun) -> int:
    """The alerts a run raised carry the special projects of its model (the model, or the model it
    was copied from, is one of the project's): `details.projects` [{id, name}] and the project's
    name as a tag. Returns how many alerts were labelled."""
    model = run.model
    codes = [model.code] + ([model.origin.code] if model.origin_id and model.origin else [])
    projects = list(SpecialProject.objects.filter(screening_models__code__in=codes).distinct().order_by("pk"))
    if not projects:
        return 0
    ids = list(run.hits.filter(alert_created=True, alert__isnull=False).values_list("alert_id", flat=True))
    labels = [{"id": p.pk, "name": p.name} for p in projects]
    with transaction.atomic():
        alerts = list(Alert.objects.select_for_update().filter(pk__in=ids))
        for alert in alerts:
            details = alert.details if isinstance(alert.details, dict) else {}
            alert.details = {**details, "projects": labels}
            alert.tags = clean_tags([*(alert.tags or []), *(p.name[:32] for p in projects)][:20])
        Alert.objects.bulk_update(alerts, ["details", "tags"], batch_size=500)
    return len(alerts)
