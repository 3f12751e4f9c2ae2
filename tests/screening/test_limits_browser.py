"""The limits as users meet them, in headless Chromium: a factory preview over a limit says so in
one sentence, readers get no preview button, and a large upload's page follows the worker's
progress (htmx) and shows the rows once the import is done."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from screening import services
from screening.models import Dataset, DatasetStatus
from tests.screening.test_limits import CONTRACTS, self_join

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live, user) -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live.url}])


@pytest.fixture
def fan_out_model(people, make_dataset):
    ds = make_dataset(CONTRACTS, name="合同台账")
    return services.screening_model_create(by=people.kunshan_supervisor, name="三方自连接",
                                           org_unit=people.kunshan_supervisor.org_unit, datasets={"c": ds},
                                           spec=self_join(3))


def test_a_preview_over_a_limit_says_which_in_the_factory(browser_ready, page, people, fan_out_model):
    login(page, browser_ready, people.kunshan_supervisor)
    page.goto(f"{browser_ready.url}/screening/factory/{fan_out_model.pk}/")
    page.click("[data-testid=preview-out]")
    error = page.locator("[data-testid=preview] .errors")
    error.wait_for()
    assert error.inner_text().startswith("Preview exceeded a limit: step 'j2' joins into more than 1,000,000 rows")


def test_readers_see_the_factory_without_preview_buttons(browser_ready, page, people, fan_out_model):
    login(page, browser_ready, people.kunshan_verifier)
    page.goto(f"{browser_ready.url}/screening/factory/{fan_out_model.pk}/")
    page.locator("[data-testid=step-out]").wait_for()
    assert page.locator("[data-testid^=preview-]").count() == 0
    assert "supervisors and administrators" in page.locator("[data-testid=factory-readonly]").inner_text()


def test_the_dataset_page_follows_a_background_import_to_its_rows(browser_ready, page, people, settings,
                                                                   monkeypatch):
    settings.HUOYAN_DATASET_INLINE_ROWS = 5
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = "redis://queued", False
    queued = []  # the task is queued for a worker; the test plays the worker below
    monkeypatch.setattr(services.dataset_import_task, "apply_async", lambda args, **kw: queued.append(args))
    text = "单位,金额\n" + "".join(f"教育局,{i}\n" for i in range(40))
    ds = services.dataset_create(name="大文件", org_unit=people.kunshan_supervisor.org_unit,
                                 upload=SimpleUploadedFile("big.csv", text.encode()), by=people.kunshan_supervisor)
    assert Dataset.objects.get(pk=ds.pk).status == DatasetStatus.IMPORTING and queued == [(ds.pk,)]
    login(page, browser_ready, people.kunshan_supervisor)
    page.goto(f"{browser_ready.url}/screening/datasets/{ds.pk}/")
    page.locator("[data-testid=dataset-progress] progress").wait_for()
    services.dataset_import_execute(dataset_id=ds.pk)  # what the worker does
    page.locator("[data-testid=dataset-preview]").wait_for(timeout=15_000)  # the page reloaded by itself
    assert "教育局" in page.locator("[data-testid=dataset-preview]").inner_text()
