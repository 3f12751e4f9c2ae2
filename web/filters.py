"""The alert-list filter shared by the list, its exports, the boards and the dashboard's drill-downs.

Every queryset it filters already comes from `alerts.selectors` (the user's scope); the unit
filter can only narrow that scope, never widen it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import units_visible_to
from alerts.models import Alert, Domain, RiskLevel, SourceIndicator, SourceSystem
from alerts.states import Conclusion, Outcome, Status
from alerts.tags import MAX_TAG_LENGTH
from cases.people import PERSON_FILTERS
from web.text import colon
from workflow.alert_filters import alerts_filtered, filters_as_json

AGE_CHOICES = [
    ("", _("Any age")),
    ("1", _("Older than 1 day")),
    ("3", _("Older than 3 days")),
    ("7", _("Older than 7 days")),
    ("30", _("Older than 30 days")),
]

STATE_CHOICES = [
    ("", _("Open and closed")),
    ("open", _("Open")),
    ("closed", _("Closed")),
    ("overdue", _("Overdue")),
    ("dismissed", _("Dismissed")),
]

DISPOSITION_CHOICES = [
    ("", _("With or without a disposition")),
    ("any", _("With a disposition")),
    ("case_filed", _("Case filed")),
]

CONCLUSION_CHOICES = [
    ("", _("Any conclusion")),
    ("substantiated_any", _("Substantiated or partly")),
    *Conclusion.choices,
]


def sources_visible_to(user: User) -> QuerySet[SourceSystem]:
    """Sources that may raise alerts in the user's scope: those of the user's unit, the units
    below it, and the units above it (a city feed raises alerts for its counties)."""
    if not user.is_authenticated or user.org_unit_id is None:
        return SourceSystem.objects.none()
    path = user.org_unit.path
    parts = path.strip("/").split("/")
    ancestors = ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    return SourceSystem.objects.filter(
        Q(org_unit__path__startswith=path) | Q(org_unit__path__in=ancestors)
    ).order_by("name")


def _blank(label):  # noqa: ANN001, ANN202
    return [("", label)]


def validate_sane_date(value: date) -> None:
    """Dates far outside the system's life would overflow date arithmetic (a 500): refuse them."""
    if not 1900 <= value.year <= 2100:
        raise forms.ValidationError(_("Give a date between 1900 and 2100."))


class AlertFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=100,
        # Inside ID and phone numbers only the digits shown match (alerts.search): say so.
        widget=forms.TextInput(attrs={"placeholder": _("Title, subject, or a whole ID / phone number")}),
    )
    state = forms.ChoiceField(label=_("Open / closed"), choices=STATE_CHOICES, required=False)
    status = forms.ChoiceField(label=_("Stage"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    risk = forms.ChoiceField(label=_("Risk level"), required=False)
    domain = forms.ChoiceField(label=_("Domain"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=MAX_TAG_LENGTH,
                          widget=forms.TextInput(attrs={"placeholder": _("A whole tag, e.g. a project's name")}))
    age = forms.ChoiceField(label=_("Age"), choices=AGE_CHOICES, required=False)
    conclusion = forms.ChoiceField(label=_("Conclusion"), choices=CONCLUSION_CHOICES, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    disposition = forms.ChoiceField(label=_("Disposition"), choices=DISPOSITION_CHOICES, required=False)
    created_from = forms.DateField(
        label=_("Raised from"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_sane_date],
    )
    created_to = forms.DateField(
        label=_("Raised to"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_sane_date],
    )
    # Set by the dashboard's "own unit only" row: that unit exactly, not the units below it.
    unit_only = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Set by the dashboard's drill-downs: closed within a trend bucket; left a given stage.
    closed_from = forms.DateField(required=False, widget=forms.HiddenInput, validators=[validate_sane_date])
    closed_to = forms.DateField(required=False, widget=forms.HiddenInput, validators=[validate_sane_date])
    left_stage = forms.ChoiceField(required=False, widget=forms.HiddenInput,
                                   choices=[("", "")] + list(Status.choices))
    # Set by the dashboard's indicator figures: the alerts of one rule (an embedded indicator).
    rule = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # Set by the dashboard's people figures: alerts that dealt with someone in that form, etc.
    person = forms.ChoiceField(required=False, widget=forms.HiddenInput,
                               choices=[("", "")] + [(p, p) for p in PERSON_FILTERS])

    def __init__(self, *args, user: User, hide: tuple[str, ...] = (), request: HttpRequest | None = None,  # noqa: ANN002
                 **kwargs) -> None:  # noqa: ANN003
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request
        self.fields["status"].choices = _blank(_("Any stage")) + list(Status.choices)
        self.fields["risk"].choices = _blank(_("Any risk")) + list(RiskLevel.choices)
        self.fields["domain"].choices = _blank(_("Any domain")) + list(Domain.choices)
        self.fields["outcome"].choices = _blank(_("Any outcome")) + list(Outcome.choices)
        units = units_visible_to(user).values_list("code", "name", "path")
        self.fields["unit"].choices = _blank(_("All my units")) + [
            (code, "\u2003" * (path.count("/") - 1) + name) for code, name, path in units
        ]
        self.fields["source"].choices = _blank(_("Any source")) + [
            (str(pk), name) for pk, name in sources_visible_to(user).values_list("pk", "name")
        ]
        for name in hide:
            self.fields.pop(name, None)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def filter(self, qs: QuerySet[Alert], *, indexed: bool = True) -> QuerySet[Alert]:
        """The alerts of `qs` the filters keep; `indexed=False`: the same, the search without its
        index condition (see alerts.search)."""
        if not self.is_valid():
            # A filter that does not validate (e.g. a unit outside the scope) matches nothing,
            # so an export never silently falls back to the whole list.
            return qs.none()
        return alerts_filtered(qs, self.cleaned_data, user=self.user, request=self.request, indexed=indexed)

    def saved(self) -> dict[str, Any]:
        """The valid filters as JSON (for a background export that applies them later)."""
        return filters_as_json(self.cleaned_data) if self.is_bound and self.is_valid() else {}


# Labels for the filters the dashboard's drill-downs set without a visible field.
HIDDEN_FILTER_LABELS = {
    "unit_only": _("This unit only"),
    "closed_from": _("Closed from"),
    "closed_to": _("Closed to"),
    "left_stage": _("Left stage"),
    "rule": _("Indicator"),
}


def removable_filters(request: HttpRequest, form: AlertFilterForm) -> list[dict[str, str]]:
    """Every filter in force as a chip ("Stage: verifying ✕") with the link that drops it, so a
    drill-down's hidden filters are never applied unseen."""
    if not form.is_bound:
        return []
    chips = []
    for name, field in form.fields.items():
        value = request.GET.get(name, "")
        if value in ("", None):
            continue
        label = HIDDEN_FILTER_LABELS.get(name) or field.label or name
        if name == "unit_only":
            if value.lower() not in ("1", "true", "on"):
                continue
            text = str(label)
        elif name == "rule":
            # The indicator's name where the warehouse gives it one, else the rule as pushed.
            named = SourceIndicator.objects.filter(code=value).exclude(name="").values_list("name", flat=True).first()
            text = f"{label}{colon()}{named or value}"
        else:
            shown = value
            if isinstance(field, forms.ChoiceField):
                shown = str(_flat_choices(field.choices).get(value, value))
            text = f"{label}{colon()}{shown}"
        params = request.GET.copy()
        params.pop(name, None)
        for paging in ("page", "after", "before"):
            params.pop(paging, None)
        chips.append({"name": name, "text": text, "url": f"?{params.urlencode()}"})
    return chips


def _flat_choices(choices: Any) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, label in choices:
        if isinstance(label, (list, tuple)):
            flat.update({str(k): v for k, v in label})
        else:
            flat[str(key)] = str(label).strip("\u2003")
    return flat
