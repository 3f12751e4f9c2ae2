"""The whole loop through the screens in headless Chromium, by three users, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from alerts.states import Status
from tests.factories import PASSWORD

ARTIFACTS = Path("test-artifacts")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


# The heading of each role's home page, per language: proves the screens are translated.
HOME_HEADINGS = {
    "zh-hans": {"supervisor": "分办台", "verifier": "我的核查", "leader": "考核队列"},
    "en": {"supervisor": "Dispatch board", "verifier": "My work", "leader": "Evaluation queue"},
}


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()


def _logout(page: Page) -> None:
    page.get_by_test_id("logout").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def _home_shot(page: Page, role: str, lang: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect(page.locator("h1")).to_contain_text(HOME_HEADINGS[lang][role])
    page.screenshot(path=str(ARTIFACTS / f"home-{role}-{lang}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_three_users_close_an_alert_through_the_screens(browser_ready, page: Page, people, make_alert, lang,
                                                          settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    base = browser_ready.url
    page.set_default_timeout(15_000)
    alert = make_alert(title="工程招标围标嫌疑", risk_level="red", subject_name="某建设公司")
    make_alert(title="已办结的旧预警", status=Status.CLOSED)  # so the closure rate starts at 50%

    # Pick the language on the login page with the switcher.
    page.goto(f"{base}/accounts/login/")
    page.locator(f"form.lang button[value='{lang}']").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # Leader: the dashboard before.
    _login(page, base, "suzhou_leader")
    _home_shot(page, "leader", lang)
    page.goto(f"{base}/dashboard/?period=all")
    expect(page.get_by_test_id("closure-rate")).to_have_text("50.0%")
    _logout(page)

    # Supervisor dispatches.
    _login(page, base, "kunshan_supervisor")
    _home_shot(page, "supervisor", lang)
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    row.locator("input[type=checkbox]").check()
    # The verifier list follows the selection: wait for the list for this alert before choosing.
    expect(page.get_by_test_id("verifier-pick").locator("span.small")).to_be_visible()
    page.select_option("select[name=assignee]", str(people.kunshan_verifier.pk))
    page.get_by_test_id("bulk-assign").click()
    expect(page.locator(".msg-success")).to_be_visible()
    _logout(page)

    # Verifier signs for, records a finding with a photo, submits the conclusion.
    _login(page, base, "kunshan_verifier")
    _home_shot(page, "verifier", lang)
    page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("accept").click()
    expect(page.get_by_test_id("confirm-message")).to_contain_text(f"#{alert.pk}")
    page.get_by_test_id("confirm-ok").click()
    page.wait_for_url(re.compile(rf"/alerts/{alert.pk}/verify/"))
    page.select_option("select[name=method]", "site_visit")
    page.fill("textarea[name=text]", "现场查看发现报价雷同")
    page.set_input_files("input[name=photos]", files=[{"name": "site.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_test_id("add-finding").click()
    expect(page.get_by_test_id("evidence")).to_contain_text("site.png")
    page.select_option("select[name=submit_verification-conclusion]", "substantiated")
    page.fill("textarea[name=submit_verification-summary]", "围标属实")
    page.get_by_test_id("do-submit_verification").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "disposing")
    _logout(page)

    # Supervisor disposes and issues a work notice from the second tab (forms open in place with
    # htmx), then opens the printable notice from the alert's record.
    _login(page, base, "kunshan_supervisor")
    page.goto(f"{base}/disposal/")
    page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("go-dispose").click()
    inline = page.locator(f"#inline-{alert.pk}")
    inline.locator("select[name=dispose-outcome]").select_option("form_2")
    inline.locator("input[name=dispose-amount_recovered]").fill("35000")
    inline.locator("input[name=dispose-case_filed]").check()
    inline.get_by_test_id("do-dispose").click()
    page.wait_for_url(re.compile(r"/disposal/$"))
    page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("go-apply").click()
    inline.locator("select[name=actions-0-kind]").select_option("work_notice")
    inline.locator("input[name=actions-0-recipient]").fill("昆山市住房和城乡建设局")
    inline.locator("textarea[name=actions-0-text]").fill("请规范招标代理管理")
    page.screenshot(path=str(ARTIFACTS / f"disposal-tab-{lang}.png"), full_page=True)
    inline.get_by_test_id("do-apply_results").click()
    page.get_by_test_id("confirm-ok").click()
    page.wait_for_url(re.compile(r"/disposal/$"))
    expect(page.locator(f"tr[data-alert='{alert.pk}']")).to_have_count(0)
    page.goto(f"{base}/alerts/{alert.pk}/")
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "evaluating")
    page.get_by_test_id("print-notice").click()
    expect(page.get_by_test_id("notice")).to_contain_text("昆山市住房和城乡建设局")
    _logout(page)

    # Leader closes; the closure rate goes from 50% to 100%.
    _login(page, base, "suzhou_leader")
    page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("evaluate").click()
    page.select_option("select[name=close-score]", "4")
    page.fill("textarea[name=close-comment]", "处置到位")
    page.get_by_test_id("do-close").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "closed")
    page.goto(f"{base}/dashboard/?period=all")
    expect(page.get_by_test_id("closure-rate")).to_have_text("100.0%")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{lang}.png"), full_page=True)
    assert Alert.objects.get(pk=alert.pk).status == Status.CLOSED


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_verification_page_works_on_a_phone(browser_ready, browser, people, make_alert, settings):
    from workflow.services import alert_accept, alert_assign

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    _login(page, browser_ready.url, "kunshan_verifier")
    page.goto(f"{browser_ready.url}/alerts/{alert.pk}/verify/")
    photos = page.locator("input[name=photos]")
    expect(photos).to_have_attribute("capture", "environment")
    expect(photos).to_have_attribute("accept", "image/*")
    # Nothing wider than the screen: the page does not scroll sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "verify-phone.png"), full_page=True)
    context.close()
