"""Screening fixtures: datasets in a temporary MEDIA_ROOT, and runs executed inline."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from screening import services
from screening.models import RunStatus


@pytest.fixture(autouse=True)
def screening_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CELERY_BROKER_URL = ""  # the embedded default: runs execute inline after commit
    settings.LANGUAGE_CODE = "en"  # assertions read English messages (zh-hans is tested on its own)
    with translation.override("en"):
        yield settings


@pytest.fixture
def make_dataset(org, people):
    def make(text: str | bytes, *, unit=None, name: str = "数据", filename: str = "data.csv", encoding="utf-8"):
        data = text.encode(encoding) if isinstance(text, str) else text
        upload = SimpleUploadedFile(filename, data)
        return services.dataset_create(name=name, org_unit=unit or org.kunshan, upload=upload,
                                       by=people.kunshan_supervisor)

    return make


@pytest.fixture
def run_model(people, django_capture_on_commit_callbacks):
    """Create a model from a template and run it; returns (model, run)."""

    def run(template: str, params: dict, datasets: dict, *, model=None, unit=None):
        if model is None:
            model = services.screening_model_create(
                by=people.kunshan_supervisor, name=template, org_unit=unit or people.kunshan_supervisor.org_unit,
                datasets=datasets, template=template, params=params, status="active",
            )
        with django_capture_on_commit_callbacks(execute=True):
            r = services.screening_run_start(model=model, by=people.kunshan_supervisor)
        r.refresh_from_db()
        assert r.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        return model, r

    return run
