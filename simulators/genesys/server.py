"""The HTTP server: one `ThreadingHTTPServer` (HTTP/1.1, keep-alive, daemon threads) serving `/oauth/*`, `/api/v2/*`
and the control API `/_sim/*`, with what every Genesys response shares: `inin-correlation-id`, `ErrorBody` errors,
`inin-ratelimit-*` headers, 429s against a per-client limit, injected latency and faults, and the request log."""

from __future__ import annotations

import copy
import json
import math
import re
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simulators.genesys import (
    actions,
    architect,
    calls,
    identity,
    integrations,
    ivr,
    oauth,
    outbound,
    platform,
    quotas,
    seed,
    triggers,
)
from simulators.genesys.state import State
from simulators.genesys.web import DEFAULT_CODES, ApiError, Request, Response, Router, error_body

MAX_BODY_BYTES = 10 * 1024 * 1024
RATE_WINDOW_SECONDS = 60
CONFIG_KEYS = {
    "latency_ms": (int, float),
    "rate_limit_per_minute": int,
    "faults": list,
    "premium_type_id": (str, type(None)),
    "default_login_user": (str, type(None)),
    "redirect_uris": list,
    "enforce_permissions": bool,
    "auth_cache_seconds": (int, float),
    "flow_job_polls": int,
    "trigger_quota_per_minute": int,
    "trigger_quota_per_hour": int,
    "trigger_workflow_share": (int, float),
    "trigger_delivery_lag_seconds": (int, float),
    "implicit_grant_new_clients_until": (str, type(None)),
    "implicit_grant_until": (str, type(None)),
}


def build_router() -> Router:
    router = Router()
    for module in (oauth, identity, integrations, actions, platform, architect, triggers, calls, quotas, ivr, outbound):
        module.register(router)
    router.add("GET", "/_sim/health", lambda state, request: {"status": "ok"}, authenticated=False)
    router.add("POST", "/_sim/reset", reset_control, authenticated=False)
    router.add("GET", "/_sim/config", lambda state, request: state.config, authenticated=False)
    router.add("POST", "/_sim/config", config_control, authenticated=False)
    router.add("GET", "/_sim/log", log_control, authenticated=False)
    router.add("GET", "/_sim/seed", seed_control, authenticated=False)
    return router


def reset_control(state: State, request: Request) -> dict:
    seed.reset(state)
    return {"status": "reset"}


def config_control(state: State, request: Request) -> dict:
    """`POST /_sim/config` with any of CONFIG_KEYS; returns the whole configuration. Unknown keys are a 400."""
    changes = request.json_object()
    for key, value in changes.items():
        if key not in CONFIG_KEYS:
            raise ApiError(400, f"Unknown knob {key!r}; known: {', '.join(sorted(CONFIG_KEYS))}", "bad.request")
        if not isinstance(value, CONFIG_KEYS[key]) or (isinstance(value, bool) and key != "enforce_permissions"):
            raise ApiError(400, f"Knob {key!r} has the wrong type: {value!r}", "bad.request")
        if key.startswith("implicit_grant") and value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ApiError(400, f"Knob {key!r} is a date, YYYY-MM-DD: {value!r}", "bad.request")
    with state.lock:
        state.config.update(copy.deepcopy(changes))
        if "redirect_uris" in changes:
            for client in state.oauth_clients.values():
                if client["_browser"]:
                    client["registeredRedirectUri"] = list(changes["redirect_uris"])
        if "rate_limit_per_minute" in changes:
            state.rate_windows.clear()
        if any(key.startswith("trigger_quota") or key == "trigger_workflow_share" for key in changes):
            state.trigger_invocations.clear()
        return state.config


def log_control(state: State, request: Request) -> dict:
    """`GET /_sim/log?since=<seq>&direction=in|out`: received requests (`in`) and the simulator's own outgoing
    requests (`out`), oldest first, secrets masked."""
    since = request.arg_int("since", 0, minimum=0)
    direction = request.arg("direction")
    with state.lock:
        entries = [e for e in state.log if e["seq"] > since and (direction is None or e["direction"] == direction)]
    return {"entries": entries}


