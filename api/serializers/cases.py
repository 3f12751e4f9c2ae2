from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from alerts.states import Status
from cases.evidence import MAX_FILES_PER_FINDING
from cases.models import Comment, Evidence, Finding, TimelineEntry
from core.masking import mask_text, mask_value


class MaskedTextMixin:
    """Masks ID and phone numbers in `text` unless the view set `full_pii` in the context."""

    def to_representation(self, instance: object) -> dict:
        data = super().to_representation(instance)  # type: ignore[misc]
        if not self.context.get("full_pii"):  # type: ignore[attr-defined]
            data["text"] = mask_text(data.get("text") or "")
            if "data" in data:
                # Stage records copy free text (a return reason) into `data` too.
                data["data"] = mask_value(data["data"])
        return data


class TimelineEntrySerializer(MaskedTextMixin, serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # Blank for entries that are not stage changes; declared so the schema allows "".
    from_status = serializers.ChoiceField(choices=Status.choices, allow_blank=True, read_only=True)
    to_status = serializers.ChoiceField(choices=Status.choices, allow_blank=True, read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEntry
        fields = ["id", "at", "actor", "actor_name", "kind", "action", "from_status", "to_status", "text", "data"]
        read_only_fields = fields

    def get_actor_name(self, entry: TimelineEntry) -> str | None:
        return entry.actor.display_name if entry.actor_id else None


class CommentSerializer(MaskedTextMixin, serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"text": {"max_length": 20000}}


class EvidenceSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "original_name", "content_type", "size", "sha256", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, evidence: Evidence) -> str:
        return f"/api/v1/evidence/{evidence.pk}/download/"


class FindingSerializer(MaskedTextMixin, serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "author", "method", "text", "created_at", "evidence"]
        read_only_fields = ["id", "author", "created_at", "evidence"]


class FindingCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)
    method = serializers.ChoiceField(choices=Finding.Method.choices, default=Finding.Method.DOCUMENT_REVIEW)
    files = serializers.ListField(
        child=serializers.FileField(max_length=255, allow_empty_file=False),
        required=False, default=list, max_length=MAX_FILES_PER_FINDING,
        help_text=_("Evidence files: photos, PDF, Office documents, plain text, MP4."),
    )
