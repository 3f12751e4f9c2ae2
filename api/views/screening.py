"""REST API of the warehouse: datasets, models, runs, hits, templates and the factory's preview.

Views stay thin: scope comes from `screening.selectors`, writes from `screening.services`.
Anything outside the requester's unit and below is a 404, exactly like alerts.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import OrgUnit
from accounts.selectors import units_visible_to
from alerts.models import Domain, RiskLevel
from alerts.policy import may_in_warehouse
from api.auth import ApiKeyAuthentication, IsSourceSystem
from core.masking import mask_value
from screening import engine, selectors, services
from screening.importing import preview
from screening.models import Dataset, ModelStatus, Schedule, ScreeningHit, ScreeningModel, ScreeningRun
from screening.spec import DatasetRef, SpecError, compile_spec
from screening.templates import TEMPLATES, describe


def _is_id(text: str) -> bool:
    """ASCII digits only ("²".isdigit() is True, but int("²") fails), at most 18 of them."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def unit_for(user: Any, value: Any) -> OrgUnit:
    """An org unit the user may see, by code or id; otherwise a field error (no hint it exists)."""
    units = units_visible_to(user)
    unit = None
    if value not in (None, "") and isinstance(value, (str, int)) and "\x00" not in str(value):
        text = str(value)
        if text.isascii() and text.isdigit():
            unit = units.filter(pk=int(text)).first() if len(text) <= 18 else None
        else:
            unit = units.filter(code=text[:64]).first()
    if unit is None:
        raise ValidationError({"org_unit": _("Unknown org unit.")})
    return unit


def datasets_for(user: Any, value: Any) -> dict[str, Dataset]:
    """{role: dataset} for datasets the user sees. Whether they may be bound to a model (the
    model's unit or below) is the service's check."""
    if not isinstance(value, dict):
        raise ValidationError({"datasets": _("Give datasets as {role: dataset id}.")})
    visible = selectors.datasets_visible_to(user)
    out = {}
    for role, pk in value.items():
        text = str(pk)
        ds = visible.filter(pk=int(text)).first() if _is_id(text) and isinstance(pk, (str, int)) else None
        if ds is None or "\x00" in role:
            raise ValidationError({"datasets": _("Unknown dataset for role %(r)s.") % {"r": role}})
        out[str(role)[:32]] = ds
    return out


class RolePermission(permissions.IsAuthenticated):
    """Maps each endpoint to an action of `alerts.policy.WAREHOUSE_PERMISSIONS` (the one role
    map): a view's `role_actions` says which action each of its actions needs, and `read_action`
    which read its safe methods need. An unsafe method the view does not map is refused."""

    message = gettext_lazy("Only supervisors and administrators may change the model warehouse; "
                           "your role can only read it.")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        actions = getattr(view, "role_actions", {})
        name = getattr(view, "action", None) or request.method.lower()
        needed = actions.get((name, request.method)) or actions.get(name)
        if needed is None and request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_action", None)
        return needed is not None and may_in_warehouse(request.user, needed)


# ----- serializers (output) -----

class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()


class DatasetSerializer(serializers.ModelSerializer):
    columns = ColumnSerializer(many=True)
    org_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "org_unit", "columns", "row_count", "size_bytes", "original_filename",
                  "created_at", "updated_at"]


class DatasetUploadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    file = serializers.FileField()
    org_unit = serializers.CharField(max_length=64)


class ScreeningModelSerializer(serializers.ModelSerializer):
    org_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    datasets = serializers.SerializerMethodField()
    origin = serializers.PrimaryKeyRelatedField(read_only=True)
    previous_version = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = serializers.StringRelatedField()

    class Meta:
        model = ScreeningModel
        fields = ["id", "code", "version", "is_latest", "name", "description", "domain", "org_unit", "risk_level",
                  "status", "supervision_points", "template", "params", "spec", "datasets", "schedule",
                  "next_run_at", "origin", "previous_version", "created_by", "created_at", "updated_at"]

    def get_datasets(self, obj: ScreeningModel) -> dict[str, int]:
        return {link.role: link.dataset_id for link in obj.dataset_links.all()}


class ScreeningModelWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    org_unit = serializers.CharField(max_length=64)
    domain = serializers.ChoiceField(choices=Domain.choices, required=False, allow_blank=True)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices, default=RiskLevel.ORANGE)
    status = serializers.ChoiceField(choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    code = serializers.SlugField(max_length=64, required=False, allow_blank=True)
    template = serializers.ChoiceField(choices=sorted(TEMPLATES), required=False, allow_blank=True)
    params = serializers.JSONField(required=False)
    spec = serializers.JSONField(required=False)
    datasets = serializers.JSONField()
    supervision_points = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    schedule = serializers.ChoiceField(choices=Schedule.choices, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("template") and not attrs.get("spec"):
            raise serializers.ValidationError({"template": _("Give a template with params, or a spec.")})
        return attrs


class ScreeningModelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices, required=False)
    status = serializers.ChoiceField(choices=ModelStatus.choices, required=False)
    supervision_points = serializers.CharField(required=False, allow_blank=True)
    params = serializers.JSONField(required=False)
    spec = serializers.JSONField(required=False)
    datasets = serializers.JSONField(required=False)
    schedule = serializers.ChoiceField(choices=Schedule.choices, required=False, allow_blank=True)


class RunSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model.version", read_only=True)
    model_code = serializers.CharField(source="model.code", read_only=True)

    class Meta:
        model = ScreeningRun
        fields = ["id", "model", "model_code", "model_version", "status", "progress", "hit_count",
                  "alerts_created", "error", "scheduled", "datasets", "created_at", "started_at", "finished_at",
                  "duration_ms"]


class HitSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningHit
        fields = ["id", "group_key", "dedup_key", "title", "subject", "amount", "risk_level", "rows", "metrics",
                  "alert", "alert_created"]

    def to_representation(self, hit: ScreeningHit) -> dict[str, Any]:
        # Hit lists are lists: ID and phone numbers masked for everyone (full values are on the
        # alert's detail page, for those handling the case).
        return mask_value(super().to_representation(hit))


class RowsAppendedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    row_count = serializers.IntegerField()


class RunCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class CopySerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=128)
    org_unit = serializers.CharField(required=False, max_length=64)
    datasets = serializers.JSONField(required=False)


class ResultsSerializer(serializers.Serializer):
    hits = serializers.IntegerField()
    alerts_raised = serializers.IntegerField()
    concluded = serializers.IntegerField()
    substantiated = serializers.IntegerField()
    substantiation_rate = serializers.FloatField(allow_null=True)
    recurrences = serializers.IntegerField(help_text="Alerts marked 复发: the problem came back after rectification.")


class TemplateSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    description = serializers.CharField()
    description_zh = serializers.CharField()
    description_en = serializers.CharField()
    domain = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    params = serializers.DictField(child=serializers.CharField())
    one_hit_per = serializers.CharField()
    example_params = serializers.JSONField()
    spec = serializers.JSONField()


class SpecPreviewRequestSerializer(serializers.Serializer):
    spec = serializers.JSONField()
    datasets = serializers.JSONField()
    step = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)
    sample = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class SpecPreviewResponseSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.DictField())
    step_columns = serializers.JSONField()


class DatasetPreviewSerializer(serializers.Serializer):
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField())


# ----- views -----

class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DatasetSerializer
    permission_classes = [RolePermission]
    read_action = "dataset.read"
    role_actions = {"create": "dataset.upload"}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):  # noqa: ANN201
        return selectors.datasets_visible_to(self.request.user)

    @extend_schema(request={"multipart/form-data": DatasetUploadSerializer}, responses={201: DatasetSerializer})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        form = DatasetUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        unit = unit_for(request.user, form.validated_data["org_unit"])
        ds = services.dataset_create(name=form.validated_data["name"], org_unit=unit,
                                     upload=form.validated_data["file"], by=request.user)
        return Response(DatasetSerializer(ds).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=DatasetPreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request: Any, pk: str | None = None) -> Response:
        from pathlib import Path

        ds = self.get_object()
        rows = preview(Path(services.dataset_local_path(ds)))
        return Response({"columns": ds.columns, "rows": mask_value(rows)})


