"""复发 marking, unit-level escalation once per crossing (two sweeps at once), and analysis
reports that open in Word with their tables."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone
from docx import Document

from alerts.models import Alert
from alerts.states import Conclusion
from assessment.models import AnalysisReport, UnitEscalation
from assessment.reports import report_create, reports_due
from assessment.unit_escalation import unit_escalations_sweep
from tests.api.helpers import drive
from tests.factories import SourceSystemFactory
from workflow import rollups
from workflow.intake import IntakeItem, alerts_ingest
from workflow.models import AlertRollup, Notification

CODE = "91320583MA1RECUR01"


@pytest.mark.django_db
def test_a_substantiated_problem_found_again_is_marked_as_a_recurrence(people, org):
    source = SourceSystemFactory(code="biz-r", org_unit=org.city)

    def push(key):
        return alerts_ingest(source=source, items=[IntakeItem(
            dedup_key=key, title="占用耕地", risk_level="orange", org_unit=org.kunshan, rule="LAND-01",
            subject_name="某某建设", subject_credit_code=CODE)])[0].id

    first = Alert.objects.get(pk=push("r1"))
    drive(first, "closed", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier,
          leader=people.kunshan_leader, conclusion=Conclusion.SUBSTANTIATED)
    again = Alert.objects.get(pk=push("r2"))
    assert again.recurrence_of_id == first.pk
    other_rule = alerts_ingest(source=source, items=[IntakeItem(
        dedup_key="r3", title="t", risk_level="blue", org_unit=org.kunshan, rule="OTHER",
        subject_name="某某建设", subject_credit_code=CODE)])[0].id
    assert Alert.objects.get(pk=other_rule).recurrence_of_id is None
    # Counted for the assessment in the intake's transaction: one recurrence of Kunshan's, raised today.
    assert rollups.differences() == []
    marked = AlertRollup.objects.get(dim=AlertRollup.Dim.RECURRENCE, org_unit=org.kunshan)
    assert (marked.n, marked.day) == (1, timezone.localdate())


def _overdue_alerts(make_alert, unit, n, late):
    past = timezone.now() - timedelta(days=3)
    for i in range(n):
        make_alert(org_unit=unit, due_at=past if i < late else timezone.now() + timedelta(days=5))


@pytest.mark.django_db
def test_the_unit_notice_goes_once_per_crossing(people, org, make_alert, settings):
    settings.HUOYAN_UNIT_ESCALATION_SHARE, settings.HUOYAN_UNIT_ESCALATION_MIN_OVERDUE = 0.2, 5
    _overdue_alerts(make_alert, org.changshu, 10, 6)
    now = timezone.now()
    assert unit_escalations_sweep(now=now) >= 1
    assert unit_escalations_sweep(now=now) == 0  # still over the line: no second notice
    crossing = UnitEscalation.objects.get(org_unit=org.changshu)
    assert crossing.crossing == 1 and crossing.ended_at is None
    assert Notification.objects.filter(recipient=people.changshu_leader, kind="escalation").count() == 1
    assert Notification.objects.filter(recipient=people.city_leader, kind="escalation").exists()
    Alert.objects.filter(org_unit=org.changshu).update(due_at=now + timedelta(days=5))
    unit_escalations_sweep(now=now)  # fell below
    Alert.objects.filter(org_unit=org.changshu).update(due_at=now - timedelta(days=1))
    assert unit_escalations_sweep(now=now) >= 1  # crossed anew: a second notice
    assert UnitEscalation.objects.filter(org_unit=org.changshu).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_concurrent_sweeps_send_one_notice_per_crossing(people, org, make_alert, settings):
    settings.HUOYAN_UNIT_ESCALATION_SHARE, settings.HUOYAN_UNIT_ESCALATION_MIN_OVERDUE = 0.2, 5
    _overdue_alerts(make_alert, org.changshu, 10, 6)
    now, results, start = timezone.now(), [], threading.Barrier(2)

    def run():
        close_old_connections()
        start.wait()
        results.append(unit_escalations_sweep(now=now))
        close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert UnitEscalation.objects.filter(org_unit=org.changshu).count() == 1
    assert Notification.objects.filter(recipient=people.changshu_leader, kind="escalation").count() == 1


@pytest.mark.django_db
def test_a_report_opens_in_word_with_its_tables(people, org, make_alert, api):
    for i in range(3):
        make_alert(org_unit=org.kunshan if i else org.changshu, rule_code="SPLIT-01")
    now = timezone.localtime()
    period = f"{now.year}-{now.month:02d}"
    response = api(people.city_leader).post("/api/v1/reports/", {"title": "招标采购专项分析", "period": period},
                                            format="json")
    assert response.status_code == 201, response.content
    document = api(people.city_leader).get(response.json()["document"])
    assert document.status_code == 200
    doc = Document(io.BytesIO(b"".join(document.streaming_content)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "招标采购专项分析" in text
    by_unit = doc.tables[0]
    assert [c.text for c in by_unit.rows[0].cells][:2] == ["Unit", "Alerts"]
    assert {r.cells[0].text for r in by_unit.rows[1:]} == {"昆山市", "常熟市"}
    assert len(doc.inline_shapes) >= 1  # a chart drawn server-side
    assert api(people.kunshan_verifier).post("/api/v1/reports/", {"title": "x", "period": period},
                                             format="json").status_code == 403


@pytest.mark.django_db
def test_a_scheduled_report_is_made_for_the_period_just_ended_and_sent_to_leaders(people, org):
    template = report_create(by=people.city_leader, title="四风月度分析", period="2026-10", preset="four_winds",
                             schedule=AnalysisReport.Schedule.MONTHLY)
    later = template.next_run_at + timedelta(minutes=1)
    assert reports_due(now=later) == 1
    assert reports_due(now=later) == 0  # the next run moved on
    assert AnalysisReport.objects.filter(title__startswith="四风月度分析（").count() == 1
    assert Notification.objects.filter(recipient=people.city_leader, kind="report_ready").count() == 1
