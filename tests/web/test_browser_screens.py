"""Issue 11 in headless Chromium: the dispatch dropdown follows the selection, select-all, the
confirmation dialog, post/redirect/get, phone cards and folding sections; and screenshots of every
role's screens at desktop and phone size (test-artifacts/screens/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from alerts.states import Status
from cases.services import finding_add
from tests.factories import PASSWORD
from workflow import services as wf

SHOTS = Path("test-artifacts") / "screens"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1


def _stages(people, make_alert, org) -> dict[str, Alert]:
    """One alert in each stage a role works on, in kunshan, plus a changshu warning."""
    sup, ver, lead = people.kunshan_supervisor, people.kunshan_verifier, people.city_leader
    a = {
        "warning": make_alert(title="同一供应商连续中标（标王）", risk_level="red", amount=4860000,
                              subject_name="某建设工程有限公司"),
        "warning_cs": make_alert(title="农机购置补贴重复申领", org_unit=org.changshu, risk_level="orange"),
        "assigned": make_alert(title="死亡人员仍在领取补贴", risk_level="yellow"),
        "verifying": make_alert(title="合同拆分规避招标", risk_level="red"),
        "sent_back": make_alert(title="公款旅游发票", risk_level="blue"),
        "disposing": make_alert(title="特定关系人企业中标", risk_level="orange"),
        "evaluating": make_alert(title="鱼塘看护房用电异常", risk_level="yellow"),
    }
    for key in ["assigned", "verifying", "sent_back", "disposing", "evaluating"]:
        wf.alert_assign(alert_id=a[key].pk, by=sup, assignee=ver, note="请核查")
    for key in ["verifying", "sent_back", "disposing", "evaluating"]:
        wf.alert_accept(alert_id=a[key].pk, by=ver)
    for key in ["sent_back", "disposing", "evaluating"]:
        finding_add(alert_id=a[key].pk, author=ver, text="调阅合同与付款凭证", method="document_review")
        wf.alert_submit_verification(alert_id=a[key].pk, by=ver, conclusion="substantiated", summary="属实")
    for key in ["sent_back", "evaluating"]:
        wf.alert_dispose(alert_id=a[key].pk, by=sup, outcome="form_1", amount_recovered=12600)
        wf.alert_apply_results(alert_id=a[key].pk, by=sup, actions=[
            wf.ActionInput(kind="work_notice", recipient="相关业务科室", text="请立行立改")])
    wf.alert_send_back(alert_id=a["sent_back"].pk, by=lead, stage="verifying", reason="缺少谈话笔录，请补充")
    return a


def test_the_dropdown_follows_the_selection_and_dismissal_asks_first(browser_ready, page: Page, people,
                                                                    make_alert, org):
    base = browser_ready.url
    page.set_default_timeout(15_000)
    ks, cs = make_alert(title="昆山预警", org_unit=org.kunshan), make_alert(title="常熟预警", org_unit=org.changshu)
    _login(page, base, "suzhou_supervisor")
    page.goto(f"{base}/dispatch/")
    select = page.locator("select[name=assignee]")
    expect(select.locator("optgroup")).to_have_count(3)  # kunshan, its office, changshu
    page.locator(f"tr[data-alert='{ks.pk}'] input[type=checkbox]").check()
    expect(select.locator("optgroup")).to_have_count(2)
    expect(select.locator(f"option[value='{people.changshu_verifier.pk}']")).to_have_count(0)
    expect(select.locator(f"option[value='{people.kunshan_verifier.pk}']")).to_have_count(1)
    # Select-all: both counties, so nobody can take them all.
    page.get_by_test_id("select-all").check()
    expect(page.locator(f"tr[data-alert='{cs.pk}'] input[type=checkbox]")).to_be_checked()
    expect(page.get_by_test_id("no-verifier")).to_be_visible()
    _shot(page, "supervisor-dispatch-selection-desktop-en")

    page.select_option("select[name=reason]", "duplicate")
    page.get_by_test_id("bulk-dismiss").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-message")).to_contain_text(f"#{ks.pk}, #{cs.pk}")
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    assert Alert.objects.get(pk=ks.pk).status == Status.WARNING
    page.get_by_test_id("bulk-dismiss").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Dismissed #{ks.pk}, #{cs.pk}".replace(", ", "、"))
    assert Alert.objects.get(pk=cs.pk).status == Status.CLOSED


def test_a_refused_submit_stays_on_its_page_and_reload_does_not_post(browser_ready, page: Page, people,
                                                                   make_alert):
    base = browser_ready.url
    page.set_default_timeout(15_000)
    alert = make_alert(title="核查中的预警")
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    wf.alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    _login(page, base, "kunshan_verifier")
    page.goto(f"{base}/alerts/{alert.pk}/verify/")
    page.locator("#sec-submit_verification summary").click()
    page.select_option("select[name=submit_verification-conclusion]", "unfounded")
    page.fill("textarea[name=submit_verification-summary]", "未发现问题")
    page.get_by_test_id("do-submit_verification").click()
    page.wait_for_url(re.compile(rf"/alerts/{alert.pk}/verify/#act-submit_verification$"))
    expect(page.locator("#act-submit_verification .errorlist")).to_contain_text("justification")
    assert "/act/" not in page.url
    page.reload()
    page.wait_for_load_state()
    assert "/act/" not in page.url
    assert Alert.objects.get(pk=alert.pk).status == Status.VERIFYING


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_roles_screens_at_desktop_and_phone(browser_ready, browser, people, make_alert, org, lang):
    base = browser_ready.url
    a = _stages(people, make_alert, org)
    screens = {
        "kunshan_supervisor": [("dispatch", "/dispatch/"), ("disposal", "/disposal/"),
                               ("detail", f"/alerts/{a['warning'].pk}/")],
        "kunshan_verifier": [("my-work", "/my-work/"), ("verify", f"/alerts/{a['verifying'].pk}/verify/"),
                             ("verify-sent-back", f"/alerts/{a['sent_back'].pk}/verify/")],
        "suzhou_leader": [("evaluation", "/evaluation/"), ("dashboard", "/dashboard/?period=all"),
                          ("list-drilldown", "/alerts/?left_stage=verifying&unit=kunshan&unit_only=1")],
    }
    for size, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
        phone = size == "phone"
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
        context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        for username, pages in screens.items():
            _login(page, base, username)
            role = username.split("_")[1]
            for name, path in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                expect(page.locator("html")).to_have_attribute("lang", lang)
                if phone:
                    _no_sideways_scroll(page)
                _shot(page, f"{role}-{name}-{size}-{lang}")
                if name == "my-work":
                    expect(page.get_by_test_id("sent-back")).to_contain_text("缺少谈话笔录")
                    if phone:  # one card per alert, not a squeezed table
                        row = page.locator(f"tr[data-alert='{a['assigned'].pk}']")
                        assert row.evaluate("r => getComputedStyle(r).display") == "block"
                        expect(page.locator("table.cards thead")).to_be_hidden()
                if name == "verify" and phone:
                    # The next step is on the first screen: its section's heading is above the fold.
                    box = page.get_by_test_id("sec-finding").bounding_box()
                    assert box is not None and box["y"] < PHONE["height"] - 60
                if name == "list-drilldown":
                    expect(page.get_by_test_id("filter-chips").locator(".chip")).to_have_count(3)
                if name == "dashboard" and phone:
                    ranking = page.get_by_test_id("unit-ranking")
                    assert ranking.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1")
            page.get_by_test_id("logout").click()
            page.wait_for_url(re.compile(r"/accounts/login/"))
            expect(page.locator(".msg")).to_be_visible()
        context.close()
    assert len(list(SHOTS.glob(f"*-{lang}.png"))) >= 18
