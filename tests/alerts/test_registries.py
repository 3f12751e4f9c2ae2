"""Adding a transition touches several registries; they must all name the same transitions."""

from __future__ import annotations

import inspect

from django.urls import reverse
from django_fsm import FSMField

from alerts.models import Alert
from alerts.policy import TRANSITION_ACTORS
from alerts.transitions import TRANSITIONS
from api.serializers.workflow import TRANSITION_BODIES
from cases.timeline import TRANSITION_WRITERS
from web.forms import TRANSITION_FORMS
from workflow.services import _DISPATCH


def _fsm_methods() -> set[str]:
    """Methods of Alert that django-fsm-2 declares as transitions."""
    return {
        name for name, member in inspect.getmembers(Alert, predicate=callable)
        if getattr(member, "_django_fsm", None) is not None
    }


def test_every_transition_has_its_fsm_method_and_every_fsm_method_a_transition():
    assert {spec.method for spec in TRANSITIONS.values()} == _fsm_methods()
    assert isinstance(Alert._meta.get_field("status"), FSMField)


def test_every_registry_names_exactly_the_transitions_of_the_table():
    names = set(TRANSITIONS)
    assert len(names) == 15
    registries = {
        "policy (alerts.policy.TRANSITION_ACTORS)": TRANSITION_ACTORS,
        "service (workflow.services)": _DISPATCH,
        "API body (TRANSITION_BODIES)": TRANSITION_BODIES,
        "screen form (TRANSITION_FORMS)": TRANSITION_FORMS,
        "timeline writer (cases.timeline.TRANSITION_WRITERS)": TRANSITION_WRITERS,
    }
    for where, registry in registries.items():
        assert set(registry) == names, f"{where} disagrees: {sorted(set(registry) ^ names)}"


def test_every_transition_has_an_api_url():
    for name in TRANSITIONS:
        assert reverse(f"alert-transition-{name}", kwargs={"pk": 1}) == f"/api/v1/alerts/1/transitions/{name}/"
