"""The verifier's phone page shows a model hit as a sentence and evidence tables that scroll
sideways inside the page (the page itself never gets wider than the phone)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from alerts.models import Alert
from screening import services
from workflow.services import alert_accept, alert_assign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = ("发票号码,品名,金额,付款单位,开票日期,销售方名称,销售方纳税人识别号,备注\n"
        "24326043227000003001,旅游服务*景区门票,86400,昆山市某局,2024-05-01,苏州某某国际旅行社有限公司,"
        "91320500MA1AAAAA1A,赴外地学习考察期间的门票与住宿费用\n")


def test_the_verifier_reads_the_reason_and_scrolls_the_evidence_on_a_phone(browser_ready, page, people,
                                                                          make_dataset, run_model):
    ds = make_dataset(WIDE, name="差旅发票")
    spec = {"steps": [
        {"id": "s", "type": "source", "dataset": "inv"},
        {"id": "k", "type": "keyword", "input": "s", "conditions": [{"field": "品名", "any_of": ["旅游"]}]},
        {"id": "o", "type": "emit", "input": "k", "subject_field": "付款单位", "amount_field": "金额",
         "reason": "发票 {发票号码} 品名含“旅游”，金额 {amount} 元。"},
    ]}
    model = services.screening_model_create(by=people.kunshan_supervisor, name="公款旅游", org_unit=ds.org_unit,
                                            datasets={"inv": ds}, spec=spec, status="active")
    run_model("", {}, {}, model=model)
    alert = Alert.objects.get()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)

    client = Client()
    client.force_login(people.kunshan_verifier)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": browser_ready.url},
                              {"name": "django_language", "value": "zh-hans", "url": browser_ready.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{browser_ready.url}/alerts/{alert.pk}/verify/")
    # The reason may sit in a folded section of the phone page; its text is there either way.
    reason = (page.locator("[data-testid=hit-reason]").text_content() or "").replace(" ", "")
    assert reason == "发票24326043227000003001品名含“旅游”，金额86400.00元。"
    table = page.locator("[data-testid=evidence-table]")
    assert "销售方纳税人识别号" in table.inner_text() and "_row" not in table.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert table.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls, not the page
