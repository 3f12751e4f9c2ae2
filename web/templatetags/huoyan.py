from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alerts.policy import may_in_warehouse
from alerts.states import ActionKind, Outcome
from core.masking import mask_id_number, mask_value
from web import text
from web.filters import removable_filters
from workflow.deadlines import is_overdue, timeliness_of
from workflow.models import EscalationStep

register = template.Library()

TIMELINESS_LABELS = {"green": _("In time"), "yellow": _("Due soon"), "red": _("Overdue")}


@register.filter
def timeliness(alert: Any) -> str:
    return timeliness_of(alert)


@register.filter
def timeliness_label(alert: Any) -> str:
    return str(TIMELINESS_LABELS[timeliness_of(alert)])


@register.filter
def overdue(alert: Any) -> bool:
    return is_overdue(alert)


@register.filter
def mask(value: str | None) -> str:
    """`320583199001011234` → `3205**********1234` (see core.masking)."""
    return mask_id_number(str(value)) if value else ""


@register.filter
def pii(value: object, full: object = False) -> object:
    """`{{ text|pii:full_pii }}`: the value itself for those handling the case, else masked."""
    return value if full else mask_value(value)


@register.filter
def mask_pii(value: object) -> object:
    """ID and phone numbers inside text or a data snapshot, masked."""
    return mask_value(value)


@register.filter
def percent(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value) * 100:.1f}%"


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **kwargs: Any) -> str:
    """The current query string with some parameters replaced (for pagination and drill-downs)."""
    request = context["request"]
    params: QueryDict = request.GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.simple_tag
def drill(**kwargs: Any) -> str:
    """A query string for the alert list from non-empty keyword arguments."""
    params = QueryDict(mutable=True)
    for key, value in kwargs.items():
        if value not in (None, ""):
            params[key] = value
    return params.urlencode()


@register.simple_tag(takes_context=True)
def filter_chips(context: template.Context, form: Any) -> list[dict[str, str]]:
    """The filters in force, each with the link that removes it (see web.filters)."""
    return removable_filters(context["request"], form)


@register.simple_tag
def colon() -> str:
    """The label colon of the current language: `核查结论：` / `Conclusion: `."""
    return text.colon()


@register.filter
def yuan(value: object) -> str:
    """`¥4,860,000.00`."""
    return text.yuan(value)


@register.filter
def prose_date(value: Any) -> str:
    """`2026年12月28日` / `December 28, 2026`, for dates inside sentences."""
    return text.prose_date(value)


@register.filter
def may_warehouse(user: Any) -> bool:
    """The model warehouse is in the user's navigation when the policy lets them read it."""
    return may_in_warehouse(user, "model.read")


@register.simple_tag
def confirm_text(alert: Any, name: str) -> str:
    """`data-confirm` for a step that cannot be undone (empty for the others)."""
    return text.confirmation(alert, name)


@register.filter
def timeline_text(entry: Any) -> str:
    """The text of a timeline entry in the reader's language. What the system wrote (escalation
    steps, extension decisions, the list of notices issued) is rebuilt from the entry's data, so
    it is not frozen in the language that was active when it was written; people's words are
    shown as written."""
    data = entry.data or {}
    try:
        if entry.kind == "escalation" and data.get("step") in EscalationStep.Step.values:
            return str(EscalationStep.Step(data["step"]).label)
        if entry.action in ("extension_approved", "extension_refused") and "days" in data:
            if entry.action == "extension_refused":
                return gettext("Extension of %(days)d working days refused.") % {"days": data["days"]}
            due = text.prose_date(datetime.fromisoformat(data["due_at"])) if data.get("due_at") else ""
            return gettext("Extension of %(days)d working days approved; new deadline %(due)s.") % {
                "days": data["days"], "due": due}
        if entry.action == "apply_results" and data.get("actions"):
            parts = entry.text.split("; ")
            if len(parts) == len(data["actions"]):
                return "; ".join(
                    f"{ActionKind(kind).label}{text.colon()}{part.split(': ', 1)[-1]}"
                    for kind, part in zip(data["actions"], parts, strict=True)
                )
    except (KeyError, TypeError, ValueError):
        pass
    return entry.text
@register.filter
def outcome_label(value: str) -> str:
    """A disposition's outcome code in the reader's language."""
    return str(Outcome(value).label) if value in Outcome.values else ""


@register.filter
def split_words(value: str) -> list[str]:
    return value.split()
