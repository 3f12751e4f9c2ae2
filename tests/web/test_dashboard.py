"""The dashboard's figures: right numbers, for the user's scope and period only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from cases.models import Disposition, TimelineEntry
from workflow import rollups
from workflow.dashboard import Period, dashboard_for

ALL = Period(None, None)


def test_totals_rates_and_unit_ranking(people, make_alert, org):
    now = timezone.now()
    make_alert(org_unit=org.kunshan, status="closed", closed_at=now, conclusion="substantiated")
    make_alert(org_unit=org.kunshan_office, status="closed", closed_at=now, conclusion="unfounded")
    make_alert(org_unit=org.kunshan, due_at=now - timedelta(hours=1))  # overdue
    make_alert(org_unit=org.changshu)
    d = dashboard_for(people.city_leader, ALL)
    t = d["totals"]
    assert (t["total"], t["open"], t["closed"], t["overdue"]) == (4, 2, 2, 1)
    assert t["closure_rate"] == Decimal("0.5000") and t["overdue_rate"] == Decimal("0.2500")
    assert t["substantiation_rate"] == Decimal("0.5000")
    units = {r["code"]: r for r in d["by_unit"]}
    # Kunshan rolls up its office; the ranking puts the better closure rate first.
    assert units["kunshan"]["total"] == 3 and units["kunshan"]["closed"] == 2
    assert units["changshu"]["total"] == 1
    assert [r["code"] for r in d["by_unit"]] == ["kunshan", "changshu"]


def test_a_county_leader_sees_only_the_county(people, make_alert, org):
    make_alert(org_unit=org.kunshan)
    make_alert(org_unit=org.changshu)
    assert dashboard_for(people.kunshan_leader, ALL)["totals"]["total"] == 1
    assert dashboard_for(people.nobody, ALL)["totals"]["total"] == 0


def test_outcomes_amounts_and_period(people, make_alert, org):
    a = make_alert(org_unit=org.kunshan)
    old = make_alert(org_unit=org.kunshan)
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    Disposition.objects.create(alert=a, decided_by=people.kunshan_supervisor, outcome="form_1",
                               amount_recovered=Decimal("100.50"), case_filed=True)
    Disposition.objects.create(alert=old, decided_by=people.kunshan_supervisor, outcome="form_2",
                               amount_recovered=Decimal("7"))
    rollups.rebuild()  # rows written behind the services' back: recount them
    today = timezone.localdate()
    d = dashboard_for(people.city_leader, Period(today - timedelta(days=29), today))
    assert d["totals"]["total"] == 1
    assert d["recovered"] == Decimal("100.50") and d["cases_filed"] == 1
    assert [o["outcome"] for o in d["outcomes"]] == ["form_1"]
    assert dashboard_for(people.city_leader, ALL)["recovered"] == Decimal("107.50")


def test_average_days_per_stage_comes_from_the_timeline(people, make_alert, org):
    a = make_alert(org_unit=org.kunshan)
    t0 = a.created_at
    TimelineEntry.objects.create(alert=a, at=t0 + timedelta(days=2), kind="transition",
                                 from_status="warning", to_status="assigned", action="assign")
    TimelineEntry.objects.create(alert=a, at=t0 + timedelta(days=3), kind="transition",
                                 from_status="assigned", to_status="verifying", action="accept")
    TimelineEntry.objects.create(alert=a, at=t0 + timedelta(days=1), kind="comment")  # ignored
    # Entries written without their time in stage (as before it was stored) get it backfilled.
    rollups.backfill_stage_times()
    rollups.rebuild()
    days = dashboard_for(people.city_leader, ALL)["stage_days"]
    assert days == {"warning": 2.0, "assigned": 1.0}


def test_every_kpi_drills_down_to_a_list_with_the_same_count(people, make_alert, org, client_for):
    now = timezone.now()
    make_alert(org_unit=org.kunshan, status="closed", closed_at=now)
    make_alert(org_unit=org.kunshan, due_at=now - timedelta(hours=1))
    c = client_for(people.city_leader)
    r = c.get(reverse("web:dashboard"), {"period": "custom", "start": date(2000, 1, 1).isoformat(),
                                         "end": timezone.localdate().isoformat()})
    links, totals = r.context["links"], r.context["data"]["totals"]
    for key in ("total", "open", "closed", "overdue"):
        page = c.get(links[key]).context["page"]
        assert page.paginator.count == totals[key], key


def test_trend_and_stage_figures_drill_down_to_the_alerts_behind_them(people, make_alert, org, client_for):
    from tests.api.helpers import drive

    closed = drive(make_alert(org_unit=org.kunshan), "closed", supervisor=people.kunshan_supervisor,
                   verifier=people.kunshan_verifier, leader=people.city_leader)
    drive(make_alert(org_unit=org.kunshan), "verifying", supervisor=people.kunshan_supervisor,
          verifier=people.kunshan_verifier)
    make_alert(org_unit=org.kunshan)
    c = client_for(people.city_leader)
    r = c.get(reverse("web:dashboard"), {"period": "30"})
    for row in r.context["data"]["trend"]:
        assert c.get(row["url"]).context["page"].paginator.count == row["raised"]
        assert c.get(row["closed_url"]).context["page"].paginator.count == row["closed"]
    assert sum(row["closed"] for row in r.context["data"]["trend"]) == 1
    stages = {s["status"]: s for s in r.context["stage_days"]}
    left_verifying = c.get(stages["verifying"]["url"]).context["page"]
    assert [a.pk for a in left_verifying.object_list] == [closed.pk]  # only the closed one left 核查
    left_assigned = c.get(stages["assigned"]["url"]).context["page"]
    assert left_assigned.paginator.count == 2


def test_drill_down_filters_travel_hidden_in_the_filter_bar(people, client_for):
    html = client_for(people.city_leader).get(reverse("web:alert_list"), {"left_stage": "verifying"}).content.decode()
    assert 'type="hidden" name="left_stage" value="verifying"' in html
    assert ">Left stage<" not in html and "Unit only" not in html
