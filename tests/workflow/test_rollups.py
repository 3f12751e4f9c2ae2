"""The dashboard's rollups move with the loop, in the same transaction, and always equal what a
recount from the source rows (alerts, timeline, dispositions) says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from alerts.selectors import stats_overview
from alerts.states import Conclusion
from tests.api.helpers import drive
from workflow import rollups
from workflow import services as wf
from workflow.dashboard import Period, dashboard_for
from workflow.intake import IntakeItem, alerts_ingest
from workflow.models import AlertRollup


def _raise(source, org, n: int, prefix: str = "k"):
    items = [IntakeItem(dedup_key=f"{prefix}{i}", title=f"预警{i}", risk_level="red", org_unit=org.kunshan,
                        domain="procurement" if i % 2 else "land") for i in range(n)]
    return [alerts_ingest(source=source, items=items)[i] for i in range(n)]


def _alerts(results):
    from alerts.models import Alert

    return [Alert.objects.get(pk=r.id) for r in results]


def test_intake_and_every_transition_keep_the_rollups_equal_to_a_recount(people, source, org):
    a, b, c, d, e = _alerts(_raise(source, org, 5))
    alerts_ingest(source=source, items=[IntakeItem(dedup_key="k0", title="again", risk_level="red",
                                                   org_unit=org.kunshan)])  # a repeat: no new count
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier, "leader": people.city_leader}
    drive(a, "closed", **kw)
    drive(b, "evaluating", conclusion=Conclusion.UNFOUNDED, **kw)
    drive(c, "verifying", **kw)
    wf.alert_dismiss(alert_id=d.pk, by=people.kunshan_supervisor, reason="duplicate")
    wf.alert_assign(alert_id=e.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    wf.alert_return(alert_id=e.pk, by=people.kunshan_verifier, reason="不归我们")
    wf.alert_send_back(alert_id=b.pk, by=people.city_leader, stage="verifying", reason="再查")

    assert rollups.differences() == []
    call_command("recompute_rollups", "--check")  # the command agrees
    d_ = dashboard_for(people.city_leader, Period(None, None))
    assert d_["totals"]["total"] == 5 and d_["totals"]["closed"] == 2
    assert d_["totals"]["with_conclusion"] == 2 and d_["totals"]["substantiated"] == 1
    assert d_["by_status"]["verifying"] == 2 and d_["by_status"]["warning"] == 1
    assert [o["outcome"] for o in d_["outcomes"]] == ["form_1"]
    assert set(d_["stage_days"]) >= {"warning", "assigned", "verifying", "evaluating"}
    assert stats_overview(people.city_leader)["closed"] == 2


def test_a_transition_stores_its_time_in_stage(people, source, org):
    [a] = _alerts(_raise(source, org, 1))
    wf.alert_assign(alert_id=a.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    entry = a.timeline.get(kind="transition")
    assert entry.stage_seconds is not None and entry.stage_seconds >= 0
    assert entry.stage_working_days is not None and entry.stage_working_days >= 0


def test_a_failed_transition_leaves_the_rollups_untouched(people, source, org):
    [a] = _alerts(_raise(source, org, 1))
    before = rollups.stored_rows()
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
        wf.alert_close(alert_id=a.pk, by=people.city_leader, score=4)  # not in evaluation yet
    assert rollups.stored_rows() == before


def test_the_check_finds_a_drifted_count_and_a_rebuild_repairs_it(people, source, org):
    _raise(source, org, 3)
    AlertRollup.objects.filter(dim="status", key="warning").update(n=99)
    with pytest.raises(CommandError):
        call_command("recompute_rollups", "--check")
    call_command("recompute_rollups")
    assert rollups.differences() == []


def test_the_same_rollup_row_written_twice_adds_up(org):
    key = ("outcome", org.kunshan.pk, date(2026, 1, 1), "form_1")
    with transaction.atomic():
        rollups.apply({key: {"n": 1, "amount": Decimal("1.50"), "filed": 1}})
        rollups.apply({key: {"n": 1, "amount": Decimal("2.25")}})
    row = AlertRollup.objects.get(dim="outcome")
    assert (row.n, row.amount, row.filed) == (2, Decimal("3.75"), 1)


def test_people_money_and_dismissals_follow_the_latest_disposition(people, source, org, api):
    from cases.models import DispositionPerson
    from workflow.referrals import referral_reply_record

    a, b, c = _alerts(_raise(source, org, 3, prefix="p"))
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier}
    drive(a, "disposing", **kw)
    form = DispositionPerson.Form
    wf.alert_dispose(alert_id=a.pk, by=people.kunshan_supervisor, outcome="form_1", amount_recovered=Decimal("1000"),
                     amount_confiscated=Decimal("200"), people=[
                         wf.PersonInput(name="张三", form=form.FORM_1, case_filed=True),
                         wf.PersonInput(name="李四", form=form.FORM_2)])
    figures = dashboard_for(people.city_leader, Period(None, None))["people"]
    assert figures["people_total"] == 2 and figures["people_case_filed"] == 1
    assert figures["people_by_form"]["form_1"] == 1 and figures["people_by_form"]["form_2"] == 1
    assert figures["amount_recovered"] == Decimal("1000") and figures["amount_confiscated"] == Decimal("200")
    assert rollups.differences() == []

    # Sent back and disposed again: only the new disposition's people and money count.
    wf.alert_apply_results(alert_id=a.pk, by=people.kunshan_supervisor, actions=[
        wf.ActionInput(kind="work_notice", recipient="某局", text="请整改")])
    wf.alert_send_back(alert_id=a.pk, by=people.city_leader, stage="disposing", reason="处理偏轻")
    wf.alert_dispose(alert_id=a.pk, by=people.kunshan_supervisor, outcome="form_3", amount_recovered=Decimal("500"),
                     people=[wf.PersonInput(name="张三", form=form.FORM_3)])
    figures = dashboard_for(people.city_leader, Period(None, None))["people"]
    assert figures["people_total"] == 1 and figures["people_case_filed"] == 0
    assert figures["people_by_form"]["form_1"] == 0 and figures["people_by_form"]["form_3"] == 1
    assert figures["amount_recovered"] == Decimal("500") and figures["amount_confiscated"] == Decimal("0")
    assert rollups.differences() == []

    # A dismissal counts apart (排除), on the dashboard and in the API's overview alike.
    wf.alert_dismiss(alert_id=b.pk, by=people.kunshan_supervisor, reason="duplicate")
    assert dashboard_for(people.city_leader, Period(None, None))["totals"]["dismissed"] == 1
    overview = api(people.city_leader).get("/api/v1/stats/overview/").json()
    assert overview["dismissed"] == 1 and overview["people_total"] == 1
    assert rollups.differences() == []

    # A referral the department corrected closes with its own disposition, counted like any other.
    wf.alert_refer(alert_id=c.pk, by=people.kunshan_supervisor, department="区城管局", due_days=5, note="请纠正")
    referral_reply_record(alert_id=c.pk, by=people.kunshan_supervisor, reply="已整改")
    wf.alert_accept_referral(alert_id=c.pk, by=people.kunshan_supervisor, comment="整改到位")
    assert rollups.differences() == []


def test_the_overview_from_the_rollups_equals_a_live_count_for_every_reader(people, source, org):
    """stats/overview reads the owned counts from the rollups and counts live only what a unit
    sees elsewhere (handled across units, re-checked): the same figures as counting everything."""
    from workflow.dashboard import overview

    a, b, c, d = _alerts(_raise(source, org, 4, prefix="o"))
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier}
    drive(a, "closed", leader=people.city_leader, **kw)
    wf.alert_dismiss(alert_id=b.pk, by=people.kunshan_supervisor, reason="duplicate")
    # Cross verification: Changshu handles a Kunshan alert while it is open.
    wf.alert_assign(alert_id=c.pk, by=people.city_supervisor, assignee=people.changshu_verifier, cross_unit=True)
    for who in ("city_leader", "kunshan_supervisor", "changshu_supervisor", "changshu_verifier"):
        user = getattr(people, who)
        live, rolled = stats_overview(user), overview(user)
        assert {k: rolled[k] for k in live} == live, who
    assert overview(people.changshu_supervisor)["total"] == 1  # the handled alert, and only it
    assert overview(people.city_leader)["dismissed"] == 1


def test_month_rows_give_the_same_figures_as_day_rows_for_any_period(people, source, org, monkeypatch):
    """Whole months are read from the month-grain rows and the edges from the day rows: every
    figure must equal reading day rows only, whatever the period's bounds."""
    from datetime import timedelta

    from django.utils import timezone

    from alerts.models import Alert
    from workflow import dashboard

    alerts = _alerts(_raise(source, org, 8, prefix="m"))
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier}
    drive(alerts[0], "closed", leader=people.city_leader, **kw)
    drive(alerts[1], "disposing", **kw)
    wf.alert_dismiss(alert_id=alerts[2].pk, by=people.kunshan_supervisor, reason="duplicate")
    today = timezone.localdate()
    for i, a in enumerate(alerts):  # spread over four months, some on a month's first and last day
        on = today.replace(day=1) - timedelta(days=[0, 1, 15, 31, 45, 59, 70, 100][i])
        Alert.objects.filter(pk=a.pk).update(created_at=timezone.make_aware(
            timezone.datetime.combine(on, timezone.datetime.min.time()) + timedelta(hours=10)))
    rollups.rebuild()
    assert rollups.differences() == []

    first_of_month = today.replace(day=1)
    periods = [Period(None, None), Period(today - timedelta(days=365), today),
               Period(first_of_month - timedelta(days=61), first_of_month - timedelta(days=1)),
               Period(first_of_month - timedelta(days=50), today - timedelta(days=3)),
               Period(first_of_month - timedelta(days=40), None), Period(None, first_of_month - timedelta(days=20)),
               Period(first_of_month - timedelta(days=10), first_of_month - timedelta(days=5))]
    as_months = [dashboard_for(people.city_leader, p) for p in periods]
    original = dashboard.Scope.rows
    monkeypatch.setattr(dashboard.Scope, "rows", lambda self, dim, by_day=False: original(self, dim, by_day=True))
    as_days = [dashboard_for(people.city_leader, p) for p in periods]
    for p, m, d in zip(periods, as_months, as_days, strict=True):
        assert m == d, p
    assert as_days[0]["totals"]["total"] == 8


