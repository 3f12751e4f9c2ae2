"""The leadership dashboard (and the API's stats) group business systems' warnings by indicator
module and by indicator, from the rollups, counted the way the warehouse's indicator card counts,
inside the reader's scope and period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert, SourceIndicator, SourceSystem
from alerts.sources import source_system_create
from alerts.states import Conclusion
from screening.selectors import indicator_results
from tests.api.helpers import drive
from workflow import rollups
from workflow import services as wf
from workflow.dashboard import Period, dashboard_for, indicator_breakdown
from workflow.intake import IntakeItem, alerts_ingest

pytestmark = pytest.mark.django_db
ALL_TIME = Period(None, None)


def _push(source, org, rows):
    items = [IntakeItem(dedup_key=key, title=f"预警{key}", risk_level="red", org_unit=getattr(org, unit), rule=rule)
             for key, unit, rule in rows]
    alerts_ingest(source=source, items=items)
    return {key: Alert.objects.get(source=source, dedup_key=key) for key, _u, _r in rows}


@pytest.fixture
def pushed(people, source, org):
    a = _push(source, org, [("t1", "kunshan", "TAX-07"), ("t2", "kunshan", "TAX-07"), ("t3", "kunshan", "TAX-07"),
                            ("t4", "kunshan", "TAX-08"), ("s1", "changshu", "SOC-01")])
    SourceIndicator.objects.filter(code__in=["TAX-07", "TAX-08"]).update(module="税务")
    SourceIndicator.objects.filter(code="TAX-07").update(name="发票异常")
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier, "leader": people.city_leader}
    drive(a["t1"], "closed", **kw)
    drive(a["t2"], "evaluating", conclusion=Conclusion.UNFOUNDED, **kw)
    drive(a["t3"], "evaluating", **kw)
    # Sent back to verification: its conclusion is being redone, so it is not concluded any more.
    wf.alert_send_back(alert_id=a["t3"].pk, by=people.city_leader, stage="verifying", reason="再查")
    # A screening model's rule is not an indicator: no rollup row, no line on the dashboard.
    feed, _key = source_system_create(code="model-feed", name="模型", org_unit=org.city,
                                      kind=SourceSystem.Kind.SCREENING)
    _push(feed, org, [("m1", "kunshan", "MODEL-1")])
    return a


def test_the_rollups_count_every_indicator_and_agree_with_a_recount(pushed):
    assert rollups.differences() == []
    call_command("recompute_rollups", "--check")
    codes = {k[3].split(":", 1)[1] for k in rollups.stored_rows() if k[0] == "indicator"}
    assert codes == {"TAX-07", "TAX-08", "SOC-01"}  # a screening model's rule is no indicator


def test_per_indicator_figures_are_the_warehouse_cards(people, pushed):
    got = indicator_breakdown(people.city_leader, ALL_TIME)
    rows = {r["code"]: r for r in got["by_indicator"]}
    assert set(rows) == {"TAX-07", "TAX-08", "SOC-01"}  # the model's rule is not listed
    assert (rows["TAX-07"]["warnings"], rows["TAX-07"]["concluded"], rows["TAX-07"]["substantiated"]) == (3, 2, 1)
    assert str(rows["TAX-07"]["substantiation_rate"]) == "0.5000" and rows["TAX-07"]["name"] == "发票异常"
    assert rows["TAX-08"]["substantiation_rate"] is None  # nothing concluded yet: no rate, not 0 %
    card = {r["indicator"].code: r for r in indicator_results(people.city_leader)}
    for code, row in rows.items():
        assert (row["warnings"], row["concluded"], row["substantiated"]) == (
            card[code]["warnings"], card[code]["concluded"], card[code]["substantiated"])
    modules = {m["module"]: m for m in got["by_indicator_module"]}
    assert modules["税务"]["indicators"] == 2 and modules["税务"]["warnings"] == 4
    assert modules["税务"]["substantiated"] == 1 and modules[""]["warnings"] == 1
    assert dashboard_for(people.city_leader, ALL_TIME)["by_indicator_module"] == got["by_indicator_module"]


def test_a_county_sees_only_its_own_warnings_and_a_period_narrows_them(people, pushed):
    county = indicator_breakdown(people.changshu_supervisor, ALL_TIME)
    assert [r["code"] for r in county["by_indicator"]] == ["SOC-01"]
    assert [m["module"] for m in county["by_indicator_module"]] == [""]
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert indicator_breakdown(people.city_leader, Period(tomorrow, None)) == {
        "by_indicator_module": [], "by_indicator": []}


def test_the_api_stats_carry_the_same_grouping(api, people, pushed):
    body = api(people.kunshan_leader).get("/api/v1/stats/overview/").json()
    modules = {m["module"]: m for m in body["by_indicator_module"]}
    assert set(modules) == {"税务"} and modules["税务"]["warnings"] == 4
    assert modules["税务"]["substantiation_rate"] == 0.5
    rows = {r["code"]: r for r in body["by_indicator"]}
    assert set(rows) == {"TAX-07", "TAX-08"} and rows["TAX-08"]["substantiation_rate"] is None


def test_the_dashboard_screen_groups_by_module_then_indicator_and_links_to_the_alerts(client, people, pushed):
    client.force_login(people.city_leader)
    page = client.get("/dashboard/?period=all", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="indicator-modules"' in page and "税务" in page and "未设模块" in page
    page = client.get("/dashboard/?period=all&indicators=indicator&module=税务").content.decode()
    assert "发票异常" in page and "TAX-08" in page and "SOC-01" not in page
    # The indicator's figure opens exactly its alerts in the list.
    listed = client.get("/alerts/?rule=TAX-07").content.decode()
    assert all(f"/alerts/{a.pk}/" in listed for k, a in pushed.items() if k.startswith("t") and k != "t4")
    assert f"/alerts/{pushed['t4'].pk}/" not in listed
    client.force_login(people.kunshan_leader)  # a county leader: Changshu's indicator is not theirs
    page = client.get("/dashboard/?period=all&indicators=indicator").content.decode()
    assert "发票异常" in page and "SOC-01" not in page
