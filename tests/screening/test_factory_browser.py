"""The factory canvas in headless Chromium: real drag-and-drop from the palette, column
drop-downs from the chosen dataset, a step preview on a sample, and saving a model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from screening.models import ScreeningModel

# Playwright's sync API runs an event loop in this thread; the test database is set up after it
# starts (before `browser_ready` runs), so the ORM must be allowed beside it from the start.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor" / "sortablejs" / "Sortable.min.js"


def drag(page, source_selector: str, target_selector: str) -> None:
    """A real pointer drag (SortableJS runs in fallback mode: mouse events, not HTML5 DnD)."""
    src = page.locator(source_selector).bounding_box()
    dst = page.locator(target_selector).bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    x, y = dst["x"] + dst["width"] / 2, dst["y"] + dst["height"] - 4
    for i in range(1, 16):
        page.mouse.move(src["x"] + (x - src["x"]) * i / 15, src["y"] + (y - src["y"]) * i / 15)
        page.wait_for_timeout(20)
    page.mouse.up()


def test_an_analyst_builds_previews_and_saves_a_model_by_dragging(browser_ready, page, people, make_dataset):
    assert VENDOR.exists(), "run scripts/vendor_assets.sh (npm ci + copy) before the browser tests"
    ds = make_dataset("报销人,品名,金额\n张三,九寨沟景区门票,800\n李四,打印纸,30\n王五,度假村住宿,2000\n", name="发票")
    client = Client()
    client.force_login(people.kunshan_supervisor)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": browser_ready.url}])
    page.goto(f"{browser_ready.url}/screening/factory/")

    drag(page, "[data-testid=palette-source]", "[data-testid=canvas]")
    page.locator("[data-testid=step-source1]").wait_for()
    page.select_option("[data-testid=dataset-source1]", str(ds.pk))

    drag(page, "[data-testid=palette-filter]", "[data-testid=canvas]")
    page.locator("[data-testid=step-filter1]").wait_for()
    field = page.locator("[data-testid=filter1-field-0]")
    assert "品名" in field.locator("option").all_inner_texts()  # columns come from the chosen dataset
    field.select_option("金额")
    page.select_option("[data-testid=step-filter1] select >> nth=2", ">=")
    page.fill("[data-testid=filter1-value-0]", "500")
    page.locator("[data-testid=filter1-value-0]").dispatch_event("change")

    drag(page, "[data-testid=palette-emit]", "[data-testid=canvas]")
    page.locator("[data-testid=step-emit1]").wait_for()
    page.select_option("[data-testid=emit-subject]", "报销人")

    page.click("[data-testid=preview-filter1]")
    table = page.locator("[data-testid=preview-table]")
    table.wait_for()
    assert "张三" in table.inner_text() and "王五" in table.inner_text() and "李四" not in table.inner_text()

    page.fill("[data-testid=model-name]", "大额发票")
    page.click("[data-testid=save-model]")
    page.locator("[data-testid=saved-link]").wait_for()
    model = ScreeningModel.objects.get(name="大额发票")
    assert [s["type"] for s in model.spec["steps"]] == ["source", "filter", "emit"]
    assert model.spec["steps"][1]["input"] == "source1" and model.spec["steps"][2]["input"] == "filter1"
    assert model.dataset_links.get().dataset_id == ds.pk


def test_a_built_in_model_opens_as_its_pipeline_in_the_canvas(browser_ready, page, people):
    assert VENDOR.exists(), "run scripts/vendor_assets.sh (npm ci + copy) before the browser tests"
    client = Client()
    client.force_login(people.kunshan_supervisor)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": browser_ready.url}])
    page.goto(f"{browser_ready.url}/screening/factory/?template=contract_splitting")
    cards = page.locator("[data-testid=canvas] > li")
    cards.first.wait_for()
    assert [c.get_attribute("data-testid") for c in cards.all()] == [
        "step-src", "step-below", "step-win", "step-thr", "step-out"]
