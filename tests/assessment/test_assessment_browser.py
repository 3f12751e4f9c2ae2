"""A leader reads the unit assessment in Chromium, drills into a figure and draws a re-check
sample; a verifier of another county records the outcome. Desktop and phone, both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from assessment.models import RecheckItem
from tests.api.helpers import drive
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("test-artifacts") / "assessment"


def _login(page: Page, base: str, username: str, lang: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang,size", [("zh-hans", (1366, 900)), ("en", (390, 844))])
def test_a_leader_assesses_units_and_draws_a_recheck(browser_ready, page, people, make_alert, org, lang, size):
    for _ in range(2):
        drive(make_alert(org_unit=org.kunshan), "closed", supervisor=people.kunshan_supervisor,
              verifier=people.kunshan_verifier, leader=people.kunshan_leader)
    make_alert(org_unit=org.changshu)
    now = timezone.localtime()
    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    base = browser_ready.url
    page.set_viewport_size({"width": size[0], "height": size[1]})
    _login(page, base, people.city_leader.username, lang)
    page.goto(f"{base}/assessment/?period={quarter}")
    table = page.get_by_test_id("assessment-table")
    expect(table.locator("tr[data-unit=kunshan]")).to_be_visible()
    heading = "单位考核" if lang == "zh-hans" else "Unit assessment"
    expect(page.locator("h1")).to_contain_text(heading)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"assessment-{lang}-{size[0]}.png"), full_page=True)
    # Drill into kunshan's "closed" figure: exactly its two closed alerts.
    table.locator("tr[data-unit=kunshan] a[href*='figure=closed']").click()
    expect(page.get_by_test_id("drill-table").locator("tbody tr")).to_have_count(2)
    # Draw one re-check per unit for kunshan.
    page.goto(f"{base}/assessment/?period={quarter}")
    page.locator("input[name=draw-units][value=kunshan]").check()
    page.fill("input[name=draw-size]", "1")
    page.get_by_test_id("draw-rechecks").click()
    expect(page.get_by_test_id("recheck-table")).to_be_visible()
    item = RecheckItem.objects.get()
    assert item.assignee.org_unit_id != org.kunshan.pk
    page.screenshot(path=str(SHOTS / f"recheck-drawn-{lang}-{size[0]}.png"), full_page=True)

    page.get_by_test_id("logout").click()
    _login(page, base, item.assignee.username, lang)
    page.goto(f"{base}/rechecks/")
    page.select_option("select[name=outcome]", "confirmed")
    page.get_by_test_id("recheck-submit").click()
    page.wait_for_load_state()
    item.refresh_from_db()
    assert item.outcome == RecheckItem.Outcome.CONFIRMED
    page.screenshot(path=str(SHOTS / f"rechecks-{lang}-{size[0]}.png"), full_page=True)
