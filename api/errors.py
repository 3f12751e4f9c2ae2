"""The API's one mapping of application errors to responses (the screens' is `web.access`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors → 404/403/409; a service's ValidationError → 400 with field errors."""
    if isinstance(exc, AppError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
