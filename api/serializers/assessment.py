"""Assessment, re-check and report bodies and answers: shape only."""

from __future__ import annotations

from rest_framework import serializers

from assessment.models import REOPEN_STAGES, AnalysisReport, Recheck, RecheckItem


class AssessmentRowSerializer(serializers.Serializer):
    unit = serializers.CharField(source="unit.code")
    name = serializers.CharField(source="unit.name")
    figures = serializers.DictField(child=serializers.IntegerField())
    rates = serializers.DictField(
        child=serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=False))
    avg_working_days = serializers.DictField(
        source="avg_days", child=serializers.DecimalField(max_digits=8, decimal_places=1, coerce_to_string=False,
                                                          allow_null=True))
    score = serializers.DecimalField(max_digits=5, decimal_places=1, coerce_to_string=False)
    rank = serializers.IntegerField()


class AssessmentSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")
    unit = serializers.CharField()
    weights = serializers.DictField(child=serializers.DecimalField(max_digits=6, decimal_places=2,
                                                                    coerce_to_string=False))
    rows = AssessmentRowSerializer(many=True)


class RecheckDrawBody(serializers.Serializer):
    period = serializers.CharField(max_length=16, help_text="2026, 2026-Q4 or 2026-11.")
    units = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)
    size = serializers.IntegerField(required=False, min_value=1, max_value=500, help_text="Alerts per unit.")
    ratio = serializers.DecimalField(required=False, max_digits=5, decimal_places=4, min_value=0, max_value=1,
                                     help_text="Share of each unit's closed alerts, e.g. 0.1.")


class RecheckItemSerializer(serializers.ModelSerializer):
    handled_by_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assignee_name = serializers.CharField(source="assignee.display_name", read_only=True)

    class Meta:
        model = RecheckItem
        fields = ["id", "alert", "handled_by_unit", "assignee", "assignee_name", "outcome", "reopened_to", "note",
                  "decided_at"]
        read_only_fields = fields


class RecheckSerializer(serializers.ModelSerializer):
    units = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    items = RecheckItemSerializer(many=True, read_only=True)

    class Meta:
        model = Recheck
        fields = ["id", "period", "seed", "size", "ratio", "units", "drawn_by", "created_at", "items"]
        read_only_fields = fields


class RecheckOutcomeBody(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[RecheckItem.Outcome.CONFIRMED, RecheckItem.Outcome.PROBLEM_FOUND])
    stage = serializers.ChoiceField(choices=[s.value for s in REOPEN_STAGES], required=False,
                                    help_text="With problem_found: the stage to reopen the alert to.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)

    def validate(self, data: dict) -> dict:
        if data["outcome"] == RecheckItem.Outcome.PROBLEM_FOUND and not data.get("stage"):
            raise serializers.ValidationError({"stage": ["Choose the stage to reopen the alert to."]})
        return data


class ReportBody(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    period = serializers.CharField(max_length=16)
    units = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    domains = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    sources = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    rules = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    preset = serializers.ChoiceField(choices=["", "four_winds"], required=False, default="")
    schedule = serializers.ChoiceField(choices=AnalysisReport.Schedule.values, required=False, default="")


class ReportSerializer(serializers.ModelSerializer):
    document = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisReport
        fields = ["id", "title", "preset", "params", "schedule", "next_run_at", "created_at", "generated_at",
                  "document"]
        read_only_fields = fields

    def get_document(self, report: AnalysisReport) -> str | None:
        return f"/api/v1/reports/{report.pk}/document/" if report.file else None
