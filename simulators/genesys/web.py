"""HTTP plumbing shared by every resource module: the request and response types, the route table, the Genesys
`ErrorBody`, listings with page URIs, wildcard name filters and the JSON shape rules."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

JSON_TYPE = "application/json"


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime | None = None) -> str:
    """Genesys timestamps: ISO 8601 in UTC with milliseconds and a `Z`."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def public(value: Any) -> Any:
    """The wire form of a stored resource: keys starting with `_` are internal and `None` values are omitted.

    Omitting nulls is not cosmetic: the Python SDK's enum setters call `.lower()` on the value, so a JSON `null`
    for an enum field (e.g. `state`) raises inside `ApiClient.deserialize`. Genesys itself omits null fields.
    """
    if isinstance(value, dict):
        return {key: public(item) for key, item in value.items() if item is not None and not key.startswith("_")}
    if isinstance(value, list | tuple):
        return [public(item) for item in value]
    return value


class ApiError(Exception):
    """A Genesys `ErrorBody` response. `status`, `code` and `message` follow the platform's conventions."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        *,
        details: list[dict] | None = None,
        message_params: dict[str, str] | None = None,
        entity_id: str | None = None,
        entity_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or DEFAULT_CODES.get(status, "bad.request")
        self.details = details or []
        self.message_params = message_params or {}
        self.entity_id = entity_id
        self.entity_name = entity_name
        self.headers = headers or {}

    def body(self, context_id: str) -> dict:
        return error_body(
            self.status,
            self.message,
            self.code,
            context_id=context_id,
            details=self.details,
            message_params=self.message_params,
            entity_id=self.entity_id,
            entity_name=self.entity_name,
        )


DEFAULT_CODES = {
    400: "bad.request",
    401: "bad.credentials",
    403: "not.authorized",
    404: "not.found",
    409: "conflict",
    413: "request.entity.too.large",
    415: "unsupported.media.type",
    429: "too.many.requests.retry.after",
    500: "internal.server.error",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "gateway.timeout",
}


def error_body(
    status: int,
    message: str,
    code: str,
    *,
    context_id: str,
    details: list[dict] | None = None,
    message_params: dict[str, str] | None = None,
    entity_id: str | None = None,
    entity_name: str | None = None,
) -> dict:
    """The `ErrorBody` shape of reference §5; `messageWithParams` repeats the message with `{name}` placeholders."""
    body = {
        "message": message,
        "code": code,
        "status": status,
        "messageWithParams": message,
        "messageParams": message_params or {},
        "contextId": context_id,
        "details": details or [],
        "errors": [],
    }
    if entity_id:
        body["entityId"] = entity_id
    if entity_name:
        body["entityName"] = entity_name
    return body


def not_found(what: str = "The requested operation", entity_id: str | None = None) -> ApiError:
    return ApiError(
        404,
        f"{what} failed with status 404" if entity_id is None else f"{what} {entity_id} not found",
        "not.found",
        entity_id=entity_id,
    )


def bad_request(message: str, code: str = "bad.request", field_name: str | None = None) -> ApiError:
    details = [{"errorCode": code, "fieldName": field_name}] if field_name else None
    return ApiError(400, message, code, details=details)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message from http.server: case-insensitive .get()
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    token: Any = None  # oauth.Token once the server has authenticated an /api/v2 request

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def arg_list(self, name: str) -> list[str]:
        """A multi-valued query parameter: repeated (`id=a&id=b`) or comma-joined (`id=a,b`, as the SDK sends)."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def arg_int(self, name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"Value [{raw}] is not valid for field type [Integer].", "invalid.value", name) from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise bad_request(f"The value of {name} must be {bounds}; got {value}.", "invalid.value", name)
        return value

    def arg_bool(self, name: str) -> bool | None:
        raw = self.arg(name)
        return None if raw is None else raw.lower() == "true"

    def json(self, *, required: bool = True) -> Any:
        if not self.body.strip():
            if required:
                raise bad_request("The request body is missing.", "bad.request")
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request(f"The request body is not valid JSON: {error}.", "json.parse.error") from None

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        return body

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON (after public()), str → text, bytes → as is, None → empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(public(self.body), separators=(",", ":")).encode()


