"""The one place that answers "may this user do that": every transition, findings, comments,
extensions, rectification feedback, full personal data, responsibility for a stage and the
model warehouse's actions. Services call it under the row lock; screens and the API call the
same functions to decide what to offer. Scope (own unit and below) is applied by the selectors
first: a rule here never widens what a user sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from alerts.models import Alert
from alerts.states import Status
from alerts.transitions import TRANSITIONS

# Who may take each transition: a role that may act on any alert in scope, the assignee, or the
# verifier re-checking a closed alert.
ASSIGNEE = "assignee"
RECHECKER = "rechecker"
TRANSITION_ACTORS: dict[str, str] = {
    "assign": Role.SUPERVISOR,
    "accept": ASSIGNEE,
    "return": ASSIGNEE,
    "submit_verification": ASSIGNEE,
    "dispose": Role.SUPERVISOR,
    "apply_results": Role.SUPERVISOR,
    "close": Role.LEADER,
    "send_back": Role.LEADER,
    "dismiss": Role.SUPERVISOR,
    "merge": Role.SUPERVISOR,
    "unmerge": Role.SUPERVISOR,
    "refer": Role.SUPERVISOR,
    "accept_referral": Role.SUPERVISOR,
    "reject_referral": Role.SUPERVISOR,
    "reopen": RECHECKER,
}


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def has_transition_role(user: User, name: str) -> bool:
    """The user's role may take `name` on some alert (assignee-only steps need a verifier)."""
    actor = TRANSITION_ACTORS[name]
    return _role(user) == (Role.VERIFIER if actor in (ASSIGNEE, RECHECKER) else actor)


def acts_for_handling_unit(user: User, alert: Alert) -> bool:
    """An alert handled by another unit (提级办理 / 交叉核查) is acted on by that unit or above it;
    the owning unit keeps reading it."""
    if alert.handling_unit_id is None:
        return True
    return user.org_unit_id is not None and user.org_unit.contains(alert.handling_unit)


def is_transition_actor(user: User, alert: Alert, name: str) -> bool:
    """The user may take `name` on this alert, whatever its state: right role, the assignee
    where only the assignee may act, and the handling unit where another unit handles it."""
    if not has_transition_role(user, name):
        return False
    if TRANSITION_ACTORS[name] == ASSIGNEE:
        return alert.assignee_id == user.pk
    if TRANSITION_ACTORS[name] == RECHECKER:
        return is_rechecker(user, alert)
    return acts_for_handling_unit(user, alert)


def is_rechecker(user: User, alert: Alert) -> bool:
    """The verifier given this closed alert to re-check, while the re-check is pending."""
    return alert.recheck_items.filter(assignee_id=user.pk, outcome="pending").exists()


def may_assess(user: Any) -> bool:
    """Unit assessments, re-check samples and analysis reports are the leaders' tools."""
    return _role(user) in (Role.LEADER, Role.ADMIN)


def may_take(assignee: User, alert: Alert) -> bool:
    """`assignee` can be given the alert: an active verifier of the unit that handles it (the
    owning unit, or the handling unit when another one handles it) or of a unit below."""
    if assignee.role != Role.VERIFIER or not assignee.is_active or assignee.org_unit_id is None:
        return False
    handler = alert.handling_unit if alert.handling_unit_id else alert.org_unit
    return handler.contains(assignee.org_unit)


def may_cross_assign(by: User, alert: Alert, assignee: User) -> bool:
    """交叉核查 / 指定管辖: a supervisor of a unit above the owning unit may give the alert to a
    verifier of another unit below it (who then handles it)."""
    if _role(by) != Role.SUPERVISOR or by.org_unit_id is None or assignee.org_unit_id is None:
        return False
    if assignee.role != Role.VERIFIER or not assignee.is_active:
        return False
    above = by.org_unit.contains(alert.org_unit) and by.org_unit_id != alert.org_unit_id
    return above and by.org_unit.contains(assignee.org_unit)


def may_escalate_handling(user: User, alert: Alert) -> bool:
    """提级办理: a supervisor of a unit above the owning unit takes the open alert over."""
    if _role(user) != Role.SUPERVISOR or user.org_unit_id is None or not alert.is_open:
        return False
    if alert.handling_unit_id == user.org_unit_id:
        return False
    return user.org_unit.contains(alert.org_unit) and user.org_unit_id != alert.org_unit_id


def transitions_available_to(alert: Alert, user: User) -> list[str]:
    """Names of the transitions `user` may take on `alert` now (the alert is assumed in scope)."""
    return [
        name for name, spec in TRANSITIONS.items()
        if is_transition_actor(user, alert, name) and spec.allowed_from(alert)
    ]


def assignable_filter(alerts: Iterable[Alert]) -> Q:
    """The same rule as `may_take`, as a filter on users: verifiers who can take **every** one of
    `alerts` (nobody when their handling units have no common subtree). Apply it to a queryset
    already scoped to the dispatcher (`accounts.selectors.users_visible_to`)."""
    cond = Q(role=Role.VERIFIER, is_active=True, org_unit__isnull=False)
    for path in {(a.handling_unit if a.handling_unit_id else a.org_unit).path for a in alerts}:
        cond &= Q(org_unit__path__startswith=path)
    return cond


def assignable_verifiers(users: QuerySet[User], alerts: Iterable[Alert]) -> QuerySet[User]:
    """`users` (already in the dispatcher's scope) narrowed to those who may take all `alerts`."""
    return users.filter(assignable_filter(alerts))


def may_view_full_pii(user: User, alert: Alert | None = None) -> bool:
    """Supervisors (the alert is already known to be in their scope), and the assigned verifier."""
    role = _role(user)
    if role == Role.SUPERVISOR:
        return True
    return alert is not None and role == Role.VERIFIER and alert.assignee_id == user.pk


