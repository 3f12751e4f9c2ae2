"""Issue 11, through the screens' endpoints: the dispatch dropdown, post/redirect/get, the icon,
the unfounded rule, confirmations, blank defaults, messages that name the alert, sent-back marks,
filter chips, navigation, logout, Chinese formatting and the demo data."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import OrgUnit, Role, User
from alerts.models import Alert
from alerts.policy import assignable_verifiers, may_take
from alerts.states import Status
from cases.services import finding_add
from web.forms import FindingForm, SubmitVerificationForm, transition_form
from web.text import colon, prose_date, yuan
from web.views.dashboard import _rank_units
from workflow import services as wf

pytestmark = pytest.mark.django_db


def _verifying(people, make_alert, **kw):
    alert = make_alert(**kw)
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    wf.alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    return alert


def _evaluating(people, make_alert, **kw):
    alert = _verifying(people, make_alert, **kw)
    finding_add(alert_id=alert.pk, author=people.kunshan_verifier, text="查阅合同", method="document_review")
    wf.alert_submit_verification(alert_id=alert.pk, by=people.kunshan_verifier, conclusion="unfounded",
                                 summary="不属实")
    return alert


# ----- the verifier dropdown -----

def test_the_dropdown_offers_only_verifiers_who_can_take_every_selected_alert(people, make_alert, org,
                                                                             client_for):
    ks, cs = make_alert(org_unit=org.kunshan), make_alert(org_unit=org.changshu)
    c = client_for(people.city_supervisor)
    url = reverse("web:dispatch_verifiers")
    only_ks = c.get(url, {"alert_ids": [ks.pk]}).context["bulk"].fields["assignee"]
    offered = {u.username for u in only_ks.queryset}
    assert offered == {"kunshan_verifier", "kunshan_verifier2", "office_verifier"}
    both = c.get(url, {"alert_ids": [ks.pk, cs.pk]})
    assert not both.context["bulk"].offered.exists()
    assert 'data-testid="no-verifier"' in both.content.decode()
    # Nothing selected: every verifier in scope, one <optgroup> per unit.
    body = c.get(reverse("web:dispatch")).content.decode()
    assert body.count("<optgroup") >= 2 and "changshu_verifier" not in body  # labels are names, not usernames


def test_the_dropdown_and_the_service_apply_the_same_rule(people, make_alert, org):
    alerts = [make_alert(org_unit=org.kunshan), make_alert(org_unit=org.kunshan_office)]
    verifiers = User.objects.filter(role=Role.VERIFIER)
    offered = set(assignable_verifiers(verifiers, alerts))
    assert offered == {v for v in verifiers if all(may_take(v, a) for a in alerts)}
    assert offered == {people.office_verifier}


def test_a_county_verifier_cannot_be_offered_a_city_alert_of_another_county(people, make_alert, org):
    alert = make_alert(org_unit=org.changshu)
    with pytest.raises(ValidationError) as err:
        wf.alert_assign(alert_id=alert.pk, by=people.city_supervisor, assignee=people.kunshan_verifier)
    assert "assignee" in err.value.message_dict


# ----- post/redirect/get -----

def test_a_refused_submit_goes_back_to_the_page_and_a_reload_does_not_post_again(people, make_alert, client_for):
    alert = _verifying(people, make_alert)
    c = client_for(people.kunshan_verifier)
    verify = reverse("web:verify", args=[alert.pk])
    r = c.post(reverse("web:alert_action", args=[alert.pk, "submit_verification"]), {
        "submit_verification-conclusion": "unfounded", "submit_verification-summary": "未发现问题",
        "next": verify,
    })
    assert r.status_code == 302 and r["Location"] == f"{verify}#act-submit_verification"
    page = c.get(r["Location"])
    form = page.context["forms"]["submit_verification"]
    assert "justification" in form.errors and form["summary"].value() == "未发现问题"
    # The address is the page's own: loading it again shows a fresh form and changes nothing.
    again = c.get(verify)
    assert not again.context["forms"]["submit_verification"].is_bound
    assert Alert.objects.get(pk=alert.pk).status == Status.VERIFYING


def test_the_site_icon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r["Content-Type"] == "image/x-icon"
    assert b"".join(r.streaming_content)[:4] == b"\x00\x00\x01\x00"


# ----- the unfounded rule, on both faces -----

def test_unfounded_without_a_finding_or_justification_is_refused_by_the_service(people, make_alert):
    alert = _verifying(people, make_alert)
    with pytest.raises(ValidationError) as err:
        wf.alert_submit_verification(alert_id=alert.pk, by=people.kunshan_verifier, conclusion="unfounded",
                                     summary="不属实")
    assert list(err.value.message_dict) == ["justification"]
    assert Alert.objects.get(pk=alert.pk).status == Status.VERIFYING
    wf.alert_submit_verification(alert_id=alert.pk, by=people.kunshan_verifier, conclusion="unfounded",
                                 summary="不属实", justification="口径说明与凭证一致")
    alert.refresh_from_db()
    assert alert.status == Status.EVALUATING
    assert "口径说明与凭证一致" in alert.verifications.get().summary


def test_unfounded_without_a_finding_is_a_400_naming_the_field_in_the_api(people, make_alert, api):
    alert = _verifying(people, make_alert)
    url = f"/api/v1/alerts/{alert.pk}/transitions/submit_verification/"
    r = api(people.kunshan_verifier).post(url, {"conclusion": "unfounded", "summary": "不属实"}, format="json")
    assert r.status_code == 400 and "justification" in r.json()
    finding_add(alert_id=alert.pk, author=people.kunshan_verifier, text="查阅台账", method="document_review")
    r = api(people.kunshan_verifier).post(url, {"conclusion": "unfounded", "summary": "不属实"}, format="json")
    assert r.status_code == 200


def test_a_finding_with_more_files_than_the_api_allows_is_refused_on_the_screen():
    files = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(21)]
    form = FindingForm({"method": "document_review", "text": "多附件"}, {"files": files})
    assert not form.is_valid() and "files" in form.errors


# ----- safe actions -----

def test_irreversible_actions_ask_first_naming_the_alert(people, make_alert, client_for):
    warning = make_alert(title="围标嫌疑")
    body = client_for(people.kunshan_supervisor).get(reverse("web:alert_detail", args=[warning.pk])).content.decode()
    assert f'data-confirm="Dismiss alert #{warning.pk} “围标嫌疑”?' in body
    assigned = make_alert(title="补贴异常")
    wf.alert_assign(alert_id=assigned.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    body = client_for(people.kunshan_verifier).get(reverse("web:my_work")).content.decode()
    assert f'data-confirm="Sign for alert #{assigned.pk} “补贴异常”?' in body
    evaluating = _evaluating(people, make_alert, title="公款旅游")
    body = client_for(people.city_leader).get(reverse("web:alert_detail", args=[evaluating.pk])).content.decode()
    assert f"Close (销号) alert #{evaluating.pk}" in body and f"Send alert #{evaluating.pk}" in body


@pytest.mark.parametrize("name,field", [
    ("submit_verification", "conclusion"), ("dispose", "outcome"), ("close", "score"), ("dismiss", "reason"),
    ("send_back", "stage"),
])
def test_risky_choices_start_blank_and_are_required(people, make_alert, name, field):
    form = transition_form(name, user=people.kunshan_supervisor, alert=make_alert())
    assert form.fields[field].choices[0][0] == "" and form.fields[field].required
    assert form[field].value() in (None, "")
    bound = transition_form(name, user=people.kunshan_supervisor, alert=make_alert(), data={})
    assert field in bound.errors


def test_messages_name_the_alert_and_a_conflict_says_who_acted_and_when(people, make_alert, client_for):
    alert = make_alert(title="重复处罚")
    first, second = client_for(people.kunshan_supervisor), client_for(people.city_supervisor)
    r = first.post(reverse("web:alert_action", args=[alert.pk, "dismiss"]),
                   {"dismiss-reason": "duplicate"}, follow=True)
    assert f"Dismissed #{alert.pk} “重复处罚”." in r.content.decode()
    r = second.post(reverse("web:alert_action", args=[alert.pk, "dismiss"]), {"dismiss-reason": "duplicate"})
    assert r.status_code == 409
    message = r.content.decode()
    assert f"#{alert.pk} was already handled by {people.kunshan_supervisor.display_name} at" in message


def test_a_bulk_dismiss_says_who_dispatched_an_alert_meanwhile(people, make_alert, client_for):
    taken, free = make_alert(), make_alert()
    board = client_for(people.city_supervisor)
    wf.alert_assign(alert_id=taken.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    r = board.post(reverse("web:dispatch_bulk"), {
        "alert_ids": [taken.pk, free.pk], "action": "dismiss", "reason": "duplicate"}, follow=True)
    body = r.content.decode()
    assert f"#{taken.pk} was already handled by {people.kunshan_supervisor.display_name}" in body
    assert f"Dismissed #{free.pk} (" in body
    assert Alert.objects.get(pk=free.pk).status == Status.CLOSED


def test_the_conflict_reads_like_chinese(people, make_alert):
    alert = make_alert()
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    with translation.override("zh-hans"), pytest.raises(Exception) as err:
        wf.alert_dismiss(alert_id=alert.pk, by=people.city_supervisor, reason="duplicate")
    assert f"#{alert.pk} 已由 {people.kunshan_supervisor.display_name} 于 " in err.value.message
    assert "分办" in err.value.message


# ----- clear next steps -----

def test_sent_back_alerts_are_marked_with_the_leaders_reason(people, make_alert, client_for):
    alert = _evaluating(people, make_alert)
    wf.alert_send_back(alert_id=alert.pk, by=people.city_leader, stage="verifying", reason="缺少谈话笔录")
    body = client_for(people.kunshan_verifier).get(reverse("web:my_work")).content.decode()
    assert 'data-testid="sent-back"' in body and "缺少谈话笔录" in body
    other = _evaluating(people, make_alert)
    wf.alert_send_back(alert_id=other.pk, by=people.city_leader, stage="disposing", reason="处置依据不足")
    body = client_for(people.kunshan_supervisor).get(reverse("web:disposal")).content.decode()
    assert "处置依据不足" in body and body.count('data-testid="sent-back"') == 1


def test_after_returning_the_verifier_lands_on_my_work(people, make_alert, client_for):
    alert = make_alert()
    wf.alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    r = client_for(people.kunshan_verifier).post(reverse("web:alert_action", args=[alert.pk, "return"]), {
        "return-reason": "需回避", "next": reverse("web:alert_detail", args=[alert.pk])})
    assert r.status_code == 302 and r["Location"] == reverse("web:my_work")


def test_a_drill_downs_hidden_filters_show_as_removable_chips(people, client_for):
    c = client_for(people.city_leader)
    r = c.get(reverse("web:alert_list"), {"left_stage": "verifying", "unit": "kunshan", "unit_only": "1"})
    body = r.content.decode()
    assert 'data-testid="filter-chips"' in body
    assert "Left stage: Verifying" in body and "This unit only" in body
    assert 'href="?unit=kunshan&amp;unit_only=1"' in body  # the chip that drops left_stage


def test_navigation_shows_the_warehouse_and_administration_to_those_who_may(people, client_for):
    body = client_for(people.kunshan_verifier).get(reverse("web:my_work")).content.decode()
    assert 'data-testid="nav-warehouse"' in body and 'data-testid="nav-admin"' not in body
    admin = User.objects.create_superuser("root", password="x", org_unit=OrgUnit.objects.get(code="suzhou"),
                                          role=Role.ADMIN)
    body = client_for(admin).get(reverse("web:alert_list")).content.decode()
    assert 'data-testid="nav-admin"' in body


def test_logging_out_says_so(people, client_for):
    c = client_for(people.kunshan_verifier)
    r = c.post(reverse("logout"), follow=True)
    assert "You have logged out." in r.content.decode()


def test_dispatch_board_has_select_all(people, make_alert, client_for):
    make_alert()
    body = client_for(people.kunshan_supervisor).get(reverse("web:dispatch")).content.decode()
    assert 'data-select-all="alert_ids"' in body


# ----- Chinese that reads like Chinese; the dashboard -----

def test_amounts_dates_and_colons_read_naturally():
    import datetime as dt

    assert yuan(4860000) == "¥4,860,000.00" and yuan(None) == ""
    with translation.override("zh-hans"):
        assert colon() == "：" and prose_date(dt.date(2026, 12, 28)) == "2026年12月28日"
        label = str(SubmitVerificationForm()["conclusion"].label_tag())
        assert "：</label>" in label and ":</label>" not in label
    with translation.override("en"):
        assert colon() == ": " and prose_date(dt.date(2026, 12, 28)) == "Dec. 28, 2026"


def test_a_tie_at_the_bottom_is_not_painted_as_the_worst_unit():
    from decimal import Decimal

    rows = [{"closure_rate": Decimal("0.5")}, {"closure_rate": Decimal("0")}, {"closure_rate": Decimal("0")}]
    _rank_units(rows)
    assert [r["mark"] for r in rows] == ["top", "", ""] and [r["rank"] for r in rows] == [1, 2, 2]
    same = [{"closure_rate": Decimal("0")}, {"closure_rate": Decimal("0")}]
    _rank_units(same)
    assert [r["mark"] for r in same] == ["", ""]


# ----- the demo -----

def test_the_demo_gives_every_county_people_and_work_in_every_stage_over_a_year():
    from datetime import timedelta

    from django.db.models import Min
    from django.utils import timezone

    from demo.alerts import COUNTIES, seed_demo
    from workflow.dashboard import Period, average_days_per_stage

    seed_demo(password="pw-demo-123")
    for code, _name in COUNTIES:
        roles = set(User.objects.filter(org_unit__code=code).values_list("role", flat=True))
        assert {Role.SUPERVISOR, Role.VERIFIER, Role.LEADER} <= roles, code
        stages = set(Alert.objects.filter(org_unit__code=code).values_list("status", flat=True))
        loop = {Status.WARNING, Status.ASSIGNED, Status.VERIFYING, Status.DISPOSING, Status.APPLYING,
                Status.EVALUATING, Status.CLOSED, Status.REFERRED}
        assert loop <= stages, code
    oldest = Alert.objects.aggregate(m=Min("created_at"))["m"]
    assert oldest < timezone.now() - timedelta(days=300)
    months = {a.created_at.strftime("%Y-%m") for a in Alert.objects.all()}
    assert len(months) >= 11
    days = average_days_per_stage(User.objects.get(username="suzhou_leader"), Period(None, None))
    assert all(days.get(s, 0) > 0 for s in ["warning", "assigned", "verifying", "disposing", "applying"])


def test_system_text_on_the_timeline_follows_the_readers_language(people, make_alert, client_for):
    from cases.models import TimelineEntry

    alert = make_alert()
    with translation.override("zh-hans"):
        TimelineEntry.objects.create(alert=alert, at=alert.created_at, kind="escalation", action="step_2",
                                     text="书面提醒单位负责人（黄牌）", data={"step": 2})
    body = client_for(people.kunshan_supervisor).get(reverse("web:alert_detail", args=[alert.pk])).content.decode()
    assert "Written reminder to the unit supervisor (yellow card)" in body and "黄牌" not in body


def test_generated_titles_have_no_stray_spaces_next_to_chinese():
    from screening.spec import render_title

    title = render_title("疑似拆分合同：{a} 与 {b} {count} 份合同合计 {amount} 元",
                         {"a": "昆山市交通局", "b": "道路养护公司", "count": 2, "amount": "1850000.00"})
    assert title == "疑似拆分合同：昆山市交通局与道路养护公司2份合同合计1850000.00元"
    assert render_title("{a} and {b}", {"a": "Acme Ltd", "b": "Foo"}) == "Acme Ltd and Foo"
