"""The access matrix, generated from the OpenAPI schema: every operation × every role × own unit,
parent city, sibling county and no unit — for an alert its own county handles, one the city took
over (提级办理) and one the city gave to a third county to verify (交叉核查).

A "world" of one object of every kind lives in kunshan, each carrying a marker string. For
someone in a sibling county or in no unit, every operation on those objects must answer exactly
what it answers for an id that does not exist — same status, same body, never a 2xx — and no
response to any operation, list or count may contain the marker. People in kunshan and in the
parent city read every object.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from accounts.models import Role
from alerts.subjects import SubjectIdentity, subjects_resolve
from cases.models import ResultAction
from cases.services import comment_add, finding_add
from screening import services as screening
from tests.api.helpers import drive
from tests.factories import OrgUnitFactory, UserFactory
from workflow import services as wf
from workflow.extensions import extension_request
from workflow.handling import alert_escalate_handling
from workflow.models import Notification
from workflow.notify import Message, notify_many

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MARK = "KSMARK7319"
MISSING = 987654321
_SPEC = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
OPERATIONS = sorted(
    (path, method)
    for path, item in _SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)
# Paths whose {id} names a kind of object of the world (first path segment after /api/v1/).
KIND = {"alerts": "alert", "datasets": "dataset", "evidence": "evidence", "extensions": "extension",
        "notifications": "notification", "rectification-orders": "order", "screening-models": "model",
        "screening-runs": "run", "users": "user", "subjects": "subject"}
OUTSIDERS = ["changshu_supervisor", "changshu_verifier", "changshu_leader", "nobody"]
INSIDERS = ["kunshan_supervisor", "kunshan_verifier", "city_leader", "city_supervisor"]
# Authenticated by a source system's key, not a user: covered by tests/screening and test_intake.
SOURCE_ONLY = {"/api/v1/datasets/{id}/rows/", "/api/v1/intake/alerts/"}


@pytest.fixture(params=["own county", "taken over by the city", "cross-verified by a third county"])
def world(request, people, org, make_alert, django_capture_on_commit_callbacks):
    subject = subjects_resolve([SubjectIdentity(name=f"{MARK} 公司", credit_code="91320583MARK73190")])
    alert = make_alert(org_unit=org.kunshan, title=f"{MARK} 预警", subject_id=next(iter(subject.values())))
    verifier = people.kunshan_verifier
    if request.param == "cross-verified by a third county":
        taicang = OrgUnitFactory(code="taicang", name="太仓市", parent=org.city)
        verifier = UserFactory(username="taicang_verifier", role=Role.VERIFIER, org_unit=taicang)
        wf.alert_assign(alert_id=alert.pk, by=people.city_supervisor, assignee=verifier, cross_unit=True)
        wf.alert_accept(alert_id=alert.pk, by=verifier)
    else:
        drive(alert, "verifying", supervisor=people.kunshan_supervisor, verifier=verifier)
    if request.param == "taken over by the city":
        alert_escalate_handling(alert_id=alert.pk, by=people.city_supervisor, reason=f"{MARK} 提级")
    comment_add(alert_id=alert.pk, author=people.city_supervisor, text=f"{MARK} 评论")
    finding = finding_add(alert_id=alert.pk, author=verifier, text=f"{MARK} 发现", method="site_visit",
                          files=[SimpleUploadedFile("a.txt", MARK.encode())])
    extension = extension_request(alert_id=alert.pk, by=verifier, days=2, reason=f"{MARK} 延期")
    closed = drive(make_alert(org_unit=org.kunshan, title=f"{MARK} 整改"), "evaluating",
                   supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    order = ResultAction.objects.create(alert=closed, issued_by=people.kunshan_supervisor, kind="rectification_order",
                                        recipient=f"{MARK} 单位", text=f"{MARK} 整改令")
    notify_many([Message(kind="assigned", title=f"{MARK} 通知", body=MARK, recipients=[people.kunshan_verifier],
                         alert=alert)])
    dataset = screening.dataset_create(
        name=f"{MARK} 数据", org_unit=org.kunshan, by=people.kunshan_supervisor,
        upload=SimpleUploadedFile("d.csv", f"报销人,品名,金额\n{MARK}甲,景区门票,800\n".encode()),
    )
    model = screening.screening_model_create(
        by=people.kunshan_supervisor, name=f"{MARK} 模型", org_unit=org.kunshan, datasets={"records": dataset},
        template="keyword_match", params={"conditions": [{"field": "品名", "any_of": ["景区"]}],
                                          "subject_field": "报销人"}, status="active",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = screening.screening_run_start(model=model, by=people.kunshan_supervisor)
    note = Notification.objects.filter(recipient=people.kunshan_verifier).latest("id")
    return {"alert": alert.pk, "dataset": dataset.pk, "evidence": finding.evidence.get().pk,
            "extension": extension.pk, "notification": note.pk,
            "order": order.pk, "model": model.pk, "run": run.pk, "user": people.kunshan_verifier.pk,
            "subject": alert.subject_id}


def _call(client, method: str, url: str):
    body = {} if method in ("post", "put", "patch") else None
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def _text(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _url(path: str, object_id: int) -> str:
    return path.replace("{id}", str(object_id))


def test_outsiders_learn_nothing_from_any_operation(api, people, world):
    checked = 0
    for path, method in OPERATIONS:
        if path in SOURCE_ONLY or path in ("/api/v1/auth/token/",):
            continue
        kind = KIND.get(re.match(r"/api/v1/([^/]+)/", path).group(1)) if "{id}" in path else None
        for who in OUTSIDERS:
            client = api(getattr(people, who))
            if kind:
                theirs = _call(client, method, _url(path, world[kind]))
                missing = _call(client, method, _url(path, MISSING))
                assert not 200 <= theirs.status_code < 300, (who, method, path, theirs.status_code)
                assert (theirs.status_code, _text(theirs)) == (missing.status_code, _text(missing)), (
                    who, method, path)
            else:
                theirs = _call(client, method, path)
            assert MARK not in _text(theirs), (who, method, path)
            checked += 1
    assert checked > 100  # the schema really was walked


def test_outsiders_counts_leave_the_world_out(api, people, world):
    for who in OUTSIDERS:
        stats = api(getattr(people, who)).get("/api/v1/stats/overview/").json()
        assert stats["total"] == 0, who
        assert api(getattr(people, who)).get("/api/v1/screening-runs/").json()["count"] == 0, who


@pytest.mark.parametrize("who", INSIDERS)
def test_insiders_read_every_object(api, people, world, who):
    client = api(getattr(people, who))
    reads = ["/api/v1/alerts/{alert}/", "/api/v1/alerts/{alert}/timeline/", "/api/v1/alerts/{alert}/comments/",
             "/api/v1/alerts/{alert}/findings/", "/api/v1/evidence/{evidence}/download/", "/api/v1/datasets/{dataset}/",
             "/api/v1/screening-models/{model}/", "/api/v1/screening-runs/{run}/",
             "/api/v1/screening-runs/{run}/hits/", "/api/v1/users/{user}/", "/api/v1/subjects/{subject}/"]
    for template in reads:
        url = template.format(**world)
        assert client.get(url).status_code == 200, (who, url)
