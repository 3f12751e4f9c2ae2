"""Alert exports as one use case for the screens (and any other face): a small export downloads at
once; one above `HUOYAN_EXPORT_BACKGROUND_ROWS` rows becomes an `ExportJob` that the worker writes
in chunks, updating its progress, and the owner downloads when it is ready (an inbox message says
so).

Scope: the rows are those the owner may see (`alerts_visible_to`) with the filters of the list,
read when the job runs. The owner's unit and role are recorded with the job; the worker refuses to
write, and the download refuses to hand over, a file whose owner has since changed unit or role or
left. Nobody but the owner sees a job at all.

Where it runs: with a broker, in a Celery worker (`export_job_task`); on the embedded default (no
broker, tasks eager) in a thread of the web process, so the request returns at once and the page
shows progress instead of hanging. Either way the job is claimed with a conditional update
(queued → running), so a redelivered task or a requeue by the sweep never writes it twice.
`export_jobs_sweep` (beat / `run_sweeper`) deletes expired files, marks jobs whose worker died as
failed, and requeues jobs still waiting after a while (a lost message, a restarted web process).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import IO, Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from audit.models import AuditEvent
from audit.services import audit_record
from core.errors import Conflict, NotFound
from workflow.alert_filters import alerts_filtered, filters_from_json
from workflow.exports import EXPORT_LIMIT, csv_chunks, export_rows, write_xlsx
from workflow.models import ExportJob, Notification
from workflow.notify import Message, notify_many

log = logging.getLogger(__name__)

FORMATS = (ExportJob.Format.CSV, ExportJob.Format.XLSX)
CONTENT_TYPES = {
    ExportJob.Format.CSV: "text/csv; charset=utf-8",
    ExportJob.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A queued job nobody picked up within this long is queued again (the claim makes that safe).
REQUEUE_AFTER = timedelta(minutes=2)
MAX_UNFINISHED = 3  # exports being prepared at once, per person


def export_filename(fmt: str, at: datetime | None = None) -> str:
    """`预警导出-20261130-1405.xlsx` (in the active language)."""
    stamp = timezone.localtime(at or timezone.now())
    return f"{_('alerts-export')}-{stamp:%Y%m%d-%H%M}.{fmt}"


def export_sheet_name() -> str:
    return _("Alerts")


def _ordered(qs: QuerySet[Alert]) -> QuerySet[Alert]:
    return qs.order_by("-created_at", "-id")


# ----- deciding and exporting at once -----

def export_in_background(qs: QuerySet[Alert]) -> bool:
    """Whether exporting `qs` is a job for the worker: more than the threshold (counted only up to
    one past it, so a city-wide export does not pay for an exact count)."""
    threshold = settings.HUOYAN_EXPORT_BACKGROUND_ROWS
    return qs.order_by()[: threshold + 1].count() > threshold


@dataclass
class DirectExport:
    """A small export, answered by the request itself."""

    format: str
    filename: str
    content_type: str
    chunks: Iterator[bytes] | None = None  # CSV: streamed
    file: IO[bytes] | None = None  # xlsx: a rewound temporary file


def export_now(*, user: User, qs: QuerySet[Alert], fmt: str, filters: Mapping[str, Any],
               request: Any = None) -> DirectExport:
    """Export `qs` (already scoped and filtered for `user`) at once, on the audit record."""
    if fmt not in FORMATS:
        raise NotFound(_("No such export format."))
    audit_record(action=AuditEvent.Action.EXPORT, actor=user, request=request, object_type="alert_list",
                 data={"format": fmt, "filters": dict(filters)})
    rows = export_rows(_ordered(qs))
    name = export_filename(fmt)
    if fmt == ExportJob.Format.CSV:
        # Streamed: a large export neither waits for nor holds the whole file.
        return DirectExport(fmt, name, CONTENT_TYPES[fmt], chunks=csv_chunks(rows))
    # Written to a spooled temporary file: memory stays flat for large exports.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to the response
    write_xlsx(out, rows, sheet=export_sheet_name())
    out.seek(0)
    return DirectExport(fmt, name, CONTENT_TYPES[fmt], file=out)


# ----- background jobs -----

def export_job_start(*, by: User, fmt: str, filters: Mapping[str, Any], query: str = "",
                     request: Any = None) -> ExportJob:
    """Queue an export of the alerts `by` may see, narrowed by the cleaned `filters` (JSON, see
    `workflow.alert_filters.filters_as_json`). It runs after commit. `Conflict` while the person
    already has `MAX_UNFINISHED` exports being prepared."""
    if fmt not in FORMATS:
        raise NotFound(_("No such export format."))
    if not by.is_authenticated or by.org_unit_id is None:
        raise NotFound(_("There is nothing you could export."))
    with transaction.atomic():
        # One person cannot fill the worker's queue: a few exports at a time.
        User.objects.select_for_update().filter(pk=by.pk).first()
        waiting = ExportJob.objects.filter(
            owner=by, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]).count()
        if waiting >= MAX_UNFINISHED:
            raise Conflict(_("You already have %(n)d exports being prepared. Wait until one of them is "
                             "ready, then request this one again.") % {"n": waiting})
        job = ExportJob.objects.create(
            owner=by, org_unit_id=by.org_unit_id, role=by.role, format=fmt, filters=dict(filters),
            query=query[:2000], language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        audit_record(action=AuditEvent.Action.EXPORT, actor=by, request=request, object_type="export_job",
                     object_id=job.pk, data={"format": fmt, "filters": dict(filters), "background": True})
        transaction.on_commit(partial(_dispatch, job.pk))
    return job


def _inline() -> bool:
    return not settings.CELERY_BROKER_URL or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)


def _run_in_thread(job_id: int) -> None:
    try:
        export_job_run(job_id=job_id)
    finally:
        connection.close()  # this thread's own connection


def start_thread(job_id: int) -> threading.Thread:
    """The embedded default has no worker: the web process writes the file beside the requests."""
    thread = threading.Thread(target=_run_in_thread, args=(job_id,), name=f"export-{job_id}", daemon=True)
    thread.start()
    return thread


def _dispatch(job_id: int) -> None:
    if _inline():
        start_thread(job_id)
        return
    try:
        export_job_task.apply_async((job_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - an unreachable broker must not leave the job queued forever
        log.warning("could not queue export %s: %s", job_id, type(exc).__name__)
        job = ExportJob.objects.filter(pk=job_id).select_related("owner").first()
        if job is not None:
            with translation.override(job.language):
                _fail(job, _("The export could not be started. Please request it again."))


def _claim(job_id: int) -> ExportJob | None:
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0, rows_written=0)
    if not claimed:
        return None  # done, failed, or taken by another worker
    return ExportJob.objects.select_related("owner").get(pk=job_id)


def _scope_unchanged(job: ExportJob) -> bool:
    owner = job.owner
    return owner.is_active and owner.org_unit_id == job.org_unit_id and owner.role == job.role


def _fail(job: ExportJob, message: str) -> None:
    """Mark the job failed with `message` (words for its owner) and tell the owner."""
    with transaction.atomic():
        changed = ExportJob.objects.filter(
            pk=job.pk, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
        ).update(status=ExportJob.Status.FAILED, error=message, finished_at=timezone.now())
        if changed:
            notify_many([Message(
                [job.owner], Notification.Kind.EXPORT_FAILED, _("Export failed"), message,
                key=f"export:{job.pk}", link=reverse("web:export_job", args=[job.pk]),
            )])


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file (the worker's part). Idempotent: a job not waiting is left alone."""
    job = _claim(job_id)
    if job is None:
        return None
    with translation.override(job.language):
        try:
            _write(job)
        except SoftTimeLimitExceeded:
            _fail(job, _("The export took too long and was stopped. Narrow the filters and request it again."))
        except Exception:
            log.exception("export %s failed", job_id)
            _fail(job, _("The export could not be written because of an error on the server. "
                         "Please request it again; if it fails again, tell the administrator."))
    job.refresh_from_db()
    return job