# Handlers take the simulator state (state.State) and the request; a dict or list result means 200 JSON.
Handler = Callable[[Any, Request], Response | dict | list | None]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    params: int
    handler: Handler
    authenticated: bool


class Router:
    """Method + path template (`/api/v2/things/{thingId}`) → handler. A literal segment beats a placeholder."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, authenticated: bool = True) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.routes.append(Route(method, re.compile(f"^{regex}$"), template.count("{"), handler, authenticated))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        candidates = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                candidates.append((route.params, len(candidates), route, found.groupdict()))
        if not candidates:
            return None
        _, _, route, params = min(candidates)
        return route, params


def name_matches(pattern: str | None, value: str) -> bool:
    """Genesys name filters: case-insensitive, exact unless a leading and/or trailing `*` makes it a wildcard."""
    if not pattern:
        return True
    pattern, value = pattern.lower(), value.lower()
    starts, ends = pattern.startswith("*"), pattern.endswith("*") and len(pattern) > 1
    core = pattern.strip("*")
    if starts and ends:
        return core in value
    if starts:
        return value.endswith(core)
    if ends:
        return value.startswith(core)
    return value == core


def page_listing(items: list[dict], request: Request, *, max_page_size: int = 500, default_page_size: int = 25) -> dict:
    """A page of `items` in the entity-listing shape of reference §5.

    The `*Uri` fields are relative paths repeating the request's other query parameters; `nextUri` is absent on
    the last page and `previousUri` on the first, because clients (the PA wizard) page until `nextUri` is absent.
    """
    page_size = request.arg_int("pageSize", default_page_size, maximum=max_page_size)
    page_number = request.arg_int("pageNumber", 1)
    total = len(items)
    page_count = math.ceil(total / page_size)
    others = [
        (key, value)
        for key, values in request.query.items()
        if key not in ("pageSize", "pageNumber")
        for value in values
    ]

    def uri(number: int) -> str:
        return f"{request.path}?{urlencode([('pageSize', page_size), ('pageNumber', number), *others])}"

    start = (page_number - 1) * page_size
    listing = {
        "entities": items[start : start + page_size],
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "selfUri": uri(page_number),
        "lastUri": uri(max(page_count, 1)),
    }
    if page_number < page_count:
        listing["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        listing["previousUri"] = uri(min(page_number - 1, max(page_count, 1)))
    return listing


def cursor_listing(items: list[dict], request: Request, *, max_page_size: int = 200) -> dict:
    """A page of `items` (sorted by their increasing `_order`) in the cursor shape `{entities, nextUri, previousUri,
    selfUri}`: `after` / `before` take the opaque cursors found in those URIs; `pageSize` is 25 by default."""
    page_size = request.arg_int("pageSize", 25, maximum=max_page_size)
    after, before = _cursor(request, "after"), _cursor(request, "before")
    if before is not None:
        page = [item for item in items if item["_order"] < before][-page_size:]
    else:
        page = [item for item in items if after is None or item["_order"] > after][:page_size]
    others = [
        (key, value)
        for key, values in request.query.items()
        if key not in ("pageSize", "after", "before")
        for value in values
    ]
    base = f"{request.path}?{urlencode([('pageSize', page_size), *others])}"
    listing: dict = {"entities": page, "selfUri": base}
    if page and items[-1]["_order"] > page[-1]["_order"]:
        listing["nextUri"] = f"{base}&after=c{page[-1]['_order']}"
    if page and items[0]["_order"] < page[0]["_order"]:
        listing["previousUri"] = f"{base}&before=c{page[0]['_order']}"
    return listing


def _cursor(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if raw is None:
        return None
    if not raw.startswith("c") or not raw[1:].isdigit():
        raise bad_request(f"Invalid cursor {raw!r}.", "invalid.value", name)
    return int(raw[1:])
