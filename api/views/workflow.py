"""REST API for deadlines: extensions, the notification inbox, rectification orders.

Views are thin: reads go through scoped selectors (out of scope → 404), writes call the services
in `workflow.extensions` / `workflow.inbox`, which own the transaction and the rules.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import Alert
from alerts.personal_data import full_pii_shown
from alerts.selectors import alerts_visible_to
from core.masking import pii_text
from workflow.extensions import (
    MAX_EXTENSION_DAYS,
    extension_approve,
    extension_refuse,
    extension_request,
)
from workflow.inbox import notifications_for, notifications_mark_read, unread_count
from workflow.models import Extension, Notification

# ----- serializers -----


class MaskedFieldsMixin:
    """Masks ID and phone numbers in `masked_fields` unless the view set `full_pii` in the
    context (only views that ask `alerts.personal_data.full_pii_shown` for one alert do)."""

    masked_fields: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        full = bool(self.context.get("full_pii"))  # type: ignore[attr-defined]
        for name in self.masked_fields:
            if isinstance(data.get(name), str):
                data[name] = pii_text(data[name], full)
        return data


class ExtensionSerializer(MaskedFieldsMixin, serializers.ModelSerializer):
    masked_fields = ("reason", "decision_note")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Extension
        fields = [
            "id", "alert", "stage", "stage_seq", "days", "reason", "state", "requested_by", "created_at",
            "due_at_before", "due_at_after", "decided_by", "decided_at", "decision_note",
        ]
        read_only_fields = fields


class ExtensionRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_EXTENSION_DAYS, help_text=_("Working days wanted."))
    reason = serializers.CharField(max_length=2000)


class ExtensionDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NotificationSerializer(MaskedFieldsMixin, serializers.ModelSerializer):
    # Masked when written too; masked here as well so no older or hand-made row slips through.
    masked_fields = ("title", "body")
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "alert", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=1000,
        help_text=_("Notification ids; omit to mark everything read."),
    )


UnreadCountSerializer = inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})
MarkedSerializer = inline_serializer("MarkedRead", {"marked": serializers.IntegerField(),
                                                    "unread": serializers.IntegerField()})


# ----- views -----


class AlertExtensionsView(generics.ListAPIView):
    """GET: the extension requests of an alert; POST: ask for more time on its current stage."""

    serializer_class = ExtensionSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Extension]:
        return Extension.objects.filter(alert=self._alert()).select_related("requested_by", "decided_by")

    def _alert(self) -> Alert:
        return get_object_or_404(alerts_visible_to(self.request.user), pk=self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        full = full_pii_shown(user=request.user, alert=self._alert(), request=request,
                              values=[v for e in page for v in (e.reason, e.decision_note)])
        context = {**self.get_serializer_context(), "full_pii": full}
        return self.get_paginated_response(ExtensionSerializer(page, many=True, context=context).data)

    @extend_schema(request=ExtensionRequestSerializer, responses={201: ExtensionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        body = ExtensionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ext = extension_request(alert_id=pk, by=request.user, **body.validated_data)
        return Response(ExtensionSerializer(ext).data, status=status.HTTP_201_CREATED)


class ExtensionDecisionView(APIView):
    decision: str = "approve"

    @extend_schema(request=ExtensionDecisionSerializer, responses={200: ExtensionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        body = ExtensionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decide = extension_approve if self.decision == "approve" else extension_refuse
        ext = decide(extension_id=pk, by=request.user, note=body.validated_data["note"])
        return Response(ExtensionSerializer(ext).data)


class NotificationListView(generics.ListAPIView):
    """The requester's inbox, newest first; `?unread=true` for unread only."""

    serializer_class = NotificationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Notification]:
        qs = notifications_for(self.request.user)
        if self.request.query_params.get("unread") in ("1", "true", "yes"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread ones.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class UnreadCountView(APIView):
    @extend_schema(responses=UnreadCountSerializer)
    def get(self, request: Request) -> Response:
        return Response({"unread": unread_count(request.user)})


class MarkReadView(APIView):
    """POST {"ids": [...]} marks those read; an empty body marks all read."""

    @extend_schema(request=MarkReadSerializer, responses=MarkedSerializer)
    def post(self, request: Request) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        marked = notifications_mark_read(user=request.user, ids=body.validated_data.get("ids"))
        return Response({"marked": marked, "unread": unread_count(request.user)})


class NotificationReadView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        note = get_object_or_404(notifications_for(request.user), pk=pk)
        notifications_mark_read(user=request.user, ids=[note.pk])
        note.refresh_from_db()
        return Response(NotificationSerializer(note).data)
