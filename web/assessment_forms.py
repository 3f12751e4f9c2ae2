"""Forms of the assessment screens: shape only; the rules are in `assessment`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import OrgUnit
from assessment.models import REOPEN_STAGES, AnalysisReport
from web.forms import StyledForm


class AssessmentFilterForm(StyledForm):
    period = forms.CharField(label=_("Period"), max_length=16,
                             help_text=_("A year (2026), a quarter (2026-Q4) or a month (2026-11)."))
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False,
                                  to_field_name="code", empty_label=_("My unit"))

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class RecheckDrawForm(StyledForm):
    period = forms.CharField(label=_("Period closed in"), max_length=16,
                             help_text=_("A year (2026), a quarter (2026-Q4) or a month (2026-11)."))
    units = forms.ModelMultipleChoiceField(label=_("Units"), queryset=OrgUnit.objects.none(), to_field_name="code",
                                           widget=forms.CheckboxSelectMultiple)
    size = forms.IntegerField(label=_("Alerts per unit"), min_value=1, max_value=500, required=False)
    ratio = forms.DecimalField(label=_("or a share of each unit's closed alerts"), min_value=Decimal("0.01"),
                               max_value=Decimal("1"), decimal_places=2, required=False,
                               help_text=_("e.g. 0.1 for one in ten"))

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = units


class RecheckOutcomeForm(StyledForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[
        ("", "—"), ("confirmed", _("Confirmed: handled properly")), ("problem_found", _("Problem found: reopen it")),
    ])
    stage = forms.ChoiceField(label=_("Reopen to"), required=False,
                              choices=[("", "—"), *[(s.value, s.label) for s in REOPEN_STAGES]])
    note = forms.CharField(label=_("What the re-check found"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("outcome") == "problem_found":
            if not data.get("stage"):
                self.add_error("stage", _("Choose the stage to reopen the alert to."))
            if not (data.get("note") or "").strip():
                self.add_error("note", _("Say what the re-check found."))
        return data


class ReportForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    period = forms.CharField(label=_("Period"), max_length=16,
                             help_text=_("A year (2026), a quarter (2026-Q4) or a month (2026-11)."))
    preset = forms.ChoiceField(label=_("Kind"), required=False,
                               choices=[("", _("Data-analysis special report")),
                                        ("four_winds", _("四风 periodic analysis"))])
    units = forms.ModelMultipleChoiceField(label=_("Units"), queryset=OrgUnit.objects.none(), to_field_name="code",
                                           widget=forms.CheckboxSelectMultiple, required=False)
    schedule = forms.ChoiceField(label=_("Repeat"), choices=AnalysisReport.Schedule.choices, required=False)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = units
