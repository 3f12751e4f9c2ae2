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
from workflow.models import EscalationStep

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def quarter():
    now = timezone.localtime()
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def _overdue(alert: Alert, stage: str) -> None:
    EscalationStep.objects.create(alert=alert, stage_seq=1, stage=stage, step=1, due_at=timezone.now(),
                                  at=timezone.now())


@pytest.fixture
def fixture(people, make_alert, org):
    """kunshan: 4 alerts — one closed substantiated, one verified unfounded (verification was
    overdue), one assigned late (warning overdue), one waiting and overdue now.
    changshu: 1 alert, closed substantiated, all on time."""
    ks, cs = people.kunshan_supervisor, people.changshu_supervisor
    k1 = drive(make_alert(org_unit=org.kunshan), "closed", supervisor=ks, verifier=people.kunshan_verifier,
               leader=people.kunshan_leader)
    k2 = make_alert(org_unit=org.kunshan)
    _overdue(k2, "verifying")
    drive(k2, "evaluating", supervisor=ks, verifier=people.kunshan_verifier, conclusion=Conclusion.UNFOUNDED)
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
