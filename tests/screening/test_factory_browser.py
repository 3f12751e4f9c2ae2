"""The factory canvas in headless Chromium: real drag-and-drop from the palette, column
drop-downs from the chosen dataset, a step preview on a sample, and saving a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from screening.models import ScreeningModel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor" / "sortablejs" / "Sortable.min.js"


def drag(page, source_selector: str, target_selector: str, expect: str | None = None) -> None:
    """A real pointer drag (SortableJS runs in fallback mode: mouse events, not HTML5 DnD).

    On a loaded machine a drag can be too quick for SortableJS to notice; when `expect` is given
    the drag is repeated (at most three times) until that step appears on the canvas.
    """
    for _attempt in range(3):
        page.locator(target_selector).scroll_into_view_if_needed()
        src = page.locator(source_selector).bounding_box()
        dst = page.locator(target_selector).bounding_box()
        page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
        page.mouse.down()
        page.wait_for_timeout(50)
        x, y = dst["x"] + dst["width"] / 2, dst["y"] + dst["height"] - 4
        for i in range(1, 21):
            page.mouse.move(src["x"] + (x - src["x"]) * i / 20, src["y"] + (y - src["y"]) * i / 20)
            page.wait_for_timeout(25)
        page.wait_for_timeout(100)
        page.mouse.up()
        if expect is None:
            return
        try:
            page.locator(expect).wait_for(timeout=5000)
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: try the drag again
            continue
    raise AssertionError(f"dragging {source_selector} onto {target_selector} never produced {expect}")


def test_an_analyst_builds_previews_and_saves_a_model_by_dragging(browser_ready, page, people, make_dataset):
    assert VENDOR.exists(), "run scripts/vendor_assets.sh (npm ci + copy) before the browser tests"
    ds = make_dataset("报销人,品名,金额\n张三,九寨沟景区门票,800\n李四,打印纸,30\n王五,度假村住宿,2000\n", name="发票")
    client = Client()
    client.force_login(people.kunshan_supervisor)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": browser_ready.url}])
    page.goto(f"{browser_ready.url}/screening/factory/")

    drag(page, "[data-testid=palette-source]", "[data-testid=canvas]", expect="[data-testid=step-source1]")
    page.select_option("[data-testid=dataset-source1]", str(ds.pk))

    drag(page, "[data-testid=palette-filter]", "[data-testid=canvas]", expect="[data-testid=step-filter1]")
    field = page.locator("[data-testid=filter1-field-0]")
    assert "品名" in field.locator("option").all_inner_texts()  # columns come from the chosen dataset
    field.select_option("金额")
    page.select_option("[data-testid=step-filter1] select >> nth=2", ">=")
    page.fill("[data-testid=filter1-value-0]", "500")
    page.locator("[data-testid=filter1-value-0]").dispatch_event("change")

    drag(page, "[data-testid=palette-emit]", "[data-testid=canvas]", expect="[data-testid=step-emit1]")
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
