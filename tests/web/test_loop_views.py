"""The closed loop driven through the screens' endpoints with the Django test client."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from alerts.models import Alert
from alerts.states import Status
from cases.models import Evidence, ResultAction

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_whole_loop_runs_through_the_screens(people, make_alert, client_for):
    alert = make_alert(title="围标串标嫌疑", subject_id_number="320583199001011234")
    sup, ver, lead = (client_for(people.kunshan_supervisor), client_for(people.kunshan_verifier),
                      client_for(people.city_leader))

    r = sup.get(reverse("web:dispatch"))
    assert r.status_code == 200 and "围标串标嫌疑" in r.content.decode()
    r = sup.post(reverse("web:dispatch_bulk"), {
        "alert_ids": [alert.pk], "action": "assign", "assignee": people.kunshan_verifier.pk, "note": "请核查",
    })
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Status.ASSIGNED

    r = ver.get(reverse("web:my_work"))
    assert f'data-alert="{alert.pk}"' in r.content.decode()
    r = ver.post(reverse("web:alert_action", args=[alert.pk, "accept"]))
    assert r.status_code == 302
    r = ver.post(reverse("web:verify", args=[alert.pk]), {
        "method": "site_visit", "text": "现场核实", "photos": [SimpleUploadedFile("site.png", PNG)],
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    evidence = Evidence.objects.get(finding__alert=alert)
    r = ver.get(reverse("web:evidence", args=[evidence.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    r = ver.post(reverse("web:alert_action", args=[alert.pk, "submit_verification"]), {
        "submit_verification-conclusion": "substantiated", "submit_verification-summary": "属实",
    })
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Status.DISPOSING

    r = sup.get(reverse("web:disposal"))
    assert f'data-alert="{alert.pk}"' in r.content.decode()
    r = sup.post(reverse("web:alert_action", args=[alert.pk, "dispose"]), {
        "dispose-outcome": "form_1", "dispose-amount_recovered": "1200.50", "dispose-case_filed": "on",
    })
    assert r.status_code == 302
    r = sup.post(reverse("web:alert_action", args=[alert.pk, "apply_results"]), {
        "actions-TOTAL_FORMS": "2", "actions-INITIAL_FORMS": "0", "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "10", "actions-0-kind": "work_notice", "actions-0-recipient": "昆山市住建局",
        "actions-0-text": "请整改", "actions-0-due_date": "2030-01-31",
    })
    assert r.status_code == 302, r.content.decode()[:3000]
    notice = ResultAction.objects.get(alert=alert)
    r = sup.get(reverse("web:notice", args=[notice.pk]))
    assert r.status_code == 200 and "昆山市住建局" in r.content.decode()
    # The notice asks for a reply: it holds the alert open until the reply is accepted.
    sup.post(reverse("web:feedback", args=[notice.pk]), {"feedback": "已整改"})
    sup.post(reverse("web:feedback_review", args=[notice.pk]), {"decision": "accept"})

    r = lead.get(reverse("web:evaluation"))
    assert f'data-alert="{alert.pk}"' in r.content.decode()
    r = lead.get(reverse("web:dashboard"))
    assert r.status_code == 200
    r = lead.post(reverse("web:alert_action", args=[alert.pk, "close"]), {"close-score": "5", "close-comment": "好"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Status.CLOSED
    r = lead.get(reverse("web:alert_detail", args=[alert.pk]))
    body = r.content.decode()
    assert "3205**********1234" in body and "320583199001011234" not in body
    r = lead.get(reverse("web:dashboard"))
    assert r.context["data"]["totals"]["closure_rate"] == 1


def test_validation_errors_from_the_form_are_shown_not_raised(people, make_alert, client_for):
    alert = make_alert()
    sup = client_for(people.kunshan_supervisor)
    r = sup.post(reverse("web:alert_action", args=[alert.pk, "dismiss"]), {"dismiss-reason": "bogus"})
    # Post/redirect/get: back to the alert's page, which shows the form again with its error.
    assert r.status_code == 302 and r["Location"] == reverse("web:alert_detail", args=[alert.pk]) + "#act-dismiss"
    assert Alert.objects.get(pk=alert.pk).status == Status.WARNING
    page = sup.get(r["Location"])
    assert page.status_code == 200
    assert page.context["forms"]["dismiss"].errors["reason"]
