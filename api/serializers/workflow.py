"""Request bodies of the transitions: shape and types only; the rules live in workflow.services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from accounts.selectors import users_visible_to
from alerts.states import DISPOSAL_OUTCOMES, SEND_BACK_CHOICES, ActionKind, Conclusion, DismissReason
from cases.models import DispositionPerson
from workflow.services import ActionInput, PersonInput


class EmptyBody(serializers.Serializer):
    pass


class AssignBody(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        help_text=_("User id of a verifier in the alert's unit or below it."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    cross_unit = serializers.BooleanField(
        required=False, default=False,
        help_text=_("交叉核查: a supervisor above the alert's unit gives it to a verifier of another unit "
                    "below, whose unit then handles it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only users the requester can see: an id outside the scope is just "not found".
            self.fields["assignee"].queryset = users_visible_to(request.user)


class ReturnBody(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text=_("Why the alert is returned."))


class SubmitVerificationBody(serializers.Serializer):
    conclusion = serializers.ChoiceField(choices=Conclusion.choices)
    summary = serializers.CharField(max_length=20000)
    justification = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default="",
        help_text=_("Why the alert is unfounded: required for `unfounded` when no finding is recorded."),
    )


class PersonBody(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    position = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    unit = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    form = serializers.ChoiceField(
        choices=DispositionPerson.Form.choices, help_text=_("form_1 … form_4 of the four forms, or none."),
    )
    sanction = serializers.ChoiceField(
        choices=DispositionPerson.Sanction.choices, required=False, allow_blank=True, default="",
        help_text=_("A party discipline (党纪处分) or government (政务处分) sanction, if any."),
    )
    case_filed = serializers.BooleanField(required=False, default=False)
    detained = serializers.BooleanField(required=False, default=False, help_text=_("留置."))
    transferred = serializers.BooleanField(required=False, default=False, help_text=_("移送司法."))


class DisposeBody(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DISPOSAL_OUTCOMES)
    case_filed = serializers.BooleanField(required=False, default=False)
    amount_recovered = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, default=0,
        help_text=_("Yuan."),
    )
    amount_confiscated = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, default=0,
        help_text=_("Yuan confiscated (收缴), counted apart from the amount recovered."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    people = PersonBody(
        many=True, required=False, default=list, max_length=200,
        help_text=_("Each person dealt with; may be empty for rectification-only and cleared outcomes."),
    )

    def validate_people(self, value: list[dict[str, Any]]) -> list[PersonInput]:
        return [PersonInput(**item) for item in value]


class ActionBody(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ActionKind.choices)
    title = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text=_("The document's title as the recipient sees it; empty uses the kind's name."),
    )
    recipient = serializers.CharField(max_length=255, help_text=_("主送."))
    copy_to = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list, max_length=20,
        help_text=_("抄送: the other recipients."),
    )
    text = serializers.CharField(max_length=20000, help_text=_("The body."))
    signer = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    due_date = serializers.DateField(
        required=False, allow_null=True, default=None,
        help_text=_("Reply due date; required for a rectification order."),
    )


class ApplyResultsBody(serializers.Serializer):
    actions = ActionBody(many=True, allow_empty=False)

    def validate_actions(self, value: list[dict[str, Any]]) -> list[ActionInput]:
        return [ActionInput(**item) for item in value]


class CloseBody(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000,
        help_text=_("Required to close while an order has no accepted reply (otherwise 409); recorded."),
    )


class SendBackBody(serializers.Serializer):
    stage = serializers.ChoiceField(choices=SEND_BACK_CHOICES)
    reason = serializers.CharField(max_length=20000)


class DismissBody(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DismissReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class MergeBody(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text=_("Id of the lead alert (open, in your scope)."))
    reason = serializers.CharField(max_length=5000)


class ReasonBody(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ReferBody(serializers.Serializer):
    department = serializers.CharField(max_length=255, help_text=_("The department that owns the business."))
    due_days = serializers.IntegerField(min_value=1, max_value=60, help_text=_("Working days to reply."))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000,
                                 help_text=_("What the department should correct."))


class AcceptReferralBody(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


TRANSITION_BODIES: dict[str, type[serializers.Serializer]] = {
    "assign": AssignBody,
    "accept": EmptyBody,
    "return": ReturnBody,
    "submit_verification": SubmitVerificationBody,
    "dispose": DisposeBody,
    "apply_results": ApplyResultsBody,
    "close": CloseBody,
    "send_back": SendBackBody,
    "dismiss": DismissBody,
    "merge": MergeBody,
    "unmerge": ReasonBody,
    "refer": ReferBody,
    "accept_referral": AcceptReferralBody,
    "reject_referral": ReasonBody,
    "reopen": SendBackBody,
}


class EscalateHandlingBody(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text=_("Why a unit above takes the alert over."))


class ReferralReplyBody(serializers.Serializer):
    reply = serializers.CharField(max_length=20000, help_text=_("What the department answered."))
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list, max_length=20)
