"""Small helpers for API tests: transition URLs and driving an alert to a stage."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from alerts.models import Alert
from alerts.states import ActionKind, Conclusion, Outcome
from workflow import services as wf


def transition_url(alert: Alert | int, name: str) -> str:
    pk = alert if isinstance(alert, int) else alert.pk
    return f"/api/v1/alerts/{pk}/transitions/{name}/"


def drive(alert: Alert, stage: str, *, supervisor: User, verifier: User, leader: User | None = None,
          conclusion: str = Conclusion.SUBSTANTIATED) -> Alert:
    """Take a warning alert through the services up to `stage`."""
    order = ["assigned", "verifying", "disposing", "applying", "evaluating", "closed"]
    steps = order[: order.index(stage) + 1]
    wf.alert_assign(alert_id=alert.pk, by=supervisor, assignee=verifier)
    if "verifying" in steps:
        wf.alert_accept(alert_id=alert.pk, by=verifier)
    if "disposing" in steps or (stage == "evaluating" and conclusion == Conclusion.UNFOUNDED):
        wf.alert_submit_verification(alert_id=alert.pk, by=verifier, conclusion=conclusion, summary="查明",
                                     justification="查无实据" if conclusion == Conclusion.UNFOUNDED else "")
    if "applying" in steps and conclusion != Conclusion.UNFOUNDED:
        wf.alert_dispose(alert_id=alert.pk, by=supervisor, outcome=Outcome.FORM_1)
    if "evaluating" in steps and conclusion != Conclusion.UNFOUNDED:
        wf.alert_apply_results(
            alert_id=alert.pk, by=supervisor,
            actions=[wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="某局", text="请整改")],
        )
    if "closed" in steps:
        assert leader is not None
        wf.alert_close(alert_id=alert.pk, by=leader, score=4)
    alert.refresh_from_db()
    return alert


def bodies(verifier: User) -> dict[str, dict[str, Any]]:
    """A valid body for every transition."""
    return {
        "assign": {"assignee": verifier.pk, "note": "请核查"},
        "accept": {},
        "return": {"reason": "不属于本单位"},
        "submit_verification": {"conclusion": "substantiated", "summary": "属实"},
        "dispose": {"outcome": "form_2", "case_filed": True, "amount_recovered": "1200.50", "note": "处置"},
        "apply_results": {"actions": [{"kind": "work_notice", "recipient": "某局", "text": "整改"}]},
        "close": {"score": 5, "comment": "好"},
        "send_back": {"stage": "verifying", "reason": "证据不足"},
        "dismiss": {"reason": "duplicate", "note": "重复"},
    }
