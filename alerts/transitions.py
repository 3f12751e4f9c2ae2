"""The transition table: each transition's API name, its method on `Alert` (where django-fsm-2
declares its source and target states) and its label. Who may take it is `alerts.policy`; its
body is `api.serializers.workflow.TRANSITION_BODIES`, its form `web.forms.TRANSITION_FORMS`, its
timeline entry `cases.timeline.TRANSITION_WRITERS`; `tests/alerts/test_registries.py` checks that
all of them name the same transitions."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from alerts.models import Alert


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    method: str
    label: Promise

    def allowed_from(self, alert: Alert) -> bool:
        return can_proceed(getattr(alert, self.method))


TRANSITIONS: dict[str, TransitionSpec] = {
    spec.name: spec
    for spec in [
        TransitionSpec("assign", "assign", _("Assign")),
        TransitionSpec("accept", "accept", _("Sign for")),
        TransitionSpec("return", "return_", _("Return")),
        TransitionSpec("submit_verification", "submit_verification", _("Submit conclusion")),
        TransitionSpec("dispose", "dispose", _("Record disposition")),
        TransitionSpec("apply_results", "apply_results", _("Issue results")),
        TransitionSpec("close", "close", _("Close")),
        TransitionSpec("send_back", "send_back", _("Send back")),
        TransitionSpec("dismiss", "dismiss", _("Dismiss")),
        TransitionSpec("merge", "merge", _("Merge into a lead")),
        TransitionSpec("unmerge", "unmerge", _("Undo the merge")),
        TransitionSpec("refer", "refer", _("Refer to the department to correct")),
        TransitionSpec("accept_referral", "accept_referral", _("Accept the department's correction")),
        TransitionSpec("reject_referral", "reject_referral", _("Reject the department's reply")),
        TransitionSpec("reopen", "reopen", _("Reopen: the re-check found a problem")),
    ]
}
