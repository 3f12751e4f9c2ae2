"""Background exports through the service: the lifecycle (queued → running → done, with progress
and an inbox message), scope (rows of the owner's scope only; only the owner, with an unchanged
unit and role, gets the file), failures in words, expiry and the embedded default's thread."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from openpyxl import load_workbook

from core.errors import NotFound
from workflow import export_jobs, exports
from workflow.export_jobs import (
    export_job_file,
    export_job_get,
    export_job_run,
    export_job_start,
    export_jobs_for,
    export_jobs_sweep,
)
from workflow.models import ExportJob, Notification

pytestmark = pytest.mark.django_db


def _csv_rows(job: ExportJob) -> list[list[str]]:
    with job.file.open("rb") as fh:
        return list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))


def test_a_job_writes_the_owners_rows_and_tells_the_owner(people, make_alert, org):
    mine = make_alert(title="昆山 A", risk_level="red")
    make_alert(title="常熟 B", org_unit=org.changshu)
    job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    assert job.status == ExportJob.Status.QUEUED and job.org_unit_id == org.kunshan.pk

    job = export_job_run(job_id=job.pk)

    assert job.status == ExportJob.Status.DONE and job.progress == 100 and job.row_count == 1
    assert job.expires_at > timezone.now() and job.filename.endswith(".csv") and job.size_bytes > 0
    rows = _csv_rows(job)
    assert [r[0] for r in rows[1:]] == [str(mine.pk)]
    note = Notification.objects.get(recipient=people.kunshan_supervisor, kind=Notification.Kind.EXPORT_READY)
    assert note.link == f"/exports/{job.pk}/" and job.filename in note.title


def test_a_job_applies_the_saved_filters(people, make_alert):
    make_alert(title="红", risk_level="red")
    make_alert(title="蓝", risk_level="blue")
    job = export_job_start(by=people.kunshan_supervisor, fmt="xlsx", filters={"risk": "blue"})
    job = export_job_run(job_id=job.pk)
    with job.file.open("rb") as fh:
        ws = load_workbook(io.BytesIO(fh.read())).active
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["蓝"]
    assert ws.freeze_panes == "A2"


def test_a_job_runs_once_however_often_it_is_delivered(people, make_alert):
    make_alert()
    job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    first = export_job_run(job_id=job.pk)
    assert export_job_run(job_id=job.pk) is None  # a redelivered task finds it done
    assert ExportJob.objects.get(pk=job.pk).file.name == first.file.name
    assert Notification.objects.filter(kind=Notification.Kind.EXPORT_READY).count() == 1


def test_progress_rises_while_the_file_is_written(people, make_alert, monkeypatch):
    for i in range(7):
        make_alert(title=f"预警{i}")
    monkeypatch.setattr(exports, "CHUNK", 2)
    monkeypatch.setattr(exports, "CSV_BLOCK", 1)
    seen: list[int] = []
    original = export_jobs.csv_chunks

    def watching(rows):  # noqa: ANN001, ANN202
        for piece in original(rows):
            seen.append(ExportJob.objects.get(pk=job.pk).progress)
            yield piece

    monkeypatch.setattr(export_jobs, "csv_chunks", watching)
    job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    export_job_run(job_id=job.pk)
    assert seen == sorted(seen) and any(0 < p < 100 for p in seen)
    assert ExportJob.objects.get(pk=job.pk).progress == 100


def test_a_failure_is_shown_in_words_and_the_owner_is_told(people, make_alert, monkeypatch):
    make_alert()

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("disk full at /var/lib/huoyan")

    monkeypatch.setattr(export_jobs, "write_xlsx", broken)
    job = export_job_start(by=people.kunshan_supervisor, fmt="xlsx", filters={})
    job = export_job_run(job_id=job.pk)
    assert job.status == ExportJob.Status.FAILED and not job.file
    assert "request it again" in job.error and "RuntimeError" not in job.error and "/var/lib" not in job.error
    assert Notification.objects.filter(recipient=people.kunshan_supervisor,
                                       kind=Notification.Kind.EXPORT_FAILED).exists()


def test_nobody_else_sees_or_downloads_a_job(people, make_alert):
    make_alert()
    job = export_job_run(job_id=export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={}).pk)
    for other in (people.kunshan_verifier, people.changshu_supervisor, people.city_leader):
        assert not export_jobs_for(other).exists()
        with pytest.raises(NotFound):
            export_job_get(user=other, job_id=job.pk)
        with pytest.raises(NotFound):
            export_job_file(user=other, job_id=job.pk)
    fh, _ = export_job_file(user=people.kunshan_supervisor, job_id=job.pk)
    fh.close()


def test_an_owner_who_moved_unit_no_longer_gets_the_file(people, make_alert, org):
    make_alert()
    owner = people.kunshan_supervisor
    job = export_job_run(job_id=export_job_start(by=owner, fmt="csv", filters={}).pk)
    owner.org_unit = org.changshu
    owner.save(update_fields=["org_unit"])
    with pytest.raises(NotFound, match="unit or role has changed"):
        export_job_file(user=owner, job_id=job.pk)


def test_a_job_whose_owner_moved_before_it_ran_is_not_written(people, make_alert, org):
    make_alert()
    owner = people.kunshan_supervisor
    job = export_job_start(by=owner, fmt="csv", filters={})
    owner.org_unit = org.changshu
    owner.save(update_fields=["org_unit"])
    job = export_job_run(job_id=job.pk)
    assert job.status == ExportJob.Status.FAILED and "unit or role has changed" in job.error and not job.file


def test_the_sweep_deletes_expired_files_and_fails_interrupted_jobs(people, make_alert):
    make_alert()
    done = export_job_run(job_id=export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={}).pk)
    name = done.file.name
    assert default_storage.exists(name)
    stuck = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    long_ago = timezone.now() - timedelta(hours=1)
    ExportJob.objects.filter(pk=stuck.pk).update(status=ExportJob.Status.RUNNING, heartbeat_at=long_ago)

    report = export_jobs_sweep(now=done.expires_at + timedelta(seconds=1))

    assert report["expired"] == 1 and report["stale"] == 1
    assert not default_storage.exists(name)
    assert ExportJob.objects.get(pk=done.pk).status == ExportJob.Status.EXPIRED
    stuck.refresh_from_db()
    assert stuck.status == ExportJob.Status.FAILED and "interrupted" in stuck.error
    with pytest.raises(NotFound):
        export_job_file(user=people.kunshan_supervisor, job_id=done.pk)


def test_without_a_broker_the_job_runs_in_a_thread_of_the_web_process(
        people, make_alert, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = ""
    started: list[int] = []
    monkeypatch.setattr(export_jobs, "start_thread", started.append)
    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    assert started == [job.pk]


def test_with_a_broker_the_job_goes_to_the_worker(people, settings, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/6"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued: list[tuple] = []
    monkeypatch.setattr(export_jobs.export_job_task, "apply_async", lambda args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    assert queued == [(job.pk,)]


def test_an_unreachable_broker_fails_the_job_in_words(people, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/6"
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def down(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ConnectionError("refused")

    monkeypatch.setattr(export_jobs.export_job_task, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "could not be started" in job.error


@pytest.mark.django_db(transaction=True)
def test_the_embedded_thread_writes_the_file(people, make_alert, settings):
    settings.CELERY_BROKER_URL = ""
    make_alert()
    job = export_job_start(by=people.kunshan_supervisor, fmt="xlsx", filters={})
    thread = next(t for t in threading.enumerate() if t.name == f"export-{job.pk}")
    thread.join(timeout=120)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.file


def test_an_unknown_format_is_refused(people):
    with pytest.raises(NotFound):
        export_job_start(by=people.kunshan_supervisor, fmt="pdf", filters={})


def test_saved_date_filters_survive_the_trip_to_the_worker(people, make_alert):
    from workflow.alert_filters import filters_as_json, filters_from_json

    make_alert()
    saved = filters_as_json({"created_from": timezone.localdate() + timedelta(days=1), "risk": "", "q": None})
    assert saved == {"created_from": (timezone.localdate() + timedelta(days=1)).isoformat()}
    assert filters_from_json(saved)["created_from"] == timezone.localdate() + timedelta(days=1)
    job = export_job_run(job_id=export_job_start(by=people.kunshan_supervisor, fmt="csv", filters=saved).pk)
    assert job.status == ExportJob.Status.DONE and job.row_count == 0 and len(_csv_rows(job)) == 1


def test_a_person_has_a_few_exports_in_preparation_at_most(people):
    from core.errors import Conflict

    for _ in range(export_jobs.MAX_UNFINISHED):
        export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    with pytest.raises(Conflict, match="being prepared"):
        export_job_start(by=people.kunshan_supervisor, fmt="csv", filters={})
    export_job_start(by=people.changshu_supervisor, fmt="csv", filters={})  # others are not held up


def test_results_cells_land_on_their_own_alert_among_many(people, make_alert):
    """The results columns are read in step with the alerts: each lands on its own row."""
    from decimal import Decimal

    from alerts.selectors import alerts_visible_to
    from tests.api.helpers import drive
    from workflow import services as wf

    older = make_alert(title="旧")
    middle = drive(make_alert(title="中"), "disposing", supervisor=people.kunshan_supervisor,
                   verifier=people.kunshan_verifier)
    wf.alert_dispose(alert_id=middle.pk, by=people.kunshan_supervisor, outcome="form_2",
                     amount_recovered=Decimal("12.5"), people=[wf.PersonInput(name="张三", form="form_2")])
    newer = make_alert(title="新")
    qs = alerts_visible_to(people.kunshan_supervisor).order_by("-created_at", "-id")
    rows = {r[0]: r for r in exports.export_rows(qs)}
    assert set(rows) == {older.pk, middle.pk, newer.pk}
    people_form_2 = [c.header for c in exports.COLUMNS].index("People: form 2")
    recovered = [c.header for c in exports.COLUMNS].index("Amount recovered (yuan)")
    assert rows[middle.pk][people_form_2] == 1 and rows[middle.pk][recovered] == Decimal("12.50")
    assert rows[older.pk][people_form_2] is None and rows[newer.pk][recovered] is None
