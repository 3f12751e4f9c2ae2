from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import OrgUnit
from alerts.models import Alert, Domain, RiskLevel
from alerts.policy import transitions_available_to
from alerts.states import Conclusion
from alerts.validation import validate_id_number, validate_sane_datetime
from core.masking import mask_id_number, mask_text, mask_value, pii_text
from screening.evidence import hit_view
from workflow import deadlines
from workflow.intake import IntakeItem, source_may_raise_for


class SubjectSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, allow_blank=True, required=False, default="")
    id_number = serializers.CharField(
        max_length=18, allow_blank=True, required=False, default="",
        validators=[validate_id_number], help_text=_("Resident ID number (18 characters, checked)."),
    )
    credit_code = serializers.CharField(
        max_length=32, allow_blank=True, required=False, default="",
        help_text=_("Unified social credit code of a company."),
    )


class AlertHitModelSerializer(serializers.Serializer):
    code = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class EvidenceTableSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())


class MetricSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.JSONField()


class AlertHitSerializer(serializers.Serializer):
    model = AlertHitModelSerializer()
    reason = serializers.CharField()
    evidence = EvidenceTableSerializer(many=True)
    metrics = MetricSerializer(many=True)
    previous_alert = serializers.IntegerField(allow_null=True)


class AlertSerializer(serializers.ModelSerializer):
    org_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rule = serializers.CharField(source="rule_code", read_only=True)
    subject = serializers.SerializerMethodField()
    assignee_name = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    timeliness = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()
    subject_file = serializers.PrimaryKeyRelatedField(
        source="subject", read_only=True, allow_null=True,
        help_text="Id of the subject file (一企一档/一人一档): GET /api/v1/subjects/{id}/.",
    )
    handling_unit = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True,
        help_text="The unit handling the alert when it is not the owning unit (提级办理/交叉核查).",
    )
    merged_into = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    # Blank until a conclusion is submitted; declared so the schema allows "".
    conclusion = serializers.ChoiceField(choices=Conclusion.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "title", "domain", "risk_level", "status", "org_unit", "org_unit_name", "source",
            "rule", "rule_code", "subject", "amount", "details", "tags", "dedup_key", "occurrence_count",
            "occurred_at", "last_occurred_at", "assignee", "assignee_name", "conclusion",
            "stage_entered_at", "due_at", "is_overdue", "timeliness", "escalation_level",
            "supervised", "created_at", "updated_at", "closed_at", "available_transitions",
            "subject_file", "handling_unit", "merged_into",
        ]
        read_only_fields = fields

    def _full_pii(self) -> bool:
        # Set by the detail view for roles that need full values (and it audits the view).
        return bool(self.context.get("full_pii"))

    @extend_schema_field(SubjectSerializer)
    def get_subject(self, alert: Alert) -> dict[str, str]:
        id_number = alert.subject_id_number
        return {
            "name": pii_text(alert.subject_name, self._full_pii()),
            "id_number": id_number if self._full_pii() else mask_id_number(id_number) if id_number else "",
            "credit_code": alert.subject_credit_code,
        }

    def to_representation(self, alert: Alert) -> dict[str, Any]:
        data = super().to_representation(alert)
        if not self._full_pii():
            data["title"] = mask_text(data["title"])
            data["details"] = mask_value(data["details"])
            data["dedup_key"] = mask_text(data["dedup_key"])
        return data

    def get_assignee_name(self, alert: Alert) -> str | None:
        return alert.assignee.display_name if alert.assignee_id else None

    def get_is_overdue(self, alert: Alert) -> bool:
        return deadlines.is_overdue(alert)

    @extend_schema_field(serializers.ChoiceField(choices=["green", "yellow", "red"]))
    def get_timeliness(self, alert: Alert) -> str:
        return deadlines.timeliness_of(alert)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, alert: Alert) -> list[str]:
        request = self.context.get("request")
        return transitions_available_to(alert, request.user) if request else []


class AlertDetailSerializer(AlertSerializer):
    """One alert: the list's fields and, for an alert raised by a screening model, `hit`."""

    hit = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "hit"]
        read_only_fields = fields

    @extend_schema_field(AlertHitSerializer(allow_null=True))
    def get_hit(self, alert: Alert) -> dict[str, Any] | None:
        """Its model, reason, evidence tables (the datasets' own headers) and metrics; null otherwise."""
        return hit_view(alert, full_pii=self._full_pii())


