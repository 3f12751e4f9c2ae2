"""Notices (official documents) and the rectification ledger: shapes only; the rules are in
`workflow.notices` and `workflow.ledger`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.models import FeedbackAttachment, ResultAction
from core.masking import mask_text
from workflow.ledger import LEDGER_STATES, state_of
from workflow.notices import ActionInput, document_title, issuer_name


class NoticeSerializer(serializers.ModelSerializer):
    """A notice as the recipient sees it: never the internal alert title."""

    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    issuing_unit = serializers.CharField(source="issuing_unit.code", read_only=True, allow_null=True, default=None)
    issuing_organ = serializers.SerializerMethodField()
    issued_by = serializers.CharField(source="issued_by.username", read_only=True)
    status = serializers.CharField(source="state", read_only=True)
    replaced_by = serializers.SerializerMethodField()
    document_url = serializers.SerializerMethodField()

    class Meta:
        model = ResultAction
        fields = [
            "id", "alert", "kind", "doc_number", "title", "recipient", "copy_to", "body", "issuing_unit",
            "issuing_organ", "signer", "issue_date", "due_date", "status", "withdrawn_at", "withdraw_reason",
            "replaces", "replaced_by", "issued_by", "created_at", "document_url",
        ]
        read_only_fields = fields

    def get_title(self, obj: ResultAction) -> str:
        return document_title(obj)

    def get_body(self, obj: ResultAction) -> str:
        return obj.text if self.context.get("full_pii") else mask_text(obj.text)

    def to_representation(self, instance: ResultAction) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("full_pii"):
            data["recipient"] = mask_text(data.get("recipient") or "")
            data["copy_to"] = [mask_text(str(c)) for c in data.get("copy_to") or []]
        return data

    def get_issuing_organ(self, obj: ResultAction) -> str:
        return issuer_name(obj)

    def get_replaced_by(self, obj: ResultAction) -> int | None:
        return next((n.pk for n in obj.replaced_by.all()), None)

    def get_document_url(self, obj: ResultAction) -> str:
        return f"/api/v1/notices/{obj.pk}/document/"


class WithdrawBody(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text=_("Why the notice is withdrawn (作废)."))


class ReissueBody(serializers.Serializer):
    reason = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="",
        help_text=_("Why the old notice is withdrawn; required unless it already is."),
    )
    title = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    recipient = serializers.CharField(max_length=255)
    copy_to = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list,
                                    max_length=20)
    text = serializers.CharField(max_length=20000)
    signer = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    due_date = serializers.DateField(required=False, allow_null=True, default=None)

    def to_action(self, kind: str) -> ActionInput:
        data: dict[str, Any] = {k: v for k, v in self.validated_data.items() if k != "reason"}
        return ActionInput(kind=kind, **data)


class FeedbackAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedbackAttachment
        fields = ["id", "original_name", "content_type", "size", "sha256", "created_at"]
        read_only_fields = fields


class RectificationOrderSerializer(serializers.ModelSerializer):
    """One line of the ledger."""

    issued_by = serializers.CharField(source="issued_by.username", read_only=True)
    unit = serializers.CharField(source="alert.org_unit.code", read_only=True)
    state = serializers.SerializerMethodField()
    state_label = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    is_closed = serializers.SerializerMethodField()
    attachments = FeedbackAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = ResultAction
        fields = [
            "id", "alert", "unit", "kind", "doc_number", "recipient", "text", "due_date", "issued_by", "created_at",
            "feedback", "feedback_at", "attachments", "review", "review_note", "reviewed_at", "reminder_level",
            "state", "state_label", "is_closed", "is_overdue",
        ]
        read_only_fields = fields

    def _state(self, obj: ResultAction) -> str:
        return getattr(obj, "ledger_state", None) or state_of(obj)

    def get_state(self, obj: ResultAction) -> str:
        return self._state(obj)

    def get_state_label(self, obj: ResultAction) -> str:
        return str(LEDGER_STATES[self._state(obj)])

    def get_is_closed(self, obj: ResultAction) -> bool:
        """The reply is accepted: the order no longer holds the alert open."""
        return obj.review == ResultAction.Review.ACCEPTED

    def get_is_overdue(self, obj: ResultAction) -> bool:
        return self._state(obj) == "overdue"

    def to_representation(self, instance: ResultAction) -> dict[str, Any]:
        data = super().to_representation(instance)
        # A list across alerts: masked for everyone, like every list (full values are on the alert).
        for key in ("recipient", "text", "feedback", "review_note"):
            data[key] = mask_text(data.get(key) or "")
        return data


class FeedbackBody(serializers.Serializer):
    feedback = serializers.CharField(max_length=5000)
    files = serializers.ListField(
        child=serializers.FileField(max_length=255, allow_empty_file=False), required=False, default=list,
        max_length=10, help_text=_("The rectification report, photos (multipart)."),
    )


class ReviewBody(serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class RejectBody(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text=_("Why the reply is not accepted."))