def _write(job: ExportJob) -> None:
    if not _scope_unchanged(job):
        _fail(job, _("Your unit or role has changed since this export was requested, so it was not "
                     "written. Request it again from the alert list."))
        return
    qs = _ordered(alerts_filtered(alerts_visible_to(job.owner), filters_from_json(job.filters), user=job.owner))
    total = min(qs.order_by().count(), EXPORT_LIMIT)
    ExportJob.objects.filter(pk=job.pk).update(row_count=total)

    def progress(done: int) -> None:
        # Written rows, up to 99 %: the last per cent is saving the file.
        percent = min(99, done * 100 // total) if total else 99
        ExportJob.objects.filter(pk=job.pk).update(progress=percent, rows_written=done,
                                                   heartbeat_at=timezone.now())

    rows = export_rows(qs, progress=progress)
    name = export_filename(job.format, job.created_at)
    with tempfile.TemporaryFile() as out:
        if job.format == ExportJob.Format.CSV:
            for piece in csv_chunks(rows):
                out.write(piece)
        else:
            write_xlsx(out, rows, sheet=export_sheet_name())
        size = out.tell()
        out.seek(0)
        now = timezone.now()
        with transaction.atomic():
            locked = ExportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ExportJob.Status.RUNNING:
                return  # failed or expired meanwhile (e.g. marked stale): keep no file
            locked.file.save(f"{job.owner_id}-{job.pk}.{job.format}", File(out), save=False)
            locked.filename = name
            locked.size_bytes = size
            locked.status = ExportJob.Status.DONE
            locked.progress = 100
            locked.finished_at = now
            locked.heartbeat_at = now
            locked.expires_at = now + timedelta(hours=settings.HUOYAN_EXPORT_KEEP_HOURS)
            locked.save()
            notify_many([Message(
                [job.owner], Notification.Kind.EXPORT_READY, _("Your export is ready: %(name)s") % {"name": name},
                ngettext("%(n)d alert. Download it from the exports page before %(when)s.",
                         "%(n)d alerts. Download it from the exports page before %(when)s.", total)
                % {"n": total, "when": timezone.localtime(locked.expires_at).strftime("%Y-%m-%d %H:%M")},
                key=f"export:{job.pk}", link=reverse("web:export_job", args=[job.pk]),
            )], now=now)


@shared_task(name="workflow.export_job", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.HUOYAN_EXPORT_TIME_LIMIT_SECONDS,
             time_limit=settings.HUOYAN_EXPORT_TIME_LIMIT_SECONDS + 60)
def export_job_task(job_id: int) -> None:
    export_job_run(job_id=job_id)


# ----- reads and the download -----

def export_jobs_for(user: User) -> QuerySet[ExportJob]:
    """The user's own exports: nobody sees another person's."""
    if not user.is_authenticated or user.pk is None:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(owner=user).order_by("-created_at", "-id")


def export_job_get(*, user: User, job_id: int) -> ExportJob:
    job = export_jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Export not found."))
    return job


def export_job_file(*, user: User, job_id: int, request: Any = None) -> tuple[IO[bytes], ExportJob]:
    """The finished file for its owner, if their unit and role are still those it was written
    for and it has not expired; on the audit record."""
    job = export_job_get(user=user, job_id=job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise NotFound(_("This export has no file to download."))
    if job.expires_at is not None and job.expires_at <= timezone.now():
        raise NotFound(_("This export has expired. Request it again from the alert list."))
    if not _scope_unchanged(job):
        raise NotFound(_("Your unit or role has changed since this export was written, so it can no "
                         "longer be downloaded. Request it again from the alert list."))
    audit_record(action=AuditEvent.Action.EXPORT, actor=user, request=request, object_type="export_job",
                 object_id=job.pk, data={"download": True, "format": job.format})
    return job.file.open("rb"), job


# ----- the sweep -----

def export_jobs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Delete expired files, fail jobs whose worker died, requeue jobs nobody picked up."""
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now):
        if ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
                status=ExportJob.Status.EXPIRED, file=""):
            if job.file:
                job.file.storage.delete(job.file.name)
            expired += 1
    stale_before = now - timedelta(minutes=settings.HUOYAN_EXPORT_STALE_MINUTES)
    stale = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale_before
                                        ).select_related("owner"):
        with translation.override(job.language):
            _fail(job, _("The export was interrupted (the server stopped while writing it). "
                         "Please request it again."))
        stale += 1
    requeued = 0
    for job_id in ExportJob.objects.filter(status=ExportJob.Status.QUEUED, created_at__lt=now - REQUEUE_AFTER
                                           ).values_list("pk", flat=True):
        _dispatch(job_id)
        requeued += 1
    return {"expired": expired, "stale": stale, "requeued": requeued}


@shared_task(name="workflow.export_jobs_sweep", acks_late=True)
def export_jobs_sweep_task() -> dict[str, int]:
    close_old_connections()
    return export_jobs_sweep()
