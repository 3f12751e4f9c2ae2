"""Who may open which screen, and which buttons and endpoints each user gets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import Alert
from alerts.states import Status


@pytest.mark.parametrize("url", ["web:dispatch", "web:disposal", "web:evaluation"])
def test_a_verifier_cannot_open_the_supervisor_or_leader_screens(people, client_for, url):
    assert client_for(people.kunshan_verifier).get(reverse(url)).status_code == 403


@pytest.mark.parametrize("url", ["web:my_work", "web:evaluation"])
def test_a_supervisor_cannot_open_the_verifier_or_leader_screens(people, client_for, url):
    assert client_for(people.kunshan_supervisor).get(reverse(url)).status_code == 403


def test_a_verifier_cannot_open_the_dashboard(people, client_for):
    assert client_for(people.kunshan_verifier).get(reverse("web:dashboard")).status_code == 403


def test_anonymous_users_are_sent_to_log_in(db):
    from django.test import Client

    r = Client().get(reverse("web:dispatch"))
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "home"),
    [("kunshan_supervisor", "/dispatch/"), ("kunshan_verifier", "/my-work/"), ("city_leader", "/evaluation/")],
)
def test_each_role_lands_on_its_own_home(people, client_for, who, home):
    r = client_for(getattr(people, who)).get("/")
    assert r.status_code == 302 and r["Location"] == home


def test_login_page_logs_in_and_redirects_to_the_role_home(people, client):
    from tests.factories import PASSWORD

    r = client.post(reverse("login"), {"username": "kunshan_verifier", "password": PASSWORD})
    assert r.status_code == 302
    assert client.get(r["Location"])["Location"] == "/my-work/"


def test_an_alert_of_another_county_is_a_404_everywhere(people, make_alert, org, client_for):
    alert = make_alert(org_unit=org.changshu)
    c = client_for(people.kunshan_supervisor)
    assert c.get(reverse("web:alert_detail", args=[alert.pk])).status_code == 404
    assert c.post(reverse("web:alert_action", args=[alert.pk, "dismiss"]),
                  {"dismiss-reason": "duplicate"}).status_code == 404
    assert c.post(reverse("web:comment_create", args=[alert.pk]), {"text": "x"}).status_code == 404
    r = c.post(reverse("web:dispatch_bulk"), {
        "alert_ids": [alert.pk], "action": "dismiss", "reason": "duplicate",
    })
    assert r.status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == Status.WARNING
    assert f'data-alert="{alert.pk}"' not in c.get(reverse("web:dispatch")).content.decode()
    assert f'data-alert="{alert.pk}"' not in c.get(reverse("web:alert_list")).content.decode()


def test_the_city_supervisor_sees_both_counties(people, make_alert, org, client_for):
    a, b = make_alert(org_unit=org.kunshan), make_alert(org_unit=org.changshu)
    body = client_for(people.city_supervisor).get(reverse("web:dispatch")).content.decode()
    assert f'data-alert="{a.pk}"' in body and f'data-alert="{b.pk}"' in body


def test_buttons_for_actions_the_user_may_not_take_are_absent_and_refused(people, make_alert, client_for):
    alert = make_alert()
    verifier = client_for(people.kunshan_verifier)
    body = verifier.get(reverse("web:alert_detail", args=[alert.pk])).content.decode()
    for name in ("assign", "dismiss", "close", "dispose"):
        assert f'data-testid="do-{name}"' not in body
    assert 'data-testid="no-actions"' in body
    r = verifier.post(reverse("web:alert_action", args=[alert.pk, "dismiss"]), {"dismiss-reason": "duplicate"})
    assert r.status_code == 403
    r = verifier.post(reverse("web:alert_action", args=[alert.pk, "accept"]))
    assert r.status_code == 409
    assert Alert.objects.get(pk=alert.pk).status == Status.WARNING

    supervisor_body = client_for(people.kunshan_supervisor).get(
        reverse("web:alert_detail", args=[alert.pk])).content.decode()
    assert 'data-testid="do-assign"' in supervisor_body and 'data-testid="do-dismiss"' in supervisor_body
    assert 'data-testid="do-close"' not in supervisor_body

    leader = client_for(people.kunshan_leader)
    assert leader.post(reverse("web:alert_action", args=[alert.pk, "close"]),
                       {"close-score": "5"}).status_code == 409


def test_only_the_assignee_gets_the_verification_page(people, make_alert, client_for):
    from workflow.services import alert_accept, alert_assign

    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    assert client_for(people.kunshan_verifier).get(reverse("web:verify", args=[alert.pk])).status_code == 200
    other = client_for(people.kunshan_verifier2)
    assert other.get(reverse("web:verify", args=[alert.pk])).status_code == 403
    assert other.post(reverse("web:alert_action", args=[alert.pk, "submit_verification"]), {
        "submit_verification-conclusion": "unfounded", "submit_verification-summary": "x",
    }).status_code == 403
    assert client_for(people.changshu_verifier).get(reverse("web:verify", args=[alert.pk])).status_code == 404


def test_evidence_is_served_only_within_scope(people, make_alert, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.services import finding_add
    from workflow.services import alert_accept, alert_assign

    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    finding = finding_add(alert_id=alert.pk, author=people.kunshan_verifier, text="t", method="interview",
                          files=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 test")])
    ev = finding.evidence.get()
    assert client_for(people.city_leader).get(reverse("web:evidence", args=[ev.pk])).status_code == 200
    assert client_for(people.changshu_supervisor).get(reverse("web:evidence", args=[ev.pk])).status_code == 404
    assert client_for(people.nobody).get(reverse("web:evidence", args=[ev.pk])).status_code == 404


def test_a_bad_upload_is_a_form_error_and_stores_nothing(people, make_alert, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.models import Finding
    from workflow.services import alert_accept, alert_assign

    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    alert_accept(alert_id=alert.pk, by=people.kunshan_verifier)
    r = client_for(people.kunshan_verifier).post(reverse("web:verify", args=[alert.pk]), {
        "method": "interview", "text": "t", "files": [SimpleUploadedFile("evil.pdf", b"MZ\x90\x00")],
    })
    assert r.status_code == 400 and "not a .pdf file" in r.content.decode()
    assert not Finding.objects.filter(alert=alert).exists()


def test_notices_of_another_county_are_a_404(people, make_alert, org, client_for):
    from cases.models import ResultAction

    alert = make_alert(org_unit=org.changshu)
    notice = ResultAction.objects.create(alert=alert, issued_by=people.changshu_supervisor,
                                         kind="work_notice", recipient="r", text="t")
    assert client_for(people.kunshan_supervisor).get(reverse("web:notice", args=[notice.pk])).status_code == 404
    assert client_for(people.changshu_supervisor).get(reverse("web:notice", args=[notice.pk])).status_code == 200


def test_comments_are_added_with_htmx_and_return_the_fragment(people, make_alert, client_for):
    alert = make_alert()
    r = client_for(people.kunshan_verifier).post(
        reverse("web:comment_create", args=[alert.pk]), {"text": "看一下"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert "看一下" in body and "<html" not in body


def test_an_action_form_fragment_is_only_served_to_who_may_act(people, make_alert, client_for):
    alert = make_alert(status="disposing", assignee=people.kunshan_verifier, conclusion="substantiated")
    url = reverse("web:alert_action_form", args=[alert.pk, "dispose"])
    r = client_for(people.kunshan_supervisor).get(url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-testid="do-dispose"' in r.content.decode()
    assert client_for(people.kunshan_verifier).get(url, HTTP_HX_REQUEST="true").status_code == 403
    assert client_for(people.changshu_supervisor).get(url, HTTP_HX_REQUEST="true").status_code == 404
    assert client_for(people.kunshan_supervisor).get(
        reverse("web:alert_action_form", args=[alert.pk, "close"]), HTTP_HX_REQUEST="true").status_code == 403
