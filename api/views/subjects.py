"""Subject files over the API: search (`?q=` by name or credit code; an ID number only whole,
and audited) and one subject's file within the reader's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.models import Subject
from alerts.personal_data import subject_full_pii_shown
from alerts.subjects import subjects_search
from api.serializers.subjects import SubjectAlertSerializer, SubjectFileSerializer, SubjectFileSummarySerializer
from workflow.subject_files import subject_file

# How many of a subject's alerts its file shows inline; the rest are a page away.
LATEST = 100


class SubjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SubjectFileSummarySerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[Subject]:
        q = self.request.query_params.get("q", "")
        return subjects_search(user=self.request.user, q=q, request=self.request).order_by("name", "id")

    @extend_schema(parameters=[OpenApiParameter(
        "q", str, description="Name or credit code (its beginning); an ID number only whole.",
    )])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=SubjectFileSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The subject, its totals and its latest 100 alerts in your scope (all of them, paged:
        `/subjects/{id}/alerts/`)."""
        found = subject_file(user=request.user, subject_id=int(kwargs["pk"]))
        data = {"subject": found.subject, "totals": found.totals, "alerts": found.alerts[:LATEST]}
        full = subject_full_pii_shown(user=request.user, subject=found.subject, request=request)
        return Response(SubjectFileSerializer(data, context={"request": request, "full_pii": full}).data)

    @extend_schema(responses=SubjectAlertSerializer(many=True))
    @action(detail=True, methods=["get"])
    def alerts(self, request: Request, pk: str) -> Response:
        """Every alert about the subject in your scope, newest first, paginated."""
        found = subject_file(user=request.user, subject_id=int(pk))
        page = self.paginate_queryset(found.alerts)
        return self.get_paginated_response(SubjectAlertSerializer(page, many=True).data)
