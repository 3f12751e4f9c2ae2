"""Free tags on alerts: `GET|PUT /api/v1/alerts/{id}/tags/` `{tags: [...]}`."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.selectors import alerts_visible_to
from workflow.tags import alert_tags_set


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=32, allow_blank=True), max_length=50)


class AlertTagsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=TagsSerializer)
    def get(self, request: Any, pk: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), pk=pk)
        return Response({"tags": alert.tags})

    @extend_schema(request=TagsSerializer, responses=TagsSerializer)
    def put(self, request: Any, pk: int) -> Response:
        form = TagsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = alert_tags_set(alert_id=pk, by=request.user, tags=form.validated_data["tags"])
        return Response({"tags": alert.tags})
