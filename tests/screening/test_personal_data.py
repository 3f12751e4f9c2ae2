"""Dataset previews and hit lists mask ID and phone numbers for everyone."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
ID = "32058319900101123X"
CSV = (f"报销人,身份证,电话,品名,金额\n张三,{ID},13812345678,景区门票,800\n"
       "李四,110105194912310021,13900001111,打印纸,30\n")


def test_dataset_preview_is_masked_in_api_and_screen(api, client, people, make_dataset):
    ds = make_dataset(CSV)
    body = str(api(people.kunshan_supervisor).get(f"/api/v1/datasets/{ds.pk}/preview/").json())
    assert ID not in body and "13812345678" not in body and "3205**********123X" in body
    client.force_login(people.kunshan_supervisor)
    html = client.get(f"/screening/datasets/{ds.pk}/").content.decode()
    assert ID not in html and "138****5678" in html


def test_hits_are_masked(api, people, make_dataset, run_model):
    ds = make_dataset(CSV)
    _model, run = run_model("keyword_match", {"conditions": [{"field": "品名", "any_of": ["景区"]}],
                                              "subject_field": "身份证"}, {"records": ds})
    body = str(api(people.kunshan_supervisor).get(f"/api/v1/screening-runs/{run.pk}/hits/").json())
    assert run.hit_count == 1 and ID not in body and "3205**********123X" in body


def test_typical_cases_on_the_model_card_are_masked(client, people, make_dataset, run_model):
    from django.utils import timezone

    from alerts.models import Alert
    from alerts.states import Conclusion, Status

    ds = make_dataset(CSV)
    model, run = run_model("keyword_match", {"conditions": [{"field": "品名", "any_of": ["景区"]}],
                                             "subject_field": "身份证"}, {"records": ds})
    assert run.hit_count == 1
    alert = Alert.objects.get()
    assert ID in alert.title  # the alert itself keeps the full value for those handling the case
    Alert.objects.filter(pk=alert.pk).update(status=Status.CLOSED, conclusion=Conclusion.SUBSTANTIATED,
                                             closed_at=timezone.now())
    client.force_login(people.kunshan_supervisor)
    html = client.get(f"/screening/models/{model.pk}/").content.decode()
    assert f"/alerts/{alert.pk}/" in html  # in scope: linked to the alert
    assert ID not in html and "13812345678" not in html and "3205**********123X" in html
