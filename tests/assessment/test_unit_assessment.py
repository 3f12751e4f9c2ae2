"""The unit assessment on a hand-built fixture matches a hand computation; each figure drills
down to the alerts behind it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.states import Conclusion
from assessment.figures import assessment_rows, figure_rows, score
from assessment.models import AssessmentWeight
from assessment.periods import period_parse
from cases.models import TimelineEntry
from tests.api.helpers import drive
from workflow import rollups
from workflow import services as wf
from workflow.models import EscalationStep

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def quarter():
    now = timezone.localtime()
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def _overdue(alert: Alert, stage: str) -> None:
    """The alert is past the deadline of the stage it is in (`stage`), and the sweep noticed (its
    step and level update, as `workflow.sweep` writes them)."""
    assert Alert.objects.get(pk=alert.pk).status == stage
    Alert.objects.filter(pk=alert.pk).update(due_at=timezone.now() - timedelta(hours=1), escalation_level=1,
                                             ever_overdue=True)
    EscalationStep.objects.create(alert=alert, stage_seq=Alert.objects.get(pk=alert.pk).stage_seq, stage=stage,
                                  step=1, due_at=timezone.now() - timedelta(hours=1), at=timezone.now())


@pytest.fixture
def fixture(people, make_alert, org):
    """kunshan: 4 alerts — one closed substantiated, one verified unfounded (verification was
    overdue), one assigned late (warning overdue), one waiting and overdue now.
    changshu: 1 alert, closed substantiated, all on time."""
    ks, cs = people.kunshan_supervisor, people.changshu_supervisor
    k1 = drive(make_alert(org_unit=org.kunshan), "closed", supervisor=ks, verifier=people.kunshan_verifier,
               leader=people.kunshan_leader)
    k2 = drive(make_alert(org_unit=org.kunshan), "verifying", supervisor=ks, verifier=people.kunshan_verifier)
    _overdue(k2, "verifying")
    wf.alert_submit_verification(alert_id=k2.pk, by=people.kunshan_verifier, conclusion=Conclusion.UNFOUNDED,
                                 summary="查明", justification="查无实据")
    k3 = make_alert(org_unit=org.kunshan)
    _overdue(k3, "warning")
    drive(k3, "assigned", supervisor=ks, verifier=people.kunshan_verifier)
    k4 = make_alert(org_unit=org.kunshan)
    Alert.objects.filter(pk=k4.pk).update(due_at=timezone.now() - timedelta(days=1))
    c1 = drive(make_alert(org_unit=org.changshu), "closed", supervisor=cs, verifier=people.changshu_verifier,
               leader=people.changshu_leader)
    return {"k1": k1, "k2": k2, "k3": k3, "k4": k4, "c1": c1}


def test_the_figures_match_a_hand_computation(people, fixture, quarter, org):
    rows = {r.unit.code: r for r in assessment_rows(user=people.city_leader, period=period_parse(quarter),
                                                    unit=org.city)}
    k = rows["kunshan"].figures
    assert (k["received"], k["dispatched"], k["dispatched_on_time"]) == (4, 3, 2)
    assert (k["verified"], k["verified_on_time"], k["substantiated"]) == (2, 1, 1)
    assert (k["closed"], k["overdue_now"], k["overdue_ever"]) == (1, 1, 2)
    assert (k["recurrences"], k["rechecked"], k["recheck_failures"]) == (0, 0, 0)
    c = rows["changshu"].figures
    assert (c["received"], c["dispatched_on_time"], c["verified_on_time"], c["closed"]) == (1, 1, 1, 1)
    # Rates by hand for kunshan: dispatch 2/3, verify 1/2, closure 1/4, never overdue 1 - 2/4,
    # substantiation 1/2, orders, recurrence and re-checks with nothing to measure count as 1.
    r = rows["kunshan"].rates
    assert r["dispatch_on_time"] == Decimal("0.6667") and r["verify_on_time"] == Decimal("0.5")
    assert (r["closure"], r["never_overdue"], r["substantiation"]) == (Decimal("0.25"), Decimal("0.5"), Decimal("0.5"))
    weights = dict(AssessmentWeight.objects.values_list("metric", "weight"))
    expected = (Decimal(100) * sum(weights[m] * r[m] for m in weights) / sum(weights.values())).quantize(Decimal("0.1"))
    assert rows["kunshan"].score == expected == score(r, weights)
    assert rows["changshu"].score == Decimal("100.0")
    assert (rows["changshu"].rank, rows["kunshan"].rank) == (1, 2)


def test_each_figure_drills_down_to_its_alerts(people, fixture, quarter, org):
    period = period_parse(quarter)
    late = figure_rows(user=people.city_leader, period=period, unit=org.kunshan, figure="overdue_ever")
    assert set(late.values_list("pk", flat=True)) == {fixture["k2"].pk, fixture["k3"].pk}
    now_late = figure_rows(user=people.city_leader, period=period, unit=org.kunshan, figure="overdue_now")
    assert list(now_late.values_list("pk", flat=True)) == [fixture["k4"].pk]


def test_a_weight_changed_in_the_admin_changes_the_score(people, fixture, quarter, org):
    before = {r.unit.code: r.score for r in assessment_rows(user=people.city_leader, period=period_parse(quarter),
                                                            unit=org.city)}
    AssessmentWeight.objects.filter(metric="closure").update(weight=Decimal("10"))
    after = {r.unit.code: r.score for r in assessment_rows(user=people.city_leader, period=period_parse(quarter),
                                                           unit=org.city)}
    assert after["kunshan"] < before["kunshan"] and after["changshu"] == before["changshu"]


def test_the_api_answers_one_row_per_child_unit_and_refuses_other_roles(api, people, fixture, quarter):
    body = api(people.city_leader).get("/api/v1/assessments/", {"period": quarter, "unit": "suzhou"}).json()
    assert [r["unit"] for r in body["rows"]] == ["changshu", "kunshan"]
    assert body["rows"][1]["figures"]["received"] == 4
    assert api(people.kunshan_verifier).get("/api/v1/assessments/", {"period": quarter}).status_code == 403
    assert api(people.city_leader).get("/api/v1/assessments/", {"period": "2026-Q5"}).status_code == 400
    # Another county's unit code is not in a county leader's scope.
    assert api(people.kunshan_leader).get("/api/v1/assessments/", {"period": quarter,
                                                                    "unit": "changshu"}).status_code == 404


def test_average_working_days_per_stage_come_from_stage_exits(people, fixture, quarter, org):
    row = {r.unit.code: r for r in assessment_rows(user=people.city_leader, period=period_parse(quarter),
                                                   unit=org.city)}["kunshan"]
    assert row.avg_days["warning"] is not None  # three alerts left 预警 this quarter
    assert TimelineEntry.objects.filter(alert__org_unit=org.kunshan).exists()


def test_a_stage_lasts_from_transition_to_transition_whatever_is_said_in_between(people, org, make_alert,
                                                                                   quarter, monkeypatch):
    """Four days in 核查 with a comment half-way: one stage left after its whole working time (not
    two stages of half the time each, as when every timeline entry counted as a boundary)."""
    from cases.services import comment_add
    from workflow.calendar import current_calendar, working_time_in_days

    period = period_parse(quarter)
    cal = current_calendar()
    day = period.start_at + timedelta(days=7, hours=9)
    while working_time_in_days(cal, day, day + timedelta(days=4)) < 2:
        day += timedelta(days=1)

    alert = make_alert(org_unit=org.kunshan)
    monkeypatch.setattr(timezone, "now", lambda: day)
    drive(alert, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    monkeypatch.setattr(timezone, "now", lambda: day + timedelta(days=2))
    comment_add(alert_id=alert.pk, author=people.kunshan_verifier, text="到现场看了鱼塘")
    monkeypatch.setattr(timezone, "now", lambda: day + timedelta(days=4))
    wf.alert_submit_verification(alert_id=alert.pk, by=people.kunshan_verifier, conclusion=Conclusion.UNFOUNDED,
                                 summary="未发现问题", justification="无异常")
    monkeypatch.undo()
    left = alert.timeline.get(kind="transition", action="submit_verification")
    expected = Decimal(str(round(working_time_in_days(cal, day, day + timedelta(days=4)), 2)))
    assert (left.from_status, left.stage_working_days) == ("verifying", expected)
    rows = {r.unit.code: r for r in assessment_rows(user=people.city_leader, period=period, unit=org.city)}
    assert rows["kunshan"].avg_days["verifying"] == expected.quantize(Decimal("0.1")) >= 2


def test_the_screen_and_export_show_the_same_figures(client, people, fixture, quarter):
    client.force_login(people.city_leader)
    html = client.get("/assessment/", {"period": quarter}).content.decode()
    assert 'data-unit="kunshan"' in html and "figure=overdue_ever" in html
    response = client.get("/assessment/export.xlsx", {"period": quarter})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    client.force_login(people.kunshan_verifier)
    assert client.get("/assessment/").status_code == 403


def test_periods_are_years_quarters_and_months():
    assert (period_parse("2026-Q4").start, period_parse("2026-Q4").end) == (datetime(2026, 10, 1).date(),
                                                                          datetime(2027, 1, 1).date())
    assert period_parse("2026-02").end == datetime(2026, 3, 1).date()
    assert period_parse("2026").start_at == datetime(2026, 1, 1, tzinfo=SH)


def test_a_figure_without_a_weight_row_uses_the_documented_default(people, fixture, quarter, org):
    before = assessment_rows(user=people.city_leader, period=period_parse(quarter), unit=org.city)
    AssessmentWeight.objects.all().delete()
    after = assessment_rows(user=people.city_leader, period=period_parse(quarter), unit=org.city)
    assert [r.score for r in after] == [r.score for r in before] and after[0].score > 0


# ----- the grouped queries against a straightforward recount, one unit and one figure at a time -----

def _recount(user, unit, period):
    """The figures of one unit counted the plain way: one query per figure, stage exits paired
    up in Python (how the assessment was computed before it was grouped)."""
    from accounts.models import OrgUnit
    from alerts.selectors import alerts_visible_to
    from alerts.states import ActionKind
    from assessment.figures import FIGURES, STAGES
    from assessment.models import RecheckItem
    from cases.models import ResultAction

    assert isinstance(unit, OrgUnit)
    qs = alerts_visible_to(user).filter(org_unit__path__startswith=unit.path)
    f = {name: build(qs, period).count() for name, build in FIGURES.items()}
    orders = ResultAction.objects.filter(alert__in=qs.values("pk"), kind=ActionKind.RECTIFICATION_ORDER,
                                         due_date__gte=period.start, due_date__lt=period.end)
    f["orders_due"] = orders.count()
    f["orders_on_time"] = sum(1 for o in orders.exclude(feedback_at=None)
                              if timezone.localtime(o.feedback_at).date() <= o.due_date)
    rechecked = RecheckItem.objects.filter(handled_by_unit__path__startswith=unit.path,
                                           decided_at__gte=period.start_at, decided_at__lt=period.end_at)
    f["rechecked"] = rechecked.exclude(outcome=RecheckItem.Outcome.PENDING).count()
    f["recheck_failures"] = rechecked.filter(outcome=RecheckItem.Outcome.PROBLEM_FOUND).count()
    # A stage is left by a transition, whose entry stores the working days spent in it.
    spans = {s: [] for s in STAGES}
    left = (TimelineEntry.objects.filter(alert__in=qs.values("pk"), kind=TimelineEntry.Kind.TRANSITION,
                                         at__gte=period.start_at, at__lt=period.end_at)
            .values_list("from_status", "stage_working_days"))
    for stage, working_days in left:
        if stage in spans:
            spans[stage].append(working_days)
    days = {s: (Decimal(sum(v)) / len(v)).quantize(Decimal("0.1")) if v else None for s, v in spans.items()}
    return f, days


def test_the_grouped_figures_equal_a_recount_unit_by_unit(people, fixture, quarter, org, make_alert):
    """Spread the entries over weekends and into the previous quarter, add an alert of a unit
    below a county and one of the city itself, and compare every figure and average."""
    from alerts.states import ActionKind
    from cases.models import ResultAction

    period = period_parse(quarter)
    make_alert(org_unit=org.kunshan_office)
    make_alert(org_unit=org.city)
    for i, entry in enumerate(TimelineEntry.objects.order_by("id")):
        # Some entries fall before the period, the others days apart across weekends.
        shift = timedelta(days=40) if i % 5 == 0 else timedelta(days=i % 4, hours=i)
        TimelineEntry.objects.filter(pk=entry.pk).update(at=max(period.start_at - timedelta(days=30),
                                                                entry.at - shift))
    for i, alert in enumerate(Alert.objects.filter(org_unit__in=[org.kunshan, org.changshu]).order_by("id")):
        ResultAction.objects.create(alert=alert, issued_by=people.kunshan_supervisor,
                                    kind=ActionKind.RECTIFICATION_ORDER, recipient="某单位", text="整改",
                                    due_date=timezone.localdate(),
                                    feedback_at=timezone.now() + timedelta(days=i % 3 - 1) if i % 2 else None)
    # The moved entries and the orders written by hand are the history now: the time in stage and
    # the rollups follow them.
    TimelineEntry.objects.update(stage_seconds=None, stage_working_days=None)
    rollups.backfill_stage_times()
    rollups.rebuild()
    rows = assessment_rows(user=people.city_leader, period=period, unit=org.city)
    assert {r.unit.code for r in rows} >= {"kunshan", "changshu"}
    for row in rows:
        figures, days = _recount(people.city_leader, row.unit, period)
        assert row.figures == figures, row.unit.code
        assert row.avg_days == days, row.unit.code
    assert any(v for r in rows for v in r.avg_days.values())
    assert any(r.figures["orders_due"] for r in rows)


def test_a_period_once_over_keeps_its_figures(people, org, make_alert, monkeypatch):
    """Dispatched on time last month; this month the alert comes back, sits in 预警 past its deadline
    and is dispatched late. Last month still shows one dispatch on time; this month one late."""
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    this_month = timezone.localdate().strftime("%Y-%m")
    then = period_parse(last_month).start_at + timedelta(days=3, hours=10)
    alert = make_alert(org_unit=org.kunshan)
    Alert.objects.filter(pk=alert.pk).update(created_at=then - timedelta(hours=2), stage_entered_at=then - timedelta(
        hours=2), due_at=then + timedelta(days=1))
    rollups.rebuild()  # raised last month
    monkeypatch.setattr(timezone, "now", lambda: then)
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    monkeypatch.undo()
    wf.alert_return(alert_id=alert.pk, by=people.kunshan_verifier, reason="不归我们")

    def dispatches(code):
        row = {r.unit.code: r for r in assessment_rows(user=people.city_leader, period=period_parse(code),
                                                       unit=org.city)}["kunshan"]
        return row.figures["dispatched"], row.figures["dispatched_on_time"]

    assert dispatches(last_month) == (1, 1)
    _overdue(alert, "warning")
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    assert dispatches(last_month) == (1, 1)  # unchanged by what happened since
    assert dispatches(this_month) == (1, 0)
    on_time = figure_rows(user=people.city_leader, period=period_parse(last_month), unit=org.kunshan,
                          figure="dispatched_on_time")
    assert list(on_time.values_list("pk", flat=True)) == [alert.pk]
    assert rollups.differences() == []
