"""REST API for the use of results: notices as official documents (list, detail, .docx,
withdraw, re-issue), the rectification ledger (list, xlsx, reply, accept, reject) and the case
file (案卷) of an alert.

Views are thin: reads start from scoped selectors (out of scope → 404), writes call
`workflow.notices` and `workflow.ledger`, documents come from `workflow.documents`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import filter_by_unit_code
from alerts.policy import may_view_full_pii
from alerts.selectors import alerts_visible_to
from alerts.states import ActionKind
from api.serializers.results import (
    FeedbackBody,
    NoticeSerializer,
    RectificationOrderSerializer,
    ReissueBody,
    RejectBody,
    ReviewBody,
    WithdrawBody,
)
from audit.models import AuditEvent
from audit.services import audit_record
from cases.models import ResultAction
from workflow.documents import DOCX_CONTENT_TYPE, case_file_docx, notice_docx
from workflow.ledger import (
    LEDGER_STATES,
    feedback_accept,
    feedback_reject,
    ledger_for,
    rectification_feedback_record,
)
from workflow.ledger_export import ledger_xlsx
from workflow.notices import notice_reissue, notice_withdraw, notices_visible_to

DOCX = OpenApiResponse(OpenApiTypes.BINARY, description="A Word (.docx) file.")


def docx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"{filename}\""
    response["Cache-Control"] = "private, no-store"
    return response


class NoticeListView(generics.ListAPIView):
    """Notices in scope; `?kind=`, `?status=issued|withdrawn`, `?unit=` (issuing unit code, with
    the units below it)."""

    serializer_class = NoticeSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ResultAction]:
        qs = notices_visible_to(self.request.user).prefetch_related("replaced_by").order_by("-created_at", "-id")
        params = self.request.query_params
        if params.get("kind") in ActionKind.values:
            qs = qs.filter(kind=params["kind"])
        elif params.get("kind"):
            return qs.none()
        if params.get("status"):
            if params["status"] not in ResultAction.State.values:
                return qs.none()
            qs = qs.filter(state=params["status"])
        if params.get("unit"):
            qs = _by_unit(qs, params["unit"], "issuing_unit")
        return qs

    @extend_schema(parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, enum=ActionKind.values),
        OpenApiParameter("status", OpenApiTypes.STR, enum=ResultAction.State.values),
        OpenApiParameter("unit", OpenApiTypes.STR, description="Issuing unit code; includes the units below it."),
    ])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _by_unit(qs: QuerySet[ResultAction], code: str, field: str) -> QuerySet[ResultAction]:
    """The unit and the units below it; a code no unit can have (a NUL, too long) matches nothing."""
    if "\x00" in code or len(code) > 64:
        return qs.none()
    return filter_by_unit_code(qs, code, unit_field=field)


def _full_pii(request: Request, notice: ResultAction) -> bool:
    return may_view_full_pii(request.user, notice.alert)


class NoticeDetailView(APIView):
    @extend_schema(responses=NoticeSerializer)
    def get(self, request: Request, pk: int) -> Response:
        notice = get_object_or_404(notices_visible_to(request.user), pk=pk)
        return Response(NoticeSerializer(notice, context={"full_pii": _full_pii(request, notice)}).data)


class NoticeDocumentView(APIView):
    """The notice as a Word file in the official layout (a withdrawn one is marked 作废)."""

    @extend_schema(responses={200: DOCX})
    def get(self, request: Request, pk: int) -> HttpResponse:
        notice = get_object_or_404(notices_visible_to(request.user), pk=pk)
        content = notice_docx(notice, full_pii=_full_pii(request, notice))
        return docx_response(content, f"notice-{notice.pk}.docx")


class NoticeWithdrawView(APIView):
    @extend_schema(request=WithdrawBody, responses=NoticeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = WithdrawBody(data=request.data)
        body.is_valid(raise_exception=True)
        notice = notice_withdraw(notice_id=pk, by=request.user, reason=body.validated_data["reason"])
        return Response(NoticeSerializer(notice).data)


class NoticeReissueView(APIView):
    """Withdraw the notice (if still in force) and issue a corrected one with a new 文号."""

    @extend_schema(request=ReissueBody, responses={201: NoticeSerializer})
    def post(self, request: Request, pk: int) -> Response:
        old = get_object_or_404(notices_visible_to(request.user), pk=pk)
        body = ReissueBody(data=request.data)
        body.is_valid(raise_exception=True)
        new = notice_reissue(notice_id=old.pk, by=request.user, action=body.to_action(old.kind),
                             reason=body.validated_data["reason"])
        return Response(NoticeSerializer(new).data, status=201)


def _ledger(request: Request) -> QuerySet[ResultAction]:
    qs = ledger_for(request.user).prefetch_related("attachments")
    params = request.query_params
    if params.get("state") in LEDGER_STATES:
        qs = qs.filter(ledger_state=params["state"])
    if params.get("kind") in ActionKind.values:
        qs = qs.filter(kind=params["kind"])
    if params.get("unit"):
        qs = _by_unit(qs, params["unit"], "alert__org_unit")
    if params.get("open") in ("1", "true", "yes"):
        qs = qs.exclude(review=ResultAction.Review.ACCEPTED)
    if params.get("overdue") in ("1", "true", "yes"):
        qs = qs.filter(ledger_state="overdue")
    return qs


LEDGER_PARAMETERS = [
    OpenApiParameter("state", OpenApiTypes.STR, enum=list(LEDGER_STATES)),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=ActionKind.values),
    OpenApiParameter("unit", OpenApiTypes.STR, description="Unit code of the alert; includes the units below it."),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="Only orders whose reply is not accepted."),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="Only orders past their due date without a reply."),
]


class RectificationOrderListView(generics.ListAPIView):
    """The rectification ledger (整改台账): every notice in scope that asks for a reply, with its
    state: awaiting, due_soon, overdue, replied, accepted or rejected."""

    serializer_class = RectificationOrderSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ResultAction]:
        return _ledger(self.request)

    @extend_schema(parameters=LEDGER_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RectificationOrderExportView(APIView):
    @extend_schema(parameters=LEDGER_PARAMETERS, responses={200: OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request) -> HttpResponse:
        audit_record(action=AuditEvent.Action.EXPORT, actor=request.user, request=request,
                     object_type="rectification_ledger", data={"filters": request.query_params.dict()})
        response = HttpResponse(
            ledger_xlsx(_ledger(request)),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="huoyan-ledger-{timezone.localtime():%Y%m%d-%H%M}.xlsx"'
        )
        return response


class RectificationFeedbackView(APIView):
    @extend_schema(request=FeedbackBody, responses=RectificationOrderSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = FeedbackBody(data=request.data)
        body.is_valid(raise_exception=True)
        order = rectification_feedback_record(
            order_id=pk, by=request.user, feedback=body.validated_data["feedback"],
            files=body.validated_data["files"],
        )
        return Response(RectificationOrderSerializer(order).data)


class RectificationAcceptView(APIView):
    @extend_schema(request=ReviewBody, responses=RectificationOrderSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = ReviewBody(data=request.data)
        body.is_valid(raise_exception=True)
        order = feedback_accept(order_id=pk, by=request.user, note=body.validated_data["note"])
        return Response(RectificationOrderSerializer(order).data)


class RectificationRejectView(APIView):
    @extend_schema(request=RejectBody, responses=RectificationOrderSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = RejectBody(data=request.data)
        body.is_valid(raise_exception=True)
        order = feedback_reject(order_id=pk, by=request.user, reason=body.validated_data["reason"])
        return Response(RectificationOrderSerializer(order).data)


class AlertCaseFileView(APIView):
    """The case file (案卷) of an alert as a Word file."""

    @extend_schema(responses={200: DOCX})
    def get(self, request: Request, pk: int) -> HttpResponse:
        alert = get_object_or_404(alerts_visible_to(request.user).select_related("org_unit", "source"), pk=pk)
        full = may_view_full_pii(request.user, alert)
        audit_record(action=AuditEvent.Action.EXPORT, actor=request.user, request=request,
                     object_type="case_file", object_id=alert.pk, data={"full_pii": full})
        return docx_response(case_file_docx(alert, full_pii=full), f"case-file-{alert.pk}.docx")
