"""The one place domain errors become HTTP responses (DESIGN.md §3 error shape)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from screenpop.errors import ScreenpopError
from screenpop.storage.connections import is_unreachable

# What a client waits before trying again while the database is unreachable: a PostgreSQL restart takes about a
# second, and Genesys's data action retries on a 503 that says when.
UNAVAILABLE_RETRY_AFTER_SECONDS = 1


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ScreenpopError):
        retry_after = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return Response(exc.as_body(), status=exc.status_code, headers=headers)
    if is_unreachable(exc):
        # Django closes the request's broken connection when the request ends (`close_old_connections`).
        body = {"error": "unavailable", "detail": "The database could not be reached; retry."}
        return Response(body, status=503, headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)})
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, drf_exceptions.APIException):
        response.data = {"error": exc.default_code, "detail": exc.detail}
    return response
