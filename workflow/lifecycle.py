"""Who may take which transition. The states and the transitions themselves are declared once,
on `alerts.models.Alert` (django-fsm-2); this table adds the API name and the actor rule, so who
may do what is readable in one place."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from accounts.models import Role, User
from alerts.models import Alert


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    method: str
    label: Promise
    # Either a role that may act on any alert in scope, or only the current assignee.
    role: str | None = None
    assignee_only: bool = False

    def actor_has_role(self, user: User) -> bool:
        if self.assignee_only:
            return user.role == Role.VERIFIER
        return user.role == self.role

    def actor_may(self, alert: Alert, user: User) -> bool:
        if self.assignee_only:
            return alert.assignee_id == user.pk
        return self.actor_has_role(user)

    def allowed_from(self, alert: Alert) -> bool:
        return can_proceed(getattr(alert, self.method))


TRANSITIONS: dict[str, TransitionSpec] = {
    spec.name: spec
    for spec in [
        TransitionSpec("assign", "assign", _("Assign"), role=Role.SUPERVISOR),
        TransitionSpec("accept", "accept", _("Sign for"), assignee_only=True),
        TransitionSpec("return", "return_", _("Return"), assignee_only=True),
        TransitionSpec("submit_verification", "submit_verification", _("Submit conclusion"), assignee_only=True),
        TransitionSpec("dispose", "dispose", _("Record disposition"), role=Role.SUPERVISOR),
        TransitionSpec("apply_results", "apply_results", _("Issue results"), role=Role.SUPERVISOR),
        TransitionSpec("close", "close", _("Close"), role=Role.LEADER),
        TransitionSpec("send_back", "send_back", _("Send back"), role=Role.LEADER),
        TransitionSpec("dismiss", "dismiss", _("Dismiss"), role=Role.SUPERVISOR),
    ]
}


def transitions_available_to(alert: Alert, user: User) -> list[str]:
    """Names of the transitions `user` may take on `alert` now (the alert is assumed in scope)."""
    return [
        name for name, spec in TRANSITIONS.items()
        if spec.allowed_from(alert) and spec.actor_has_role(user) and spec.actor_may(alert, user)
    ]
