"""考核 over the API: unit assessments, re-check samples and their outcomes, analysis reports."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import policy
from api.serializers.assessment import (
    AssessmentSerializer,
    RecheckDrawBody,
    RecheckItemSerializer,
    RecheckOutcomeBody,
    RecheckSerializer,
    ReportBody,
    ReportSerializer,
)
from assessment.figures import assessable_unit, assessment_rows, weights
from assessment.models import RecheckItem
from assessment.periods import period_parse
from assessment.rechecks import recheck_confirm, recheck_draw, recheck_problem
from assessment.reports import report_create
from assessment.selectors import rechecks_assigned_to, rechecks_visible_to, reports_visible_to
from core.errors import NotFound


def _leaders_only(request: Request) -> None:
    if not policy.may_assess(request.user):
        raise PermissionDenied("")


class AssessmentView(APIView):
    """GET /assessments/?period=2026-Q4&unit=suzhou — one row per unit below `unit`."""

    @extend_schema(parameters=[OpenApiParameter("period", str, required=True), OpenApiParameter("unit", str)],
                   responses=AssessmentSerializer)
    def get(self, request: Request) -> Response:
        _leaders_only(request)
        period = period_parse(request.query_params.get("period", ""))
        unit = assessable_unit(request.user, request.query_params.get("unit"))
        if unit is None:
            raise NotFound("")
        rows = assessment_rows(user=request.user, period=period, unit=unit)
        data = {"period": period.code, "start": period.start, "end": period.end, "unit": unit.code,
                "weights": weights(), "rows": rows}
        return Response(AssessmentSerializer(data).data)


class RecheckListView(generics.GenericAPIView):
    serializer_class = RecheckDrawBody
    filter_backends: list[Any] = []

    @extend_schema(responses=RecheckSerializer(many=True))
    def get(self, request: Request) -> Response:
        _leaders_only(request)
        page = self.paginate_queryset(rechecks_visible_to(request.user))
        return self.get_paginated_response(RecheckSerializer(page, many=True).data)

    @extend_schema(responses={201: RecheckSerializer})
    def post(self, request: Request) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        recheck = recheck_draw(by=request.user, period=d["period"], units=d["units"], size=d.get("size"),
                               ratio=d.get("ratio"))
        return Response(RecheckSerializer(recheck).data, status=status.HTTP_201_CREATED)


class MyRechecksView(generics.ListAPIView):
    """The re-checks given to you (verifiers)."""

    serializer_class = RecheckItemSerializer
    filter_backends: list[Any] = []

    def get_queryset(self):  # noqa: ANN201
        return rechecks_assigned_to(self.request.user)


class RecheckOutcomeView(generics.GenericAPIView):
    """POST /rechecks/items/{id}/outcome/ — confirmed, or problem_found with the stage to reopen to."""

    serializer_class = RecheckOutcomeBody
    filter_backends: list[Any] = []

    @extend_schema(responses=RecheckItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        if d["outcome"] == RecheckItem.Outcome.CONFIRMED:
            item = recheck_confirm(by=request.user, item_id=pk, note=d["note"])
        else:
            item = recheck_problem(by=request.user, item_id=pk, stage=d["stage"], note=d["note"])
        return Response(RecheckItemSerializer(item).data)


class ReportListView(generics.GenericAPIView):
    serializer_class = ReportBody
    filter_backends: list[Any] = []

    @extend_schema(responses=ReportSerializer(many=True))
    def get(self, request: Request) -> Response:
        _leaders_only(request)
        page = self.paginate_queryset(reports_visible_to(request.user))
        return self.get_paginated_response(ReportSerializer(page, many=True).data)

    @extend_schema(responses={201: ReportSerializer})
    def post(self, request: Request) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = report_create(by=request.user, **body.validated_data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReportDocumentView(APIView):
    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"):
                              OpenApiResponse(description="The report as a Word file")})
    def get(self, request: Request, pk: int) -> FileResponse:
        _leaders_only(request)
        report = get_object_or_404(reports_visible_to(request.user).exclude(file=""), pk=pk)
        response = FileResponse(report.file.open("rb"), as_attachment=True, filename=f"{report.title}.docx",
                                content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        response["Cache-Control"] = "private, no-store"
        return response