def test_old_entries_get_their_time_in_stage_back_as_the_services_store_it(people, source, org):
    """Entries written before the time in stage was stored: the backfill (one SQL statement on
    PostgreSQL) gives each the seconds and working days since the previous transition, counted as
    `working_time_in_days` counts them over weekends and a stored holiday; the rollups then agree."""
    from datetime import timedelta

    from alerts.models import Alert
    from cases.models import TimelineEntry
    from workflow.calendar import clear_calendar_cache, current_calendar, local, working_time_in_days
    from workflow.models import CalendarDay

    a, b = _alerts(_raise(source, org, 2))
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier, "leader": people.city_leader}
    drive(a, "closed", **kw)
    drive(b, "verifying", **kw)
    # Spread the history over two weeks: a Friday evening, a weekend, a holiday on a Wednesday.
    start = local(Alert.objects.get(pk=a.pk).created_at).replace(hour=18, minute=30) - timedelta(days=30)
    start -= timedelta(days=(start.weekday() - 4) % 7)  # a Friday
    CalendarDay.objects.update_or_create(date=(start + timedelta(days=5)).date(),
                                         defaults={"kind": CalendarDay.Kind.HOLIDAY, "name": "test"})
    clear_calendar_cache()
    for alert in (a, b):
        Alert.objects.filter(pk=alert.pk).update(created_at=start)
        for i, entry in enumerate(alert.timeline.order_by("at", "id")):
            TimelineEntry.objects.filter(pk=entry.pk).update(at=start + timedelta(days=1.3 * (i + 1), hours=i))
    TimelineEntry.objects.update(stage_seconds=None, stage_working_days=None)

    filled = rollups.backfill_stage_times()

    transitions = TimelineEntry.objects.filter(kind="transition")
    assert filled == transitions.count() > 4
    cal = current_calendar()
    for alert in (a, b):
        previous = start
        for entry in transitions.filter(alert=alert).order_by("at", "id"):
            assert entry.stage_seconds == int((entry.at - previous).total_seconds())
            assert entry.stage_working_days == Decimal(str(round(working_time_in_days(cal, previous, entry.at), 2)))
            previous = entry.at
    assert {e.stage_working_days for e in transitions} != {Decimal(str(round(e.stage_seconds / 86400, 2)))
                                                           for e in transitions}  # weekends and the holiday count 0
    assert rollups.backfill_stage_times() == 0  # nothing left to fill
    rollups.rebuild()
    assert rollups.differences() == []


