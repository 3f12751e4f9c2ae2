"""Two rectification orders on one page: each reply form receives its own text (the ids no
longer collide), in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.states import ActionKind
from cases.models import ResultAction
from tests.factories import PASSWORD
from workflow import services as wf
from workflow.calendar import local


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_orders_on_one_page_each_receive_their_own_reply(browser_ready, page: Page, people, applying, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    base = browser_ready.url
    page.set_default_timeout(15_000)
    due = local(timezone.now()).date() + timedelta(days=10)
    wf.alert_apply_results(alert_id=applying.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient="住建局", text="整改一", due_date=due),
        wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient="交通局", text="整改二", due_date=due),
    ])
    first, second = ResultAction.objects.filter(alert=applying).order_by("id")

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "kunshan_supervisor")
    page.fill("#id_password", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{base}/alerts/{applying.pk}/")
    # Typing through the labels: a shared id would send both texts to the first textarea.
    label = re.compile("Reply from the recipient|收文单位的反馈")
    page.locator(f"[data-notice='{second.pk}']").get_by_label(label).fill("交通局已整改")
    page.locator(f"[data-notice='{first.pk}']").get_by_label(label).fill("住建局已整改")
    page.locator(f"label[for='fb-{second.pk}-feedback']").click()
    expect(page.locator(f"#fb-{second.pk}-feedback")).to_be_focused()
    page.get_by_test_id(f"record-feedback-{second.pk}").click()
    expect(page.locator(".msg-success")).to_be_visible()
    page.locator(f"#fb-{first.pk}-feedback").fill("住建局已整改")
    page.get_by_test_id(f"record-feedback-{first.pk}").click()
    expect(page.locator(".msg-success")).to_be_visible()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.feedback, second.feedback) == ("住建局已整改", "交通局已整改")
    # Both replies now wait for review: accept one, reject the other with a reason.
    page.get_by_test_id(f"accept-feedback-{first.pk}").click()
    expect(page.locator(".msg-success")).to_be_visible()
    page.locator(f"#rv-{second.pk}-note").fill("材料不全")
    page.get_by_test_id(f"reject-feedback-{second.pk}").click()
    expect(page.locator(f"[data-notice='{second.pk}'] [data-testid=ledger-state]")).to_have_text(
        re.compile("Rejected|未认可"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.review, second.review, second.review_note) == ("accepted", "rejected", "材料不全")
