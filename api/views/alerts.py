"""REST API for alerts: list/detail, transitions, timeline, comments, findings, intake, stats.

Views stay thin: reads start from `alerts.selectors`, writes call `workflow.services` and
`cases.services`. Who may do which transition is in `alerts.transitions.TRANSITIONS`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import Alert
from alerts.personal_data import alert_shown_values, full_pii_shown
from alerts.selectors import alert_list_for, alerts_visible_to, related_alerts
from api.auth import ApiKeyAuthentication, IsSourceSystem
from api.filters import AlertFilter
from api.pagination import AlertPagination
from api.parsers import SafeJSONParser
from api.serializers.alerts import (
    AlertDetailSerializer,
    AlertSerializer,
    IntakeItemSerializer,
    IntakeResponseSerializer,
    StatsOverviewSerializer,
    intake_items_validated,
)
from api.serializers.cases import (
    CommentSerializer,
    FindingCreateSerializer,
    FindingSerializer,
    TimelineEntrySerializer,
)
from api.serializers.workflow import TRANSITION_BODIES, EscalateHandlingBody, ReferralReplyBody
from api.throttles import ApiKeyThrottle
from cases.downloads import evidence_response
from cases.models import Comment, Finding, TimelineEntry
from cases.services import comment_add, finding_add
from core.paging import capped_count
from workflow import dashboard
from workflow.handling import alert_escalate_handling
from workflow.intake import alerts_ingest
from workflow.referrals import referral_reply_record
from workflow.services import alert_transition, alert_transition_precheck


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts in the requester's unit and below; anything else is 404."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    pagination_class = AlertPagination
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Alert]:
        return alert_list_for(self.request.user).order_by("-created_at", "-id")

    def filter_queryset(self, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        filtered = super().filter_queryset(queryset)
        if self.action == "list" and self.request.query_params.get("q") and capped_count(filtered)[1]:
            # A term in more than 10,000 alerts: the same rows without the search index's condition,
            # read off the list order's index until the page is full (alerts.search, `indexed`).
            self.request.huoyan_search_indexed = False
            filtered = super().filter_queryset(queryset)
        return filtered

    def _scoped_alert(self) -> Alert:
        return get_object_or_404(alerts_visible_to(self.request.user), pk=self.kwargs["pk"])

    @extend_schema(responses=AlertDetailSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Not get_object(): the list's filters (?status=…) must not turn a detail into a 404.
        alert = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        context = {
            **self.get_serializer_context(),
            **full_pii_context(request, alert, alert_shown_values(alert)),
        }
        return Response(AlertDetailSerializer(alert, context=context).data)

    @extend_schema(responses=TimelineEntrySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def timeline(self, request: Request, pk: str) -> Response:
        alert = self._scoped_alert()
        entries = TimelineEntry.objects.filter(alert=alert).select_related("actor").order_by("at", "id")
        page = self.paginate_queryset(entries)
        context = full_pii_context(request, alert, [e.text for e in page])
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True, context=context).data)

    @extend_schema(responses=AlertSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def related(self, request: Request, pk: str) -> Response:
        """Alerts about the same subject, from the same model or indicator, or with the same key
        from another source — to see before dispatching (within your scope)."""
        alert = self._scoped_alert()
        rows = related_alerts(request.user, alert)
        return Response(AlertSerializer(rows, many=True, context=self.get_serializer_context()).data)


def full_pii_context(request: Request, alert: Alert, values: list[Any]) -> dict[str, bool]:
    return {"full_pii": full_pii_shown(user=request.user, alert=alert, values=values, request=request)}


class _AlertChildView(generics.GenericAPIView):
    """Base for /alerts/{id}/<children>/: the alert is looked up in scope first (404 otherwise)."""

    filter_backends: list[Any] = []

    def alert(self) -> Alert:
        return get_object_or_404(alerts_visible_to(self.request.user), pk=self.kwargs["pk"])


def _list_with_pii(view: _AlertChildView, request: Request) -> Response:
    page = view.paginate_queryset(view.get_queryset())
    shown = [r.text for r in page]
    shown += [ev.original_name for r in page if isinstance(r, Finding) for ev in r.evidence.all()]
    context = {**view.get_serializer_context(), **full_pii_context(request, view.alert(), shown)}
    return view.get_paginated_response(view.get_serializer_class()(page, many=True, context=context).data)


class AlertCommentsView(_AlertChildView):
    serializer_class = CommentSerializer

    def get_queryset(self) -> QuerySet[Comment]:
        return Comment.objects.filter(alert=self.alert()).select_related("author")

    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request: Request, pk: str) -> Response:
        return _list_with_pii(self, request)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: str) -> Response:
        alert = self.alert()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = comment_add(alert_id=alert.pk, author=request.user, text=body.validated_data["text"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class AlertFindingsView(_AlertChildView):
    serializer_class = FindingSerializer
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]

    def get_queryset(self) -> QuerySet[Finding]:
        return (
            Finding.objects.filter(alert=self.alert())
            .select_related("author")
            .prefetch_related("evidence")
        )

    @extend_schema(responses=FindingSerializer(many=True))
    def get(self, request: Request, pk: str) -> Response:
        return _list_with_pii(self, request)

    @extend_schema(request={"multipart/form-data": FindingCreateSerializer}, responses={201: FindingSerializer})
    def post(self, request: Request, pk: str) -> Response:
        alert = self.alert()
        data = request.data
        if hasattr(data, "getlist") and "file" in request.FILES and "files" not in request.FILES:
            # Accept a single `file` part too, as many upload clients name it.
            data = data.copy()
            data.setlist("files", request.FILES.getlist("file"))
        body = FindingCreateSerializer(data=data)
        body.is_valid(raise_exception=True)
        finding = finding_add(
            alert_id=alert.pk, author=request.user, text=body.validated_data["text"],
            method=body.validated_data["method"], files=body.validated_data["files"],
        )
        return Response(FindingSerializer(finding).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(APIView):
    """Evidence is served only here, after the same scope check as its alert."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The file")})
    def get(self, request: Request, pk: int) -> FileResponse:
        return evidence_response(user=request.user, evidence_id=pk, request=request)


