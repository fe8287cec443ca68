"""The webhook's ASGI fast path: `POST /api/v1/genesys/events` without Django's request machinery.

A Django view cannot acknowledge a call storm within Genesys's budget (DESIGN.md §7), so this endpoint is a bare
ASGI callable: it checks size and content type, parses the body, and hands the submission to the event loop's group
committer (`committer.GroupCommitter`), which answers once the batch holding it is durable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from screenpop import metrics
from screenpop.text import json_bytes
from screenpop.webhook.committer import committer
from screenpop.webhook.intake import submission_from_request

PATH = "/api/v1/genesys/events"

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


def too_large(limit: int) -> dict[str, str]:
    """The 413 body, the same from the fast path and the DRF view."""
    return {"error": "too_large", "detail": f"The body is larger than {limit} bytes."}


# The request headers the webhook reads; the others are not decoded.
_WANTED_HEADERS = frozenset(
    {
        b"authorization",
        b"content-length",
        b"content-type",
        b"x-screenpop-signature",
        b"x-screenpop-org",
        b"x-screenpop-timestamp",
    }
)
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for name, value in scope["headers"]:
        name = name.lower()
        if name in _WANTED_HEADERS:
            headers[name.decode("latin-1")] = value.decode("latin-1")
    return headers


async def _respond(send: ASGISend, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json_bytes(body)
    raw_headers = [*_JSON_HEADERS, (b"content-length", b"%d" % len(payload))]
    if headers:
        raw_headers += [(name.encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: ASGIReceive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return b""
    body = message.get("body", b"")
    if len(body) > limit:
        return None
    if not message.get("more_body", False):
        return body  # the usual case: the whole body in one message
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def webhook_app(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
    started = time.perf_counter()
    status = await _handle(scope, receive, send)
    metrics.webhook_ack_seconds.observe(time.perf_counter() - started)
    counter = _response_counters.get(status)
    if counter is None:
        counter = _response_counters[status] = metrics.webhook_responses.labels(status=str(status))
    counter.inc()


_response_counters: dict[int, Any] = {}


async def _handle(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> int:
    if scope["method"] != "POST":
        await _respond(send, 405, {"error": "method_not_allowed", "detail": "Use POST."}, {"allow": "POST"})
        return 405
    headers = _headers(scope)
    limit = settings.SCREENPOP_WEBHOOK_MAX_BYTES
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _respond(send, 413, too_large(limit))
        return 413
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        await _respond(
            send,
            415,
            {"error": "unsupported_media_type", "detail": "Send the body as JSON with Content-Type: application/json."},
        )
        return 415
    body = await _read_body(receive, limit)
    if body is None:
        await _respond(send, 413, too_large(limit))
        return 413
    reply = await committer().submit(submission_from_request(body=body, headers=headers))
    await _respond(send, reply.status, reply.body, reply.headers)
    return reply.status