class _SubjectField(serializers.Field):
    """`subject` is a name, or an object with name / id_number / credit_code."""

    default_error_messages = {"invalid": _("Give a name or an object {{name, id_number, credit_code}}.")}

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, dict):
            self.fail("invalid")
        inner = SubjectSerializer(data=data)
        inner.is_valid(raise_exception=True)
        return dict(inner.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Subject"}],
     "description": "A name, or an object with name, id_number and credit_code."}
)
class SubjectField(_SubjectField):
    pass


class SaneDateTimeField(serializers.DateTimeField):
    """A date-time whose time-zone conversion cannot overflow (year 1, year 9999) into a 500."""

    def to_internal_value(self, value: Any) -> Any:
        try:
            return super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(_("Give a date between 1900 and 2100.")) from None


class IntakeItemSerializer(serializers.Serializer):
    dedup_key = serializers.CharField(max_length=255, help_text=_("Same key while open = same alert."))
    title = serializers.CharField(
        max_length=255, required=False, help_text=_("Defaults to the source system's name and the dedup key.")
    )
    domain = serializers.ChoiceField(choices=Domain.choices, default=Domain.OTHER)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices, default=RiskLevel.YELLOW)
    org_unit = serializers.CharField(
        max_length=64, required=False,
        help_text=_("Unit code; must be the source system's unit or below it. Defaults to the source's unit."),
    )
    subject = SubjectField(required=False)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    occurred_at = SaneDateTimeField(required=False, allow_null=True, validators=[validate_sane_datetime])
    details = serializers.DictField(required=False, default=dict, help_text=_("Data snapshot (JSON object)."))
    rule = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate_org_unit(self, code: str) -> OrgUnit:
        source = self.context["source"]
        units: dict[str, OrgUnit | None] = self.context.setdefault("_units", {})
        if code not in units:
            units[code] = OrgUnit.objects.filter(code=code).first()
        unit = units[code]
        # One message for "no such unit" and "not yours": a source learns nothing about other units.
        if unit is None or not source_may_raise_for(source, unit):
            raise serializers.ValidationError(_("Unknown unit, or outside this source system's unit."))
        return unit

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Only dedup_key is required: a source without units or titles of its own still reports.
        source = self.context["source"]
        attrs.setdefault("org_unit", source.org_unit)
        attrs.setdefault("title", f"{source.name}: {attrs['dedup_key']}"[:255])
        return attrs

    def validate_details(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(repr(value)) > settings.HUOYAN_INTAKE_MAX_DETAILS_CHARS:
            raise serializers.ValidationError(_("The data snapshot is too large."))
        return value

    @staticmethod
    def to_item(data: dict[str, Any]) -> IntakeItem:
        subject = data.get("subject") or {}
        return IntakeItem(
            dedup_key=data["dedup_key"], title=data["title"], domain=data["domain"],
            risk_level=data["risk_level"], org_unit=data["org_unit"], rule=data["rule"],
            subject_name=subject.get("name", ""), subject_id_number=subject.get("id_number", ""),
            subject_credit_code=subject.get("credit_code", ""), amount=data.get("amount"),
            occurred_at=data.get("occurred_at"), details=data["details"],
        )


# Characters DRF's CharField refuses (its NUL and surrogate validators).
_REFUSED_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_DOMAINS = frozenset(Domain.values)
_RISK_LEVELS = frozenset(RiskLevel.values)


def _plain_text(value: Any, max_length: int, *, blank: bool = False) -> str | None:
    """What DRF's CharField makes of `value` when it is plain, acceptable text; None otherwise."""
    if type(value) is not str:
        return None
    text = value.strip()
    if (not text and not blank) or len(text) > max_length or _REFUSED_CHARACTERS.search(text):
        return None
    return text


def intake_items_validated(items: list[Any], context: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`IntakeItemSerializer`'s validated data for `items`, faster, or None to let it decide.

    Validating a batch of 1,000 field by field through DRF costs more than writing it. This
    answers for the common shape — text fields as plain strings, known choices — with exactly
    what the serializer would give; any other value (a number where text is expected, a blank
    required field, an unknown choice, a subject object with an ID number…) is left to the
    serializer, item by item, so every refusal and its message are the serializer's own. Amount,
    time of occurrence and details run through the serializer's own fields and checks.
    `tests/api/test_intake_validation.py` compares the two on hostile and ordinary input.
    """
    body = IntakeItemSerializer(context=context)
    fields = body.fields
    source = context["source"]
    out: list[dict[str, Any]] = []
    for item in items:
        if type(item) is not dict:
            return None
        key = _plain_text(item.get("dedup_key"), 255)
        if key is None:
            return None
        data: dict[str, Any] = {"dedup_key": key}
        if "title" in item:
            title = _plain_text(item["title"], 255)
            if title is None:
                return None
            data["title"] = title
        domain, risk = _choice(item, "domain", _DOMAINS), _choice(item, "risk_level", _RISK_LEVELS)
        if domain is None or risk is None:
            return None
        data["domain"], data["risk_level"] = domain, risk
        try:
            if "org_unit" in item:
                code = _plain_text(item["org_unit"], 64)
                if code is None:
                    return None
                data["org_unit"] = body.validate_org_unit(code)
            if "subject" in item:
                subject = _subject(item["subject"])
                if subject is None:
                    return None
                data["subject"] = subject
            for name in ("amount", "occurred_at"):
                if name in item:
                    data[name] = fields[name].run_validation(item[name])
            data["details"] = body.validate_details(fields["details"].run_validation(item.get("details", empty)))
        except serializers.ValidationError:
            return None
        rule = _plain_text(item.get("rule", ""), 64, blank=True)
        if rule is None:
            return None
        data["rule"] = rule
        data.setdefault("org_unit", source.org_unit)
        data.setdefault("title", f"{source.name}: {key}"[:255])
        out.append(data)
    return out


def _choice(item: dict[str, Any], name: str, allowed: frozenset[str]) -> str | None:
    if name not in item:
        return IntakeItemSerializer._declared_fields[name].default
    value = item[name]
    return value if type(value) is str and value in allowed else None


def _subject(value: Any) -> dict[str, str] | None:
    if type(value) is str:
        value = {"name": value}
    if type(value) is not dict:
        return None
    name = _plain_text(value.get("name", ""), 255, blank=True)
    credit_code = _plain_text(value.get("credit_code", ""), 32, blank=True)
    id_number = _plain_text(value.get("id_number", ""), 18, blank=True)
    # An ID number is checked by the serializer (its checksum and message).
    if name is None or credit_code is None or id_number != "":
        return None
    return {"name": name, "id_number": "", "credit_code": credit_code}


class IntakeResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dedup_key = serializers.CharField()
    created = serializers.BooleanField()


class IntakeResponseSerializer(serializers.Serializer):
    results = IntakeResultSerializer(many=True)


class StatsUnitSerializer(serializers.Serializer):
    unit = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    closure_rate = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=False)
    dismissal_rate = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=False)


class StatsIndicatorCountsSerializer(serializers.Serializer):
    warnings = serializers.IntegerField()
    closed = serializers.IntegerField()
    concluded = serializers.IntegerField(help_text="Concluded after verification (not sent back to it).")
    substantiated = serializers.IntegerField()
    substantiation_rate = serializers.DecimalField(
        max_digits=6, decimal_places=4, coerce_to_string=False, allow_null=True,
        help_text="查实率: substantiated over concluded; null before any conclusion.")


class StatsIndicatorModuleSerializer(StatsIndicatorCountsSerializer):
    module = serializers.CharField(help_text="The module the warehouse gives the indicators; empty when not set.")
    indicators = serializers.IntegerField()


class StatsIndicatorSerializer(StatsIndicatorCountsSerializer):
    indicator_id = serializers.IntegerField()
    source_id = serializers.IntegerField()
    source_name = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    module = serializers.CharField()


class PeopleByFormSerializer(serializers.Serializer):
    form_1 = serializers.IntegerField()
    form_2 = serializers.IntegerField()
    form_3 = serializers.IntegerField()
    form_4 = serializers.IntegerField()
    none = serializers.IntegerField()


class StatsOverviewSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    merged = serializers.IntegerField(help_text="Alerts merged into a lead: neither open nor closed.")
    dismissed = serializers.IntegerField(help_text=_("Closed by dismissal: counted in 排除率, not 办结率."))
    closure_rate = serializers.DecimalField(
        max_digits=6, decimal_places=4, coerce_to_string=False,
        help_text=_("办结率: closed after handling, dismissals excluded, over all alerts."),
    )
    dismissal_rate = serializers.DecimalField(
        max_digits=6, decimal_places=4, coerce_to_string=False, help_text=_("排除率: dismissed over all alerts."),
    )
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_unit = StatsUnitSerializer(many=True)
    people_total = serializers.IntegerField(help_text=_("People dealt with by the latest disposition of each alert."))
    people_by_form = PeopleByFormSerializer()
    people_case_filed = serializers.IntegerField()
    people_detained = serializers.IntegerField()
    people_transferred = serializers.IntegerField()
    amount_recovered = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=False)
    amount_confiscated = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=False)
    by_indicator_module = StatsIndicatorModuleSerializer(
        many=True, help_text=_("Business systems' warnings per indicator module, in your units (the dashboard's "
                               "grouping, over all time)."))
    by_indicator = StatsIndicatorSerializer(many=True, help_text=_("The same per embedded indicator."))



