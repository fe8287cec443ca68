"""The one place domain errors become HTTP responses (DESIGN.md §3 error shape)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from screenpop.errors import ScreenpopError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ScreenpopError):
        retry_after = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return Response(exc.as_body(), status=exc.status_code, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, drf_exceptions.APIException):
        response.data = {"error": exc.default_code, "detail": exc.detail}
    return response