class DatasetRowsView(APIView):
    """`POST /api/v1/datasets/{id}/rows/` with a source system's `Authorization: Api-Key …`."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsSourceSystem]

    @extend_schema(
        request={"application/json": {
            "oneOf": [
                {"type": "array", "items": {"type": "object", "additionalProperties": True}},
                {"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object"}}}},
            ],
            "description": "Rows to append: a list of objects keyed by column name, or {rows: [...]}.",
        }},
        responses={201: RowsAppendedSerializer},
    )
    def post(self, request: Any, pk: int) -> Response:
        rows = request.data.get("rows") if isinstance(request.data, dict) else request.data
        ds = services.dataset_rows_append(dataset_id=pk, rows=rows, source=request.auth)
        return Response({"id": ds.pk, "row_count": ds.row_count}, status=status.HTTP_201_CREATED)


class ScreeningModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ScreeningModelSerializer
    permission_classes = [RolePermission]
    read_action = "model.read"
    role_actions = {"create": "model.create", "partial_update": "model.update", "copy": "model.copy",
                    ("runs", "POST"): "run.start", ("runs", "GET"): "run.read", "results": "run.read"}

    def get_queryset(self):  # noqa: ANN201
        params = self.request.query_params
        if self.action == "list":
            return selectors.warehouse_list(
                self.request.user, domain=params.get("domain", ""), unit=params.get("unit", ""),
                status=params.get("status", ""), q=params.get("q", "")).prefetch_related("dataset_links")
        return selectors.models_visible_to(self.request.user).prefetch_related("dataset_links")

    @extend_schema(request=ScreeningModelWriteSerializer, responses={201: ScreeningModelSerializer})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        form = ScreeningModelWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        model = services.screening_model_create(
            by=request.user, name=d["name"], org_unit=unit_for(request.user, d["org_unit"]),
            datasets=datasets_for(request.user, d["datasets"]), template=d.get("template", ""),
            params=d.get("params"), spec=d.get("spec"), domain=d.get("domain", ""), risk_level=d["risk_level"],
            status=d["status"], code=d.get("code", ""), supervision_points=d.get("supervision_points", ""),
            description=d.get("description", ""), schedule=d.get("schedule", ""),
        )
        return Response(ScreeningModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScreeningModelUpdateSerializer, responses=ScreeningModelSerializer)
    def partial_update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        model = self.get_object()
        form = ScreeningModelUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        changes = dict(form.validated_data)
        datasets = datasets_for(request.user, changes.pop("datasets")) if "datasets" in changes else None
        updated = services.screening_model_update(model_id=model.pk, by=request.user, changes=changes,
                                                  datasets=datasets)
        return Response(ScreeningModelSerializer(updated).data)

    @extend_schema(request=CopySerializer, responses={201: ScreeningModelSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Any, pk: str | None = None) -> Response:
        model = self.get_object()
        form = CopySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        unit = unit_for(request.user, d.get("org_unit") or getattr(request.user.org_unit, "code", ""))
        datasets = datasets_for(request.user, d["datasets"]) if d.get("datasets") else None
        new = services.screening_model_copy(model=model, by=request.user, org_unit=unit,
                                            name=d.get("name", ""), datasets=datasets)
        return Response(ScreeningModelSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["POST"], request=None, responses={202: RunCreatedSerializer})
    @extend_schema(methods=["GET"], responses=RunSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def runs(self, request: Any, pk: str | None = None) -> Response:
        model = self.get_object()
        if request.method == "GET":
            qs = selectors.runs_visible_to(request.user).filter(model__code=model.code)
            page = self.paginate_queryset(qs)
            return self.get_paginated_response(RunSerializer(page, many=True).data)
        with transaction.atomic():
            run = services.screening_run_start(model=model, by=request.user)
        run.refresh_from_db()
        return Response({"id": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request: Any, pk: str | None = None) -> Response:
        model = self.get_object()
        return Response(selectors.model_results(model))


class ScreeningRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer
    permission_classes = [RolePermission]
    read_action = "run.read"

    def get_queryset(self):  # noqa: ANN201
        return selectors.runs_visible_to(self.request.user)

    @extend_schema(responses=HitSerializer(many=True))
    @action(detail=True, methods=["get"])
    def hits(self, request: Any, pk: str | None = None) -> Response:
        run = self.get_object()
        page = self.paginate_queryset(selectors.hits_of(run))
        return self.get_paginated_response(HitSerializer(page, many=True).data)


class TemplateListView(APIView):
    permission_classes = [RolePermission]
    read_action = "model.read"

    @extend_schema(responses=TemplateSerializer(many=True))
    def get(self, request: Any) -> Response:
        return Response([describe(t, get_language() or "zh-hans") for t in TEMPLATES.values()])


class SpecPreviewView(APIView):
    """The factory's preview: `{spec, datasets: {role: id}, step, limit}` → the step's first rows,
    computed on a sample of each dataset. Also validates: a bad spec is a 400 naming the step."""

    permission_classes = [RolePermission]
    role_actions = {"post": "spec.preview"}

    @extend_schema(request=SpecPreviewRequestSerializer,
                   responses={200: SpecPreviewResponseSerializer, 400: OpenApiResponse(description="invalid spec")})
    def post(self, request: Any) -> Response:
        form = SpecPreviewRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        datasets = datasets_for(request.user, data.get("datasets") or {})
        refs = {role: DatasetRef(path=services.dataset_local_path(ds), columns=ds.columns, name=ds.name)
                for role, ds in datasets.items()}
        try:
            compiled = compile_spec(data.get("spec"), refs, upto=data.get("step") or None,
                                    limit=data.get("limit") or 20, sample=data.get("sample") or 10_000)
        except SpecError as exc:
            return Response({"spec": [str(exc)], "step": exc.step}, status=status.HTTP_400_BAD_REQUEST)
        columns, rows = engine.preview_rows(compiled)
        step_columns = {sid: [{"name": n, "type": t} for n, t in cols.items()]
                        for sid, cols in compiled.columns.items()}
        return Response({"columns": columns, "rows": mask_value(rows), "step_columns": step_columns})