def test_old_entries_get_the_deadline_a_reminder_recorded_for_their_stage(people, source, org):
    """Entries from before the deadline was stored: the k-th transition left the alert's k-th stage,
    whose deadline an escalation step recorded; a stage never reminded keeps none (on time)."""
    from datetime import timedelta

    from django.utils import timezone

    from cases.models import TimelineEntry
    from workflow.models import EscalationStep

    [a] = _alerts(_raise(source, org, 1))
    drive(a, "verifying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    TimelineEntry.objects.update(stage_due_at=None)
    due = timezone.now() - timedelta(days=2)
    EscalationStep.objects.create(alert=a, stage_seq=2, stage="assigned", step=1, due_at=due, at=due)
    EscalationStep.objects.create(alert=a, stage_seq=2, stage="assigned", step=2, due_at=due + timedelta(days=1),
                                  at=due)

    assert rollups.backfill_stage_deadlines() == 1
    assign, accept = a.timeline.filter(kind="transition").order_by("at", "id")
    assert (assign.action, assign.stage_due_at) == ("assign", None)
    assert (accept.action, accept.stage_due_at) == ("accept", due)
    rollups.rebuild()
    late = AlertRollup.objects.get(dim=AlertRollup.Dim.EVENT, key="accept")
    assert (late.n, late.late) == (1, 1)


def test_a_screening_models_rows_follow_its_alerts_and_their_latest_disposition(people, org):
    """A model's alerts by stage and the money of their latest disposition, written by intake, the
    transitions and each new disposition, equal the recount; a business system's rules have none."""
    from tests.factories import SourceSystemFactory

    feed = SourceSystemFactory(code="screening-feed", kind="screening", org_unit=org.city)
    items = [IntakeItem(dedup_key=f"m{i}", title=f"模型命中{i}", risk_level="red", org_unit=org.kunshan,
                        rule="model-a" if i < 3 else "model-b") for i in range(4)]
    a, b, c, d = _alerts(alerts_ingest(source=feed, items=items))
    kw = {"supervisor": people.kunshan_supervisor, "verifier": people.kunshan_verifier, "leader": people.city_leader}
    drive(a, "closed", **kw)
    drive(b, "evaluating", **kw)
    # Disposed again after a send-back: the new disposition's money replaces the old one's.
    wf.alert_send_back(alert_id=b.pk, by=people.city_leader, stage="disposing", reason="处置偏轻")
    wf.alert_dispose(alert_id=b.pk, by=people.kunshan_supervisor, outcome="form_2", case_filed=True,
                     amount_recovered=Decimal("800"))
    drive(c, "verifying", **kw)
    assert rollups.differences() == []
    rows = {r.key: r for r in AlertRollup.objects.filter(dim=AlertRollup.Dim.MODEL, org_unit=org.kunshan)}
    assert (rows["closed:model-a"].n, rows["closed:model-a"].substantiated) == (1, 1)
    assert (rows["applying:model-a"].n, rows["verifying:model-a"].n, rows["warning:model-b"].n) == (1, 1, 1)
    assert (rows["money:model-a"].filed, rows["money:model-a"].amount) == (1, Decimal("800"))
    assert "money:model-b" not in rows
    assert not AlertRollup.objects.filter(dim=AlertRollup.Dim.MODEL).exclude(key__contains=":model-").exists()
