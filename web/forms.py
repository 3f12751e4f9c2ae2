"""Screen forms. They only shape input; every rule is enforced by the services they feed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.selectors import users_visible_to
from alerts.models import Alert
from alerts.policy import assignable_verifiers, may_take
from alerts.states import DISPOSAL_OUTCOMES, SEND_BACK_STAGES, ActionKind, Conclusion, DismissReason, Status
from cases.evidence import ALLOWED_EXTENSIONS, MAX_EVIDENCE_FILES, check_evidence_count
from cases.models import DispositionPerson, Finding
from web.filters import validate_sane_date
from workflow.notices import ActionInput, check_action, parse_copy_to
from workflow.services import PersonInput


class StyledForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                field.widget.attrs.setdefault("class", "input")


def verifiers_for(user: User):  # noqa: ANN201
    return users_visible_to(user).filter(role=Role.VERIFIER)


BLANK = "—"


class VerifierChoiceField(forms.ModelChoiceField):
    """Verifiers grouped by unit (one <optgroup> per unit, in tree order)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("empty_label", BLANK)
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: User) -> str:
        return obj.display_name

    def _get_choices(self):  # noqa: ANN202
        groups: dict[str, list[tuple[int, str]]] = {}
        for u in self.queryset.select_related("org_unit").order_by("org_unit__path", "username"):
            groups.setdefault(u.org_unit.name if u.org_unit else "", []).append(
                (u.pk, self.label_from_instance(u))
            )
        return [("", self.empty_label or BLANK), *groups.items()]

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class TransitionForm(StyledForm):
    """A transition's form: every one is built as `form(data, user=…, alert=…, prefix=…)` and hands
    the service its arguments with `service_data()` (see `transition_form`)."""

    def __init__(self, *args, user: User | None = None, alert: Alert | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class AssignForm(TransitionForm):
    assignee = VerifierChoiceField(label=_("Verifier"), queryset=User.objects.none())
    note = forms.CharField(label=_("Dispatch note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cross_unit = forms.BooleanField(
        label=_("Cross-verification (交叉核查): a verifier of another unit checks it"), required=False,
    )

    def __init__(self, *args, user: User | None = None, alert: Alert | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        qs = verifiers_for(user)
        handler = (alert.handling_unit or alert.org_unit) if alert is not None else None
        above = (
            alert is not None and user is not None and user.org_unit_id is not None
            and user.org_unit.contains(alert.org_unit) and user.org_unit_id != alert.org_unit_id
        )
        if handler is not None and not above:
            qs = assignable_verifiers(qs, [alert])
        if not above:
            # Cross-verification is offered only to a supervisor above the alert's unit.
            del self.fields["cross_unit"]
        self.fields["assignee"].queryset = qs


class BulkDispatchForm(StyledForm):
    ACTIONS = [("assign", _("Assign")), ("dismiss", _("Dismiss")), ("merge", _("Merge into a lead"))]

    alert_ids = forms.TypedMultipleChoiceField(coerce=int, label=_("Alerts"), error_messages={
        "required": _("Select at least one alert."),
    })
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = VerifierChoiceField(label=_("Verifier"), queryset=User.objects.none(), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    reason = forms.ChoiceField(
        label=_("Dismissal reason"), choices=[("", BLANK), *DismissReason.choices], required=False
    )
    into = forms.IntegerField(label=_("Lead alert number"), min_value=1, required=False)

    def __init__(self, *args, user: User, alerts: list[Alert], **kwargs) -> None:  # noqa: ANN002, ANN003
        """`alerts`: the selected alerts, already read through the dispatcher's scope."""
        super().__init__(*args, **kwargs)
        self.alerts = {a.pk: a for a in alerts}
        # Offered: the verifiers who can take every selected alert (all of them when none is).
        self.offered = assignable_verifiers(verifiers_for(user), alerts)
        self.fields["assignee"].queryset = verifiers_for(user) if self.is_bound else self.offered
        self.fields["alert_ids"].choices = [(i, i) for i in self.alerts]

    def clean(self):  # noqa: ANN201
        data = super().clean()
        assignee = data.get("assignee")
        if data.get("action") == "assign" and not assignee:
            self.add_error("assignee", _("Choose a verifier."))
        elif data.get("action") == "assign" and data.get("alert_ids"):
            # The whole batch or nothing: never a half-done assignment.
            misfits = [i for i in data["alert_ids"] if not may_take(assignee, self.alerts[i])]
            if misfits:
                self.add_error("assignee", _(
                    "%(who)s cannot take %(alerts)s: the assignee must belong to the alert's unit or a "
                    "unit below it. Nothing was assigned."
                ) % {"who": assignee.display_name, "alerts": "、".join(f"#{i}" for i in misfits)})
        if data.get("action") == "dismiss" and not data.get("reason"):
            self.add_error("reason", _("Choose a reason."))
        if data.get("action") == "merge":
            if not data.get("into"):
                self.add_error("into", _("Give the number of the lead alert."))
            if not (data.get("note") or "").strip():
                self.add_error("note", _("Say why they are one case."))
        return data


class ReturnForm(TransitionForm):
    reason = forms.CharField(label=_("Reason for returning"), widget=forms.Textarea(attrs={"rows": 2}))


class AcceptForm(TransitionForm):
    def service_data(self) -> dict[str, Any]:
        return {}


class SubmitVerificationForm(TransitionForm):
    conclusion = forms.ChoiceField(label=_("Conclusion"), choices=[("", BLANK), *Conclusion.choices])
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 4}))
    justification = forms.CharField(
        label=_("Why it is unfounded"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed for an unfounded conclusion when no finding is recorded."),
    )


class PersonForm(StyledForm):
    """One person dealt with; a row left blank is ignored."""

    name = forms.CharField(label=_("Full name"), required=False, max_length=64)
    position = forms.CharField(label=_("Position"), required=False, max_length=128)
    unit = forms.CharField(label=_("Work unit"), required=False, max_length=255)
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=32)
    form = forms.ChoiceField(label=_("Form of handling"), choices=DispositionPerson.Form.choices,
                             initial=DispositionPerson.Form.NONE)
    sanction = forms.ChoiceField(label=_("Sanction"), required=False,
                                 choices=[("", "—"), *DispositionPerson.Sanction.choices])
    case_filed = forms.BooleanField(label=_("Case filed (立案)"), required=False)
    detained = forms.BooleanField(label=_("Detained (留置)"), required=False)
    transferred = forms.BooleanField(label=_("Transferred to the judiciary (移送司法)"), required=False)

    def clean(self):  # noqa: ANN201
        data = super().clean()
        others = ("position", "unit", "id_number", "sanction", "case_filed", "detained", "transferred")
        if not data.get("name") and any(data.get(k) for k in others):
            self.add_error("name", _("This field is required."))
        return data


PersonFormSet = forms.formset_factory(PersonForm, extra=2, max_num=50)


class DisposeForm(TransitionForm):
    """The disposition and, in `people`, one row per person dealt with."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", BLANK), *DISPOSAL_OUTCOMES])
    case_filed = forms.BooleanField(label=_("Case filed (立案)"), required=False)
    amount_recovered = forms.DecimalField(
        label=_("Amount recovered (yuan)"), min_value=Decimal("0"), max_digits=18, decimal_places=2,
        initial=Decimal("0"),
    )
    amount_confiscated = forms.DecimalField(
        label=_("Amount confiscated (收缴, yuan)"), min_value=Decimal("0"), max_digits=18, decimal_places=2,
        initial=Decimal("0"), required=False,
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user: User | None = None, alert: Alert | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        # A post without the people rows (an older client) records a disposition without people.
        sent = self.is_bound and "people-TOTAL_FORMS" in self.data
        self.people = PersonFormSet(self.data if sent else None, prefix="people")

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return (not self.people.is_bound or self.people.is_valid()) and valid

    def service_data(self) -> dict[str, Any]:
        people = [
            PersonInput(**f.cleaned_data) for f in self.people.forms if f.cleaned_data.get("name")
        ] if self.people.is_bound else []
        data = {**self.cleaned_data, "people": people}
        data["amount_confiscated"] = data.get("amount_confiscated") or Decimal("0")
        return data


class ResultActionForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *ActionKind.choices], required=False)
    title = forms.CharField(
        label=_("Title"), required=False, max_length=255,
        help_text=_("What the recipient reads as the title; empty uses the kind's name."),
    )
    recipient = forms.CharField(label=_("Recipient (主送)"), required=False, max_length=255)
    copy_to = forms.CharField(
        label=_("Copy to (抄送)"), required=False, max_length=2000,
        help_text=_("Separate names with commas or 、."),
    )
    text = forms.CharField(label=_("Body"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    signer = forms.CharField(label=_("Signer"), required=False, max_length=64)
    due_date = forms.DateField(
        label=_("Reply due by"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Required for a rectification order."),
    )

    def action(self) -> ActionInput:
        d = self.cleaned_data
        return ActionInput(
            kind=d.get("kind") or "", recipient=d.get("recipient") or "", text=d.get("text") or "",
            due_date=d.get("due_date"), title=d.get("title") or "", copy_to=parse_copy_to(d.get("copy_to") or ""),
            signer=d.get("signer") or "",
        )

    def clean(self):  # noqa: ANN201
        data = super().clean()
        filled = any(data.get(k) for k in ("kind", "recipient", "text", "title", "copy_to", "signer", "due_date"))
        if filled and not self.errors:
            # The service's own check, so each error lands on its field of this notice.
            try:
                check_action(self.action())
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        self.add_error(field if field in self.fields else None, message)
        return data


class _ResultActionBaseFormSet(forms.BaseFormSet):
    """Issuing results: up to ten notices, recommendations or orders; blank rows are skipped."""

    def __init__(self, *args, user: User | None = None, alert: Alert | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict[str, Any]:
        return {"actions": [f.action() for f in self.forms if f.cleaned_data.get("kind")]}


ResultActionFormSet = forms.formset_factory(
    ResultActionForm, formset=_ResultActionBaseFormSet, extra=2, max_num=10,
)


class NoticeReissueForm(StyledForm):
    """A corrected notice in place of a withdrawn one (the kind stays)."""

    reason = forms.CharField(label=_("Why it is withdrawn and re-issued"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    title = forms.CharField(label=_("Title"), required=False, max_length=255)
    recipient = forms.CharField(label=_("Recipient (主送)"), max_length=255)
    copy_to = forms.CharField(label=_("Copy to (抄送)"), required=False, max_length=2000,
                              help_text=_("Separate names with commas or 、."))
    text = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 4}))
    signer = forms.CharField(label=_("Signer"), required=False, max_length=64)
    due_date = forms.DateField(label=_("Reply due by"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))

    def action(self, kind: str) -> ActionInput:
        d = self.cleaned_data
        return ActionInput(kind=kind, recipient=d["recipient"], text=d["text"], due_date=d.get("due_date"),
                           title=d.get("title") or "", copy_to=parse_copy_to(d.get("copy_to") or ""),
                           signer=d.get("signer") or "")


class CloseForm(TransitionForm):
    score = forms.TypedChoiceField(
        label=_("Quality score"), coerce=int, empty_value=None,
        choices=[("", BLANK), *[(i, str(i)) for i in range(5, 0, -1)]],
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("Reason for closing while an order has no accepted reply"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only needed when a rectification order's reply is not yet accepted; it is recorded."),
    )


class SendBackForm(TransitionForm):
    stage = forms.ChoiceField(
        label=_("Send back to"), choices=[("", BLANK), *[(s, Status(s).label) for s in SEND_BACK_STAGES]]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ReopenForm(SendBackForm):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["stage"].label = _("Reopen to")
        self.fields["reason"].label = _("What the re-check found")


class DismissForm(TransitionForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", BLANK), *DismissReason.choices])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(TransitionForm):
    into = forms.IntegerField(
        label=_("Lead alert number"), min_value=1,
        help_text=_("The open alert that carries the case on; this one leaves the loop into it."),
    )
    reason = forms.CharField(label=_("Why they are one case"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(TransitionForm):
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ReferForm(TransitionForm):
    department = forms.CharField(label=_("Department that owns the business"), max_length=255)
    due_days = forms.IntegerField(label=_("Working days to reply"), min_value=1, max_value=60, initial=10)
    note = forms.CharField(label=_("What to correct"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class AcceptReferralForm(TransitionForm):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class EscalateHandlingForm(StyledForm):
    reason = forms.CharField(label=_("Why your unit takes it over"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(StyledForm):
    text = forms.CharField(label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class AlertTagsForm(StyledForm):
    """The alert's free tags as one line, split on commas (the service cleans and checks them)."""

    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=1000,
        help_text=_("Separate tags with commas; at most 20 tags of at most 32 characters. Leave empty to remove all."),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):  # noqa: ANN001, ANN201
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class FindingForm(StyledForm):
    # Shown on the form; enforced by `cases.services.finding_add`, the one place for screen and API.
    max_files = MAX_EVIDENCE_FILES
    method = forms.ChoiceField(label=_("Method"), choices=Finding.Method.choices)
    text = forms.CharField(label=_("Finding"), widget=forms.Textarea(attrs={"rows": 3}))
    # On a phone `capture` opens the camera directly; documents come from the second input.
    photos = MultipleFileField(
        label=_("Photos"), required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    files = MultipleFileField(
        label=_("Documents"), required=False,
        widget=MultipleFileInput(attrs={"accept": ",".join(ALLOWED_EXTENSIONS)}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The one limit (cases.evidence), checked here too so the form shows it before upload.
        try:
            check_evidence_count(len(data.get("photos") or []) + len(data.get("files") or []))
        except ValidationError as exc:
            self.add_error("files", exc.message_dict["files"])
        return data


class ReferralReplyForm(StyledForm):
    reply = forms.CharField(label=_("What the department answered"), max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    files = MultipleFileField(label=_("Attachments"), required=False)


class PeriodForm(forms.Form):
    PRESETS = [
        ("30", _("Last 30 days")),
        ("90", _("Last 90 days")),
        ("365", _("Last 12 months")),
        ("all", _("All time")),
        ("custom", _("Custom")),
    ]
    period = forms.ChoiceField(label=_("Period"), choices=PRESETS, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            validators=[validate_sane_date])
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          validators=[validate_sane_date])


TRANSITION_FORMS: dict[str, type[forms.Form] | type[forms.BaseFormSet]] = {
    "assign": AssignForm,
    "accept": AcceptForm,
    "return": ReturnForm,
    "submit_verification": SubmitVerificationForm,
    "dispose": DisposeForm,
    "apply_results": ResultActionFormSet,
    "close": CloseForm,
    "send_back": SendBackForm,
    "dismiss": DismissForm,
    "merge": MergeForm,
    "unmerge": ReasonForm,
    "refer": ReferForm,
    "accept_referral": AcceptReferralForm,
    "reject_referral": ReasonForm,
    "reopen": ReopenForm,
}


def transition_form(name: str, *, user: User, alert: Alert, data: Any = None) -> Any:
    """The form (or, for issuing results, the formset) of transition `name`, bound to `data`."""
    return TRANSITION_FORMS[name](data, user=user, alert=alert, prefix="actions" if name == "apply_results" else name)