def may_add_finding(user: User, alert: Alert) -> bool:
    """Only the assignee records findings (the stage is checked separately: a 409, not a 403)."""
    return _role(user) is not None and alert.assignee_id == user.pk


def may_comment(user: User, alert: Alert) -> bool:
    """Anyone who can see the alert may comment on it, at any stage."""
    return _role(user) is not None


def stage_actor(alert: Alert) -> str:
    """Who has to act in the alert's current stage: `ASSIGNEE` while it is assigned or being
    verified, a leader while it is evaluated, a supervisor while it awaits dispatch, disposal or
    use of results (and for an assigned alert that somehow lost its assignee)."""
    if alert.status in (Status.ASSIGNED, Status.VERIFYING) and alert.assignee_id:
        return ASSIGNEE
    if alert.status == Status.EVALUATING:
        return Role.LEADER
    return Role.SUPERVISOR


def is_responsible(alert: Alert, user: User) -> bool:
    """The user is the one who has to act in the current stage (and so may ask for more time)."""
    if not alert.is_open:
        return False
    actor = stage_actor(alert)
    if actor == ASSIGNEE:
        return alert.assignee_id == user.pk
    return _role(user) == actor


def may_tag(user: Any) -> bool:
    """Free tags on alerts and models: supervisors, leaders and administrators (not verifiers)."""
    return getattr(user, "is_superuser", False) or _role(user) in (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)


def may_decide_extension(user: User) -> bool:
    return _role(user) == Role.SUPERVISOR


def may_record_feedback(user: User) -> bool:
    return _role(user) == Role.SUPERVISOR


def may_review_feedback(user: User) -> bool:
    """Accept or reject a reply to a notice (the supervisor who tracks the ledger)."""
    return _role(user) == Role.SUPERVISOR


def may_manage_notices(user: User) -> bool:
    """Withdraw (作废) and re-issue notices."""
    return _role(user) == Role.SUPERVISOR


def may_close_with_open_orders(user: User) -> bool:
    """Close an alert whose orders lack accepted feedback, giving a reason (the leader who closes)."""
    return _role(user) == Role.LEADER


def may_build_case_file(user: User) -> bool:
    """Anyone who can see the alert may download its case file (案卷); personal data in it is
    masked unless `may_view_full_pii`."""
    return _role(user) is not None


# ----- screens -----
# Which role works on which screen. Every screen shows only what is in the user's scope; this
# map decides who may open it at all (403 otherwise) and what the navigation offers.

SCREENS: dict[str, frozenset[str]] = {
    "dispatch": frozenset({Role.SUPERVISOR}),
    "disposal": frozenset({Role.SUPERVISOR}),
    "extensions": frozenset({Role.SUPERVISOR}),
    "my_work": frozenset({Role.VERIFIER}),
    "verify": frozenset({Role.VERIFIER}),
    "evaluation": frozenset({Role.LEADER}),
    "dashboard": frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN}),
    "extension_request": frozenset({Role.VERIFIER, Role.SUPERVISOR, Role.LEADER}),
    "two_factor": frozenset({Role.LEADER, Role.ADMIN}),
    "assessment": frozenset({Role.LEADER, Role.ADMIN}),
    "rechecks": frozenset({Role.VERIFIER}),
    "ledger": frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN}),
    # Replies to notices (record, accept, reject), withdrawing and re-issuing notices.
    "notices": frozenset({Role.SUPERVISOR}),
}


def may_open(user: Any, screen: str) -> bool:
    """The user's role works on `screen` (a key of SCREENS; an unknown screen is refused)."""
    if screen == "two_factor" and getattr(user, "is_superuser", False):
        return True
    return screen in SCREENS and _role(user) in SCREENS[screen]


def screens_for(user: Any) -> dict[str, bool]:
    """What the navigation may offer this user."""
    return {screen: may_open(user, screen) for screen in SCREENS}


# ----- the model warehouse -----
#
# Supervisors and administrators build and run models; verifiers and leaders read (lists, cards,
# datasets, runs, hits, results). An action that is not in this map is refused, never read as a
# read. Source systems append rows with their API key (checked by unit in dataset_rows_append).

WAREHOUSE_WRITERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
WAREHOUSE_READERS = frozenset(Role.values)

WAREHOUSE_PERMISSIONS: dict[str, frozenset[str]] = {
    "dataset.read": WAREHOUSE_READERS,
    "dataset.upload": WAREHOUSE_WRITERS,
    "model.read": WAREHOUSE_READERS,
    "model.create": WAREHOUSE_WRITERS,
    "model.update": WAREHOUSE_WRITERS,  # edits, activate / retire / back to draft, schedule
    "model.copy": WAREHOUSE_WRITERS,
    "run.read": WAREHOUSE_READERS,  # runs, hits, results
    "run.start": WAREHOUSE_WRITERS,
    # Masked and read-only, but it runs a query: only those who build models (issue 10, DoS).
    "spec.preview": WAREHOUSE_WRITERS,
    "project.read": WAREHOUSE_READERS,  # special supervision projects led by or deployed to one's unit
    "project.manage": WAREHOUSE_WRITERS,  # create, edit, deploy, delete (the lead unit and above)
    "indicator.read": WAREHOUSE_READERS,  # business systems' embedded indicators and their results
    "indicator.update": WAREHOUSE_WRITERS,  # name, module, threshold, owning department
}


def may_in_warehouse(user: Any, action: str) -> bool:
    """True when `user` may do `action` in the warehouse; superusers count as administrators.
    An action the map does not list is refused."""
    if action not in WAREHOUSE_PERMISSIONS or _role(user) is None:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return _role(user) in WAREHOUSE_PERMISSIONS[action]
