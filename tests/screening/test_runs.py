"""Runs: dedup on rerun, failure creates nothing, versions, copies, schedule, results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.models import Alert
from alerts.states import Conclusion, Status
from screening import selectors, services
from screening.models import ModelStatus, RunStatus, ScreeningModel, ScreeningRun

pytestmark = pytest.mark.django_db

CSV = "采购人,中标人,中标日期\n教育局,甲公司,2024-01-01\n教育局,甲公司,2024-01-02\n教育局,乙公司,2024-01-01\n"
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 2}


def test_a_rerun_on_the_same_data_creates_no_new_alerts(make_dataset, run_model):
    ds = make_dataset(CSV)
    model, first = run_model("repeat_winner", PARAMS, {"awards": ds})
    assert (first.hit_count, first.alerts_created) == (1, 1)
    _, second = run_model("repeat_winner", PARAMS, {"awards": ds}, model=model)
    assert (second.status, second.hit_count, second.alerts_created) == (RunStatus.SUCCEEDED, 1, 0)
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.occurrence_count == 2 and alert.dedup_key == f"{model.code}:教育局|甲公司"
    assert alert.org_unit == model.org_unit and alert.title.startswith("标王")


def test_a_failed_run_says_why_and_creates_nothing(make_dataset, run_model):
    ds = make_dataset(CSV)
    model, _ = run_model("repeat_winner", PARAMS, {"awards": ds})
    Alert.objects.all().delete()
    Path(services.dataset_local_path(ds)).unlink()  # the file vanished from storage
    _, run = run_model("repeat_winner", PARAMS, {"awards": ds}, model=model)
    assert run.status == RunStatus.FAILED and run.error
    assert run.hits.count() == 0 and Alert.objects.count() == 0


def test_a_spec_that_does_not_fit_the_datasets_is_refused(make_dataset, people):
    ds = make_dataset(CSV)
    with pytest.raises(ValidationError) as err:
        services.screening_model_create(
            by=people.kunshan_supervisor, name="x", org_unit=people.kunshan_supervisor.org_unit,
            datasets={"awards": ds}, template="repeat_winner", params={**PARAMS, "date_field": "采购人"})
    assert "date" in str(err.value)
    with pytest.raises(ValidationError):
        services.screening_model_create(
            by=people.kunshan_supervisor, name="x", org_unit=people.kunshan_supervisor.org_unit,
            datasets={}, template="repeat_winner", params=PARAMS)


def test_editing_an_active_model_creates_a_version_and_runs_keep_theirs(make_dataset, run_model, people):
    ds = make_dataset(CSV)
    model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    v2 = services.screening_model_update(model_id=model.pk, by=people.kunshan_supervisor,
                                         changes={"params": {**PARAMS, "min_count": 1}})
    assert (v2.code, v2.version, v2.status, v2.previous_version_id) == (model.code, 2, ModelStatus.ACTIVE, model.pk)
    model.refresh_from_db()
    assert (model.is_latest, model.status) == (False, ModelStatus.RETIRED)
    run.refresh_from_db()
    assert run.model_id == model.pk and run.model.version == 1
    _, run2 = run_model("repeat_winner", {}, {}, model=v2)
    assert run2.hit_count == 2 and run2.alerts_created == 1  # 甲 again (deduped) and 乙 new
    with pytest.raises(Exception):  # noqa: B017 - the old version is no longer editable
        services.screening_model_update(model_id=model.pk, by=people.kunshan_supervisor, changes={"name": "y"})


def test_a_draft_is_edited_in_place(make_dataset, people):
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="草稿", org_unit=people.kunshan_supervisor
                                        .org_unit, datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    same = services.screening_model_update(model_id=m.pk, by=people.kunshan_supervisor, changes={"name": "改名"})
    assert (same.pk, same.version, same.name) == (m.pk, 1, "改名")


def test_a_copy_records_its_origin(make_dataset, people, org):
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="标王", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    copy = services.screening_model_copy(model=m, by=people.kunshan_supervisor, org_unit=org.kunshan)
    assert copy.origin == m and copy.code != m.code and copy.version == 1 and copy.status == ModelStatus.DRAFT
    assert copy.spec == m.spec


def test_scheduled_models_run_when_due_and_move_on(make_dataset, people, org, django_capture_on_commit_callbacks):
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="每日", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS,
                                        status="active", schedule="daily")
    now = timezone.now() + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        runs = services.run_due_scheduled_models(now)
    assert [r.model_id for r in runs] == [m.pk]
    assert ScreeningRun.objects.get().status == RunStatus.SUCCEEDED
    assert services.run_due_scheduled_models(now) == []
    m.refresh_from_db()
    assert m.next_run_at > now


def test_results_count_substantiated_alerts_from_the_loop(make_dataset, run_model):
    ds = make_dataset(CSV + "教育局,乙公司,2024-01-03\n")
    model, run = run_model("repeat_winner", PARAMS, {"awards": ds})
    a, b = Alert.objects.order_by("id")
    Alert.objects.filter(pk=a.pk).update(status=Status.CLOSED, conclusion=Conclusion.SUBSTANTIATED,
                                         closed_at=timezone.now())
    Alert.objects.filter(pk=b.pk).update(status=Status.EVALUATING, conclusion=Conclusion.UNFOUNDED)
    results = selectors.model_results(ScreeningModel.objects.get(pk=model.pk))
    assert results == {"hits": 2, "alerts_raised": 2, "concluded": 2, "substantiated": 1,
                       "substantiation_rate": 0.5, "recurrences": 0}
    assert list(selectors.typical_cases(model)) == [Alert.objects.get(pk=a.pk)]


def test_with_a_broker_the_run_is_queued_as_a_celery_task(make_dataset, people, org, settings, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from screening import tasks

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/4"
    sent = []
    monkeypatch.setattr(tasks.screening_run_task, "apply_async", lambda args, **kw: sent.append(args))
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="队列", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_run_start(model=m, by=people.kunshan_supervisor)
    assert sent == [(run.pk,)]
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    tasks.screening_run_task(run.pk)  # what the worker does
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.hit_count == 1
    assert services.screening_run_execute(run_id=run.pk) is None  # a redelivered task does nothing


def test_the_demo_seed_creates_models_with_hits_once(people, org):
    from demo.screening import seed_screening_demo

    models = seed_screening_demo(unit=org.kunshan, user=people.kunshan_supervisor)
    assert len(models) == 3
    runs = {r.model.code: r for r in ScreeningRun.objects.select_related("model")}
    assert all(r.status == RunStatus.SUCCEEDED for r in runs.values())
    assert runs["demo-keyword-travel"].hit_count == 2 and runs["demo-contract-splitting"].hit_count >= 1
    assert runs["demo-repeat-winner"].hit_count >= 1
    assert len(seed_screening_demo(unit=org.kunshan, user=people.kunshan_supervisor)) == 3
    assert ScreeningModel.objects.count() == 3


def _queued_run(make_dataset, people, org, settings, monkeypatch, django_capture_on_commit_callbacks):
    from screening import tasks

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/4"
    monkeypatch.setattr(tasks.screening_run_task, "apply_async", lambda args, **kw: None)
    ds = make_dataset(CSV)
    m = services.screening_model_create(by=people.kunshan_supervisor, name="卡住", org_unit=org.kunshan,
                                        datasets={"awards": ds}, template="repeat_winner", params=PARAMS,
                                        status="active")
    with django_capture_on_commit_callbacks(execute=True):
        return services.screening_run_start(model=m, by=people.kunshan_supervisor)


def _killed_mid_run(run, *, ago: dt.timedelta) -> None:
    """What a worker SIGKILLed (or killed at the hard time limit) after claiming leaves behind."""
    ScreeningRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now() - ago,
                                                  progress=20)


def test_a_redelivered_task_takes_over_a_run_whose_worker_died(make_dataset, people, org, settings, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    from screening import tasks

    run = _queued_run(make_dataset, people, org, settings, monkeypatch, django_capture_on_commit_callbacks)
    settings.CELERY_TASK_TIME_LIMIT = 300
    # Claimed a minute ago: the first worker may still be at it, so a duplicate delivery does nothing.
    _killed_mid_run(run, ago=dt.timedelta(minutes=1))
    assert services.screening_run_execute(run_id=run.pk) is None
    # Claimed longer ago than the hard time limit: that worker is gone; the redelivered task finishes it.
    _killed_mid_run(run, ago=dt.timedelta(seconds=300 + 61))
    tasks.screening_run_task(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.hit_count == 1 and Alert.objects.count() == 1


def test_a_taken_over_worker_commits_nothing(make_dataset, people, org, settings, monkeypatch,
                                             django_capture_on_commit_callbacks):
    from screening import engine

    run = _queued_run(make_dataset, people, org, settings, monkeypatch, django_capture_on_commit_callbacks)
    real = engine.execute

    def slow(*args, **kwargs):  # while this worker queries, another one takes the run over
        out = real(*args, **kwargs)
        ScreeningRun.objects.filter(pk=run.pk).update(started_at=timezone.now() + dt.timedelta(seconds=1))
        return out

    monkeypatch.setattr(engine, "execute", slow)
    services.screening_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.hit_count == 0
    assert not Alert.objects.exists() and not run.hits.exists()


def test_the_sweeper_fails_runs_left_running_by_a_dead_worker(make_dataset, people, org, settings, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    run = _queued_run(make_dataset, people, org, settings, monkeypatch, django_capture_on_commit_callbacks)
    settings.CELERY_TASK_TIME_LIMIT = 300
    _killed_mid_run(run, ago=dt.timedelta(minutes=2))
    assert services.run_due_scheduled_models() == []
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # still within the time limit
    _killed_mid_run(run, ago=dt.timedelta(minutes=10))
    services.run_due_scheduled_models()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "time limit" in run.error and run.finished_at is not None
    assert services.screening_run_execute(run_id=run.pk) is None  # a late redelivery leaves it failed