def seed_control(state: State, request: Request) -> dict:
    """The seeded ids and secrets people need: organisations, users, queues and OAuth clients."""
    with state.lock:
        return {
            "orgs": [
                {"id": o["id"], "name": o["name"], "thirdPartyOrgName": o["thirdPartyOrgName"]}
                for o in state.orgs.values()
            ],
            "users": [
                {"id": u["id"], "name": u["name"], "email": u["email"], "org_id": u["_org_id"], "agent": u["_agent"]}
                for u in state.users.values()
            ],
            "queues": [{"id": q["id"], "name": q["name"], "org_id": q["_org_id"]} for q in state.queues.values()],
            "clients": {
                name: {"id": client_id, "secret": secret} for name, (client_id, secret) in seed.SEED["clients"].items()
            },
        }


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: State) -> None:
        self.state = state
        self.router = build_router()
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimulatorServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Requests go to the /_sim/log ring buffer instead of stderr."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would be parsed as the next request
            raise ApiError(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        state = self.server.state
        context_id = str(uuid.uuid4())
        url = urlsplit(self.path)
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True), self.headers, b"")
        self.rate_headers: dict[str, str] = {}
        try:
            request.body = self._read_body()
            response = self._dispatch(state, request)
        except ApiError as error:
            response = Response(error.status, error.body(context_id), headers=error.headers)
        except Exception:  # a bug in the simulator: answer like the platform would, and say where
            traceback.print_exc(file=sys.stderr)
            response = Response(
                500,
                error_body(
                    500, "The server encountered an internal error.", "internal.server.error", context_id=context_id
                ),
            )
        if isinstance(response.body, dict) and response.status >= 400 and "contextId" in response.body:
            response.body["contextId"] = context_id
        self._send(response, {"inin-correlation-id": context_id, **self.rate_headers})
        if not (request.path == "/_sim/log" and request.method == "GET"):
            state.record(_log_entry(request, response))

    def _dispatch(self, state: State, request: Request) -> Response:
        if not request.path.startswith("/_sim/"):
            if state.config.get("latency_ms"):
                time.sleep(state.config["latency_ms"] / 1000)
            fault = _take_fault(state, request)
            if fault is not None:
                return fault
        matched = self.server.router.match(request.method, request.path)
        if matched is None:
            raise ApiError(404, f"No resource at {request.method} {request.path}.", "not.found")
        route, request.path_params = matched
        if route.authenticated:
            request.token = oauth.authenticate(state, request)
            self.rate_headers, refusal = _rate_limit(state, request)
            if refusal is not None:
                return refusal
        result = route.handler(state, request)
        if isinstance(result, Response):
            return result
        return Response(204) if result is None else Response(200, result)

    def _send(self, response: Response, headers: dict[str, str]) -> None:
        payload = response.encoded()
        self.send_response(response.status)
        for name, value in {**headers, **response.headers}.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def too_many_requests(retry_after: int, limit: int | None = None) -> Response:
    """The normalised 429 of reference §5: `Retry-After` and `too.many.requests.retry.after`."""
    body = error_body(
        429,
        f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds",
        "too.many.requests.retry.after",
        context_id="",
        message_params={"retryAfter": str(retry_after)},
    )
    body["messageWithParams"] = "Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds"
    if limit is not None:
        body["limit"] = {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": limit}
    return Response(429, body, headers={"Retry-After": str(retry_after)})


def _take_fault(state: State, request: Request) -> Response | None:
    with state.lock:
        for fault in state.config.get("faults") or []:
            path, method = fault.get("path", ""), fault.get("method")
            matches = request.path.startswith(path[:-1]) if path.endswith("*") else request.path == path
            if not matches or (method and method.upper() != request.method) or fault.get("count", 0) <= 0:
                continue
            fault["count"] -= 1
            status, retry_after = int(fault.get("status", 429)), int(fault.get("retry_after", 1))
            if status == 429:
                return too_many_requests(retry_after)
            code = fault.get("code") or DEFAULT_CODES.get(status, "internal.server.error")
            body = error_body(status, fault.get("message") or f"Injected fault {status}.", code, context_id="")
            return Response(status, body, headers={"Retry-After": str(retry_after)} if status in (503, 504) else {})
    return None


def _rate_limit(state: State, request: Request) -> tuple[dict[str, str], Response | None]:
    """A fixed one-minute window per token subject: the OAuth client, or client + user for user tokens."""
    limit = int(state.config.get("rate_limit_per_minute") or 300)
    token = request.token
    key = f"{token.client_id}:{token.user_id or ''}"
    now = time.time()
    with state.lock:
        window = state.rate_windows.get(key)
        if window is None or now - window[0] >= RATE_WINDOW_SECONDS:
            window = state.rate_windows[key] = [now, 0]
        window[1] += 1
        count, reset = window[1], max(1, math.ceil(window[0] + RATE_WINDOW_SECONDS - now))
    headers = {
        "inin-ratelimit-allowed": str(limit),
        "inin-ratelimit-count": str(min(count, limit)),
        "inin-ratelimit-reset": str(reset),
    }
    return headers, too_many_requests(reset, limit) if count > limit else None


def _log_entry(request: Request, response: Response) -> dict:
    content_type = (request.headers.get("Content-Type") or "").lower()
    body: object = None
    if request.body:
        if "json" in content_type:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = request.body.decode("utf-8", "replace")
        elif "x-www-form-urlencoded" in content_type:
            body = request.form()
        else:
            body = request.body.decode("utf-8", "replace")[:4096]
    return {
        "direction": "in",
        "method": request.method,
        "path": request.path,
        "query": {key: values if len(values) > 1 else values[0] for key, values in request.query.items()},
        "headers": dict(request.headers.items()),
        "body": body,
        "status": response.status,
    }


def serve(host: str, port: int, state: State) -> None:
    seed.reset(state)
    server = SimulatorServer((host, port), state)
    print(f"Genesys simulator listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
