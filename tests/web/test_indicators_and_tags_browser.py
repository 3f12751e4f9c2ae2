"""In headless Chromium: a city leader breaks the dashboard's business-system warnings down by
module, then by the module's indicators, and opens one indicator's alerts; a county leader sees
only their own; on a phone, a leader tags an alert (a refused tag shows its error on the page),
follows the tag to the filtered list, and opens the special project the alert carries."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert, SourceIndicator
from screening.services import special_project_save
from tests.factories import PASSWORD
from workflow.intake import IntakeItem, alerts_ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _login(page: Page, base: str, username: str, lang: str = "zh-hans") -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")  # the header's language buttons are submit buttons too
    page.wait_for_load_state()


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1


@pytest.fixture
def warnings(source, org):
    rows = [("t1", org.kunshan, "TAX-07"), ("t2", org.kunshan, "TAX-07"), ("t3", org.kunshan, "TAX-08"),
            ("s1", org.changshu, "SOC-01")]
    alerts_ingest(source=source, items=[IntakeItem(dedup_key=k, title=f"发票预警{k}", risk_level="red", org_unit=u,
                                                   rule=r) for k, u, r in rows])
    SourceIndicator.objects.filter(code="TAX-07").update(name="发票异常", module="税务")
    SourceIndicator.objects.filter(code="TAX-08").update(name="虚开发票", module="税务")
    SourceIndicator.objects.filter(code="SOC-01").update(name="重复参保", module="社保")
    return {a.dedup_key: a for a in Alert.objects.filter(source=source)}


def test_a_leader_breaks_the_warnings_down_by_module_and_indicator(browser_ready, page, people, warnings):
    url = browser_ready.url
    _login(page, url, "suzhou_leader")
    page.goto(f"{url}/dashboard/?period=all")
    card = page.get_by_test_id("indicator-breakdown")
    expect(card.get_by_test_id("indicator-modules")).to_contain_text("税务")
    expect(card.locator("tr[data-module='社保']")).to_contain_text("1")
    card.get_by_role("link", name="税务").click()
    rows = page.get_by_test_id("indicator-rows")
    expect(rows.locator("tr[data-indicator='TAX-07']")).to_contain_text("发票异常")
    expect(rows).not_to_contain_text("重复参保")  # one module's indicators only
    rows.get_by_role("link", name="发票异常").click()
    expect(page.get_by_test_id("filter-chips")).to_contain_text("发票异常")
    for key in ("t1", "t2"):
        expect(page.locator(f"a[href='/alerts/{warnings[key].pk}/']").first).to_be_visible()
    expect(page.locator(f"a[href='/alerts/{warnings['t3'].pk}/']")).to_have_count(0)

    # A county leader, on a phone and in English: only the county's own indicators, no sideways scroll.
    page.set_viewport_size(PHONE)
    _login(page, url, "kunshan_leader", lang="en")
    page.goto(f"{url}/dashboard/?period=all")
    page.get_by_test_id("group-indicator").click()
    rows = page.get_by_test_id("indicator-rows")
    expect(rows).to_contain_text("发票异常")
    expect(rows).not_to_contain_text("重复参保")
    expect(page.get_by_test_id("indicator-breakdown")).to_contain_text("Substantiation rate")
    _no_sideways_scroll(page)


def test_a_leader_tags_an_alert_on_a_phone_and_opens_its_project(browser_ready, page, people, org, warnings):
    url = browser_ready.url
    alert = warnings["t1"]
    project = special_project_save(by=people.city_supervisor, name="发票专项", lead_unit=org.city, units=[org.kunshan])
    alert.details = {"projects": [{"id": project.pk, "name": project.name}]}
    alert.save()
    page.set_viewport_size(PHONE)
    _login(page, url, "kunshan_leader")
    page.goto(f"{url}/alerts/{alert.pk}/")
    expect(page.get_by_test_id("alert-tags")).to_contain_text("无标签")
    page.get_by_test_id("edit-tags").locator("summary").click()
    page.fill("#id_tags-tags", "重点, " + "长" * 40)
    page.get_by_test_id("save-tags").click()
    expect(page.get_by_test_id("edit-tags")).to_contain_text("每个标签最多 32 个字")
    page.fill("#id_tags-tags", "重点，发票专项")
    page.get_by_test_id("save-tags").click()
    expect(page.get_by_test_id("alert-tags")).to_contain_text("重点")
    _no_sideways_scroll(page)
    page.get_by_test_id("alert-tags").get_by_role("link", name="重点").click()
    expect(page.get_by_test_id("filter-chips")).to_contain_text("重点")
    expect(page.locator(f"a[href='/alerts/{alert.pk}/']").first).to_be_visible()
    expect(page.locator(f"a[href='/alerts/{warnings['t2'].pk}/']")).to_have_count(0)
    page.goto(f"{url}/alerts/{alert.pk}/")
    page.get_by_test_id("project-link").click()
    expect(page.locator("h1")).to_contain_text("发票专项")
