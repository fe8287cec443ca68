"""What every `/api/...` request goes through before and after its endpoint, in the real server's order.

0. **Hang** (knob): the connection is accepted and the request read, then nothing is ever answered; once the knob
   is off again (or the simulator reset) the connection is closed without an answer. Not logged.
1. **Outage** (knob): 503 from the "gateway", an HTML page, no rate-limit headers, nothing spent.
2. **Latency** (knob, per endpoint name): the request waits, without holding the simulator lock.
3. **Plan without API** (Free): 401 for a bad key, else 403 `require_feature`.
4. **Rate limit**: the request's credits are spent now, whatever happens next ("even invalid requests count
   towards the rate limit", DOCS); over the limit it is 429 with `Retry-After` and spends nothing.
5. **Route** (404 with an empty body; 405 with `Allow`), **content type** (415: bodies must be JSON),
   **Accept** (406), **authentication** (401 `invalid_credentials`). FC checks the content type even before
   routing, so a bare `PUT /api/v2/tickets` may really get 415; here a wrong verb is always 405 (reference §7).
6. **Faults** (knob `error_rate`): 500 `internal_error`, or 502/503/504 gateway pages.
7. The endpoint. Every answer from step 3 on carries `X-Freshdesk-Api-Version` and the `X-RateLimit-*` headers.

Each request is logged with its status and credits (`GET /_sim/requests`).
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from simulators.freshdesk import errors
from simulators.freshdesk.clock import format_timestamp
from simulators.freshdesk.errors import ApiError
from simulators.freshdesk.limits import Decision, retry_after_header
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.routes import Resolution, resolve
from simulators.freshdesk.simulator import Simulator

__all__ = ["handle_api"]

HANG_POLL_SECONDS = 0.05

API_VERSION_HEADER = {"X-Freshdesk-Api-Version": "latest=v2; requested=v2"}
_GATEWAY_PAGE = "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>"
_GATEWAY_REASONS = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}


def handle_api(sim: Simulator, request: Request) -> Response | None:
    """The response to an API request, or None when a reset happened while it waited (drop the connection)."""
    started = time.monotonic()
    epoch = sim.epoch
    resolution = resolve(request.method, request.path)
    knobs = sim.knobs
    credits = 0
    if knobs.hang:
        while sim.knobs.hang and sim.epoch == epoch:
            time.sleep(HANG_POLL_SECONDS)
        return None
    if knobs.outage:
        response = _gateway_page(503)
    else:
        delay = knobs.latency_seconds(resolution.name)
        if delay:
            time.sleep(delay)
        with sim.lock:
            if sim.epoch != epoch:
                return None
            response, credits = _answer(sim, request, resolution)
    if sim.epoch == epoch:
        _log(sim, request, resolution, response, credits, started)
    return response


def _answer(sim: Simulator, request: Request, resolution: Resolution) -> tuple[Response, int]:
    authenticated = _authenticated(request, sim.api_key)
    plan = sim.plan
    if not plan.has_api:
        decision = Decision(allowed=False, total=0, remaining=0, used=0)
        if authenticated:
            error = errors.flat_error(403, "require_feature", errors.require_feature("API"))
        else:
            error = errors.flat_error(401, "invalid_credentials", errors.INVALID_CREDENTIALS)
        return _with_headers(_error_response(error), decision), 0

    endpoint = resolution.endpoint
    credits = endpoint.credits(request) if endpoint else 1
    decision = sim.limiter.admit(
        plan=plan, now=sim.now(), credits=credits, bucket=endpoint.bucket if endpoint else None
    )
    if not decision.allowed:
        retry_after = retry_after_header(decision.retry_after, sim.clock.speed)
        body = {"message": "You have exceeded the limit of requests per minute"}
        return _with_headers(Response(429, body, {"Retry-After": retry_after}), decision), 0
    try:
        if endpoint is None:
            if resolution.allowed_methods:
                message = errors.method_not_allowed(request.method, resolution.allowed_methods)
                allow = {"Allow": ", ".join(resolution.allowed_methods)}
                raise errors.flat_error(405, "method_not_allowed", message, allow)
            raise errors.not_found()
        _check_content_type(request)
        _check_accept(request)
        if not authenticated:
            raise errors.flat_error(401, "invalid_credentials", errors.INVALID_CREDENTIALS)
        if sim.knobs.error_rate and sim.faults.random() < sim.knobs.error_rate:
            status = sim.faults.choice(sim.knobs.error_statuses)
            if status in _GATEWAY_REASONS:
                return _with_headers(_gateway_page(status), decision), decision.used
            raise errors.flat_error(500, "internal_error", errors.INTERNAL_ERROR)
        response = endpoint.handler(sim, request, resolution.path_args)
    except ApiError as error:
        response = _error_response(error)
    return _with_headers(response, decision), decision.used


def _authenticated(request: Request, api_key: str) -> bool:
    """HTTP Basic with the API key as the user name and any password (reference §2)."""
    scheme, _, encoded = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == api_key


def _check_content_type(request: Request) -> None:
    if request.method in ("GET", "DELETE", "HEAD"):
        return
    content_type = request.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise errors.flat_error(415, "invalid_content_type", errors.invalid_content_type(content_type))


def _check_accept(request: Request) -> None:
    accept = request.header("accept")
    if accept is None:
        return
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if not media_types & {"application/json", "*/*"}:
        raise errors.flat_error(406, "invalid_accept_header", errors.invalid_accept_header(accept))


def _error_response(error: ApiError) -> Response:
    return Response(error.status, error.body, dict(error.headers))


def _with_headers(response: Response, decision: Decision) -> Response:
    response.headers.update(API_VERSION_HEADER)
    response.headers.update(decision.headers())
    return response


def _gateway_page(status: int) -> Response:
    page = _GATEWAY_PAGE.format(_GATEWAY_REASONS[status]).encode("utf-8")
    return Response(status, headers={"Content-Type": "text/html"}, raw_body=page)


def _log(
    sim: Simulator, request: Request, resolution: Resolution, response: Response, credits: int, started: float
) -> None:
    body: Any = None
    if request.body:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = request.body.decode("utf-8", errors="replace")
    sim.log.append(
        {
            "at": format_timestamp(sim.now()),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "raw_query": request.raw_query,
            "endpoint": resolution.name,
            "status": response.status,
            "credits": credits,
            "duration_ms": round((time.monotonic() - started) * 1000),
            "body": body,
        }
    )
