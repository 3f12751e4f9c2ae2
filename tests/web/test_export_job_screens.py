"""Large exports on the screen: the list's export link offers a background export, the job page
polls its progress and offers the download when done, the inbox message leads there; another
user or county gets a 404; small exports still download at once."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from workflow.export_jobs import export_job_run
from workflow.models import ExportJob, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(settings, make_alert, org):
    """Three Kunshan alerts and one Changshu alert, with a threshold of two rows."""
    settings.HUOYAN_EXPORT_BACKGROUND_ROWS = 2
    for i in range(3):
        make_alert(title=f"昆山{i}", risk_level="red")
    make_alert(title="常熟", org_unit=org.changshu, risk_level="red")


def _start(client, fmt: str = "xlsx", query: str = "risk=red") -> ExportJob:
    r = client.post(reverse("web:export_start"), {"format": fmt, "query": query})
    assert r.status_code == 302
    job = ExportJob.objects.latest("pk")
    assert r["Location"] == reverse("web:export_job", args=[job.pk])
    return job


def test_a_large_export_is_offered_in_the_background(big, people, client_for):
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_xlsx") + "?risk=red")
    assert r.status_code == 200 and "attachment" not in r.get("Content-Disposition", "")
    page = r.content.decode()
    assert 'data-testid="export-start"' in page and 'name="query" value="risk=red"' in page
    assert not ExportJob.objects.exists()  # a GET starts nothing


def test_a_small_export_still_downloads_at_once(big, people, client_for, settings):
    settings.HUOYAN_EXPORT_BACKGROUND_ROWS = 10
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_export_csv"))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")


def test_start_progress_download(big, people, client_for):
    c = client_for(people.kunshan_supervisor)
    job = _start(c)
    page = c.get(reverse("web:export_job", args=[job.pk])).content.decode()
    assert "Waiting to start" in page and 'hx-trigger="every 2s"' in page and "export-progress" in page

    export_job_run(job_id=job.pk)

    status = c.get(reverse("web:export_job_status", args=[job.pk])).content.decode()
    assert "Ready to download" in status and "hx-trigger" not in status and "export-download" in status
    r = c.get(reverse("web:export_job_download", args=[job.pk]))
    assert r.status_code == 200 and r["Cache-Control"] == "private, no-store"
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert sorted(row[1] for row in ws.iter_rows(min_row=2, values_only=True)) == ["昆山0", "昆山1", "昆山2"]
    assert "My exports" in c.get(reverse("web:exports")).content.decode()


def test_the_inbox_message_leads_to_the_export(big, people, client_for):
    c = client_for(people.kunshan_supervisor)
    job = _start(c, "csv")
    export_job_run(job_id=job.pk)
    note = Notification.objects.get(recipient=people.kunshan_supervisor, kind=Notification.Kind.EXPORT_READY)
    r = c.get(reverse("web:notification_open", args=[note.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("web:export_job", args=[job.pk])


@pytest.mark.parametrize("other", ["kunshan_verifier", "changshu_supervisor", "city_leader"])
def test_another_user_gets_a_404(big, people, client_for, other):
    job = _start(client_for(people.kunshan_supervisor))
    export_job_run(job_id=job.pk)
    c = client_for(getattr(people, other))
    for name in ("web:export_job", "web:export_job_status", "web:export_job_download"):
        assert c.get(reverse(name, args=[job.pk])).status_code == 404
    assert f'data-export="{job.pk}"' not in c.get(reverse("web:exports")).content.decode()


def test_a_failed_export_says_what_to_do(big, people, client_for, monkeypatch):
    from workflow import export_jobs

    monkeypatch.setattr(export_jobs, "write_xlsx", lambda *a, **k: 1 / 0)
    c = client_for(people.kunshan_supervisor)
    job = _start(c)
    export_job_run(job_id=job.pk)
    page = c.get(reverse("web:export_job", args=[job.pk])).content.decode()
    assert "Failed" in page and "Please request it again" in page and "ZeroDivision" not in page
    assert c.get(reverse("web:export_job_download", args=[job.pk])).status_code == 404


def test_a_tampered_start_is_a_400_in_words(big, people, client_for):
    c = client_for(people.kunshan_supervisor)
    r = c.post(reverse("web:export_start"), {"format": "exe", "query": ""})
    assert r.status_code == 400 and "not valid" in r.content.decode()
    r = c.post(reverse("web:export_start"), {"format": "csv", "query": "unit=changshu"})
    assert r.status_code == 400 and not ExportJob.objects.exists()


def test_the_pages_speak_chinese(big, people, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    c = client_for(people.kunshan_supervisor)
    with translation.override("zh-hans"):
        job = _start(c)
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.filename.startswith("预警导出-")
    page = c.get(reverse("web:export_job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "可以下载" in page and "下载" in page