class AlertTransitionView(generics.GenericAPIView):
    """POST /alerts/{id}/transitions/{name}/ — one URL per transition, each with its own body."""

    transition: str = ""
    filter_backends: list[Any] = []

    def get_serializer_class(self) -> type:
        return TRANSITION_BODIES[self.transition]

    def get_queryset(self) -> QuerySet[Alert]:
        return alerts_visible_to(self.request.user)

    @extend_schema(responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(self.get_queryset().select_related("org_unit"), pk=pk)
        # Role and state are refused before the body is read (403/409 rather than 400), and
        # checked again under the row lock by the service.
        alert_transition_precheck(alert=alert, name=self.transition, by=request.user)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert_transition(alert_id=alert.pk, name=self.transition, by=request.user, data=dict(body.validated_data))
        fresh = alert_list_for(request.user).get(pk=alert.pk)
        return Response(AlertSerializer(fresh, context={"request": request}).data)


class AlertEscalateHandlingView(generics.GenericAPIView):
    """POST /alerts/{id}/escalate-handling/ — 提级办理: a supervisor of a unit above takes it over."""

    serializer_class = EscalateHandlingBody
    filter_backends: list[Any] = []

    @extend_schema(responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), pk=pk)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert_escalate_handling(alert_id=alert.pk, by=request.user, reason=body.validated_data["reason"])
        fresh = alert_list_for(request.user).get(pk=alert.pk)
        return Response(AlertSerializer(fresh, context={"request": request}).data)


class ReferralReplyView(generics.GenericAPIView):
    """POST /alerts/{id}/referral-reply/ — the department's reply to a referral (预警纠治), with
    attachments; then accept or reject it (`/transitions/accept_referral/`, `reject_referral`)."""

    serializer_class = ReferralReplyBody
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    filter_backends: list[Any] = []

    @extend_schema(request={"multipart/form-data": ReferralReplyBody}, responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), pk=pk)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        referral_reply_record(alert_id=alert.pk, by=request.user, reply=body.validated_data["reply"],
                              files=body.validated_data["files"])
        fresh = alert_list_for(request.user).get(pk=alert.pk)
        return Response(AlertSerializer(fresh, context={"request": request}).data)


class IntakeView(APIView):
    """Business systems push alerts here with `Authorization: Api-Key <key>`.

    One object or a list of up to 1000; a batch is all-or-nothing.
    """

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsSourceSystem]
    throttle_classes = [ApiKeyThrottle]

    @extend_schema(
        request=IntakeItemSerializer(many=True),
        responses={201: IntakeResponseSerializer, 200: IntakeResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        source = request.auth
        payload = request.data
        items = payload if isinstance(payload, list) else [payload]
        if not items:
            raise ValidationError({"detail": _("Send one alert object or a non-empty list.")})
        limit = settings.HUOYAN_INTAKE_MAX_BATCH
        if len(items) > limit:
            raise ValidationError({"detail": _("At most %(n)d alerts per request.") % {"n": limit}})
        context = {"source": source}
        # The common shape is validated without DRF's per-field machinery (same result); anything
        # else, and every refusal, goes through the serializer below.
        validated = intake_items_validated(items, context)
        if validated is None:
            validated = _intake_validated_by_serializer(payload, items, context)
        results = alerts_ingest(source=source, items=[IntakeItemSerializer.to_item(d) for d in validated])
        code = status.HTTP_201_CREATED if any(r.created for r in results) else status.HTTP_200_OK
        return Response(
            {"results": [{"id": r.id, "dedup_key": r.dedup_key, "created": r.created} for r in results]},
            status=code,
        )


def _intake_validated_by_serializer(payload: Any, items: list[Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(payload, list):
        # One list serializer: its child's fields are built once, not once per item.
        body = IntakeItemSerializer(data=items, many=True, context=context)
        if not body.is_valid():
            # DRF reports per-item errors keyed by index; answer one entry per item, in order.
            found = body.errors
            errors = [found.get(i, {}) for i in range(len(items))] if isinstance(found, dict) else list(found)
            _intake_refused(errors, errors)
        return list(body.validated_data)
    # One object: its own serializer, no list around it.
    one = IntakeItemSerializer(data=payload, context=context)
    if not one.is_valid():
        _intake_refused([one.errors], one.errors)
    return [one.validated_data]


def _intake_refused(errors: list[Any], shown: Any) -> None:
    bad = sum(1 for e in errors if e)
    raise ValidationError({
        "detail": _("%(bad)d of %(n)d alerts are invalid; nothing was stored.") % {"bad": bad, "n": len(errors)},
        "errors": shown,
    })


class StatsOverviewView(APIView):
    @extend_schema(responses=StatsOverviewSerializer)
    def get(self, request: Request) -> Response:
        figures = dashboard.overview(request.user)
        return Response(StatsOverviewSerializer(figures).data)

