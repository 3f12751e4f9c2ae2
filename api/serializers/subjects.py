"""Subject files: shape only. Personal data masked unless the reader may see it in full."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alerts.models import Alert, Subject
from core.masking import mask_id_number, mask_text


class SubjectFileSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Subject
        fields = ["id", "kind", "name", "credit_code", "id_number", "created_at"]
        read_only_fields = fields

    def to_representation(self, subject: Subject) -> dict[str, Any]:
        data = super().to_representation(subject)
        if not self.context.get("full_pii"):
            data["name"] = mask_text(data["name"])
            data["id_number"] = mask_id_number(data["id_number"]) if data["id_number"] else ""
        return data


class SubjectAlertSerializer(serializers.ModelSerializer):
    org_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)
    outcome = serializers.CharField(allow_null=True, read_only=True)
    amount_recovered = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "title", "status", "risk_level", "domain", "org_unit", "source", "rule_code", "amount",
                  "conclusion", "outcome", "amount_recovered", "created_at", "closed_at"]
        read_only_fields = fields

    def to_representation(self, alert: Alert) -> dict[str, Any]:
        data = super().to_representation(alert)
        data["title"] = mask_text(data["title"])
        return data


class SubjectTotalsSerializer(serializers.Serializer):
    alerts = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    merged = serializers.IntegerField()
    substantiated = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    amount_recovered = serializers.DecimalField(max_digits=20, decimal_places=2)
    sources = serializers.IntegerField()
    units = serializers.IntegerField()
    first_at = serializers.DateTimeField(allow_null=True)
    last_at = serializers.DateTimeField(allow_null=True)


class SubjectFileSerializer(serializers.Serializer):
    subject = SubjectFileSummarySerializer()
    totals = SubjectTotalsSerializer()
    alerts = SubjectAlertSerializer(many=True)
