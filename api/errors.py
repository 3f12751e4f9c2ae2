"""The API's one mapping of application errors to responses (the screens' is `web.access`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import ngettext
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors → 404/403/409; a service's ValidationError → 400 with field errors."""
    if isinstance(exc, AppError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, exceptions.Throttled):
        seconds = max(1, int(exc.wait or 1))
        exc = exceptions.Throttled(wait=exc.wait, detail=ngettext(
            "Too many requests: wait %(seconds)d second and try again.",
            "Too many requests: wait %(seconds)d seconds and try again.", seconds,
        ) % {"seconds": seconds})
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The project's handler404: under /api/ a JSON 404 like every other API error (clients and
    the OpenAPI schema expect JSON there); elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail), "code": "not_found"},
                            status=404)
    return defaults.page_not_found(request, exception)
