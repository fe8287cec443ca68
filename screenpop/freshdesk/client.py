"""The Freshdesk API v2 client: one account, one pooled session, explicit timeouts, domain errors only.

Facts it relies on are in reference/freshdesk.md: Basic auth `KEY:X`; JSON in and out; `+` must travel as `%2B`
(a raw `+` reads as a space, which silently breaks phone filters); list endpoints return bare arrays and a
`Link: <...>; rel="next"` header while more pages exist; an unknown `requester_id` on the ticket list is a 400, not
an empty list; every response carries `X-RateLimit-*` headers, and a 429 carries `Retry-After`.

Every request first asks the account's `RateBudget` (when there is one) and reports the response's headers back to
it, so a burst of lookups waits or fails fast here instead of earning a 429 for the whole account.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from screenpop import metrics
from screenpop.cpu import waiting
from screenpop.errors import ValidationFailed
from screenpop.freshdesk.budget import EndpointKind, RateBudget
from screenpop.freshdesk.errors import (
    FreshdeskAuthError,
    FreshdeskError,
    FreshdeskInvalidRequest,
    FreshdeskNotFound,
    FreshdeskRateLimited,
    FreshdeskTransientError,
)
from screenpop.text import storable_copy

__all__ = ["TIMEOUT_CODE", "FreshdeskClient", "freshdesk_base_url", "search_string"]

# The `code` of the `FreshdeskTransientError` raised when Freshdesk did not answer within the client's deadlines.
TIMEOUT_CODE = "freshdesk_timeout"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_BARE_LABEL_RE = re.compile(rf"^{_LABEL}$")
_FRESHDESK_HOST_RE = re.compile(rf"^{_LABEL}\.freshdesk\.com$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
_DOMAIN_HELP = "Enter your helpdesk's address, e.g. acme.freshdesk.com (the API is HTTPS-only on *.freshdesk.com)."

_MAX_PER_PAGE = 100
_MAX_SEARCH_PAGE = 10
_MAX_QUERY_CHARS = 512
# Freshdesk says which requester is unknown in a 400 rather than answering []; these are its words (FC
# `ticket_filter_validation.rb`): "There is no contact matching the given requester_id".
_NO_SUCH_REQUESTER = "no contact matching"


# What a single-quoted string of Freshdesk's query language may hold: its scanner ends the string at the next `'`
# and has no escape for it (FC `lib/freshquery`), and a `"` would end the whole query.
_SEARCH_STRING_RE = re.compile(r"^[^'\"\\\x00-\x1f]{1,200}$")


def search_string(value: str) -> str:
    """`value` as a single-quoted string of Freshdesk's search query language (`'jo@example.com'`).

    Raises ValueError for a value the language cannot carry (a quote, a backslash, a control character, nothing, or
    over 200 characters) rather than letting it end the string and add conditions of its own.
    """
    if not _SEARCH_STRING_RE.match(value or ""):
        raise ValueError("A Freshdesk search value cannot contain quotes, backslashes or control characters.")
    return f"'{value}'"


def freshdesk_base_url(domain_or_url: str) -> str:
    """The base URL (`https://acme.freshdesk.com`, no trailing slash) of a Freshdesk domain an admin typed.

    Accepts `acme`, `acme.freshdesk.com` or `https://acme.freshdesk.com[/]`. Anything else is refused with
    `ValidationFailed(field="freshdesk_domain")` before a request can carry the API key there: other hosts, look-alike
    hosts (`acme.freshdesk.com.evil.com`), plain HTTP, user info, ports, paths, queries. When the Django setting
    `SCREENPOP_ALLOW_SIMULATORS` is true, `http://127.0.0.1:<port>` and `http://localhost:<port>` pass too.
    """
    value = (domain_or_url or "").strip()
    if not value:
        raise ValidationFailed(f"The Freshdesk domain is empty. {_DOMAIN_HELP}", field="freshdesk_domain")
    lowered = value.lower()
    if "://" not in lowered:
        host = lowered.removesuffix(".")
        if _BARE_LABEL_RE.match(host):
            return f"https://{host}.freshdesk.com"
        if _FRESHDESK_HOST_RE.match(host):
            return f"https://{host}"
        raise ValidationFailed(f"{value!r} is not a Freshdesk domain. {_DOMAIN_HELP}", field="freshdesk_domain")

    parts = urlsplit(lowered)
    try:
        port = parts.port
    except ValueError:
        raise ValidationFailed(f"{value!r} has an invalid port. {_DOMAIN_HELP}", field="freshdesk_domain") from None
    host = parts.hostname or ""
    if "@" in parts.netloc or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValidationFailed(
            f"{value!r} must be the helpdesk's address alone, without user, path or query. {_DOMAIN_HELP}",
            field="freshdesk_domain",
        )
    if host in _LOOPBACK_HOSTS and parts.scheme == "http":
        if not getattr(settings, "SCREENPOP_ALLOW_SIMULATORS", False):
            raise ValidationFailed(
                f"{value!r} is a local simulator address, which this deployment does not allow "
                "(SCREENPOP_ALLOW_SIMULATORS is off).",
                field="freshdesk_domain",
            )
        if port is None or parts.netloc != f"{host}:{port}":
            raise ValidationFailed(f"{value!r}: a simulator address needs its port.", field="freshdesk_domain")
        return f"http://{host}:{port}"
    if parts.scheme != "https":
        raise ValidationFailed(f"{value!r} does not use HTTPS. {_DOMAIN_HELP}", field="freshdesk_domain")
    if port is not None or parts.netloc != host:
        raise ValidationFailed(f"{value!r} names a port; Freshdesk has none. {_DOMAIN_HELP}", field="freshdesk_domain")
    if not _FRESHDESK_HOST_RE.match(host):
        raise ValidationFailed(f"{value!r} is not a Freshdesk domain. {_DOMAIN_HELP}", field="freshdesk_domain")
    return f"https://{host}"


class FreshdeskClient:
    """A client of one Freshdesk account's API v2.

    Methods return the parsed JSON and raise only `FreshdeskError` subclasses (see `errors.py`); no `requests`
    exception escapes. `budget` (or None for none) is asked before every request and may hold it up to
    `budget_wait` seconds before refusing with `FreshdeskRateLimited`. `session` lets a caller share or stub the
    transport; by default the client owns a pooled `requests.Session` with no automatic retries (retry policy
    belongs to the lookup, which knows the call's deadline). Redirects are not followed, so the API key never
    travels to a host other than the validated one.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        budget: RateBudget | None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
        budget_wait: float = 2.0,
        pool_maxsize: int = 10,
    ) -> None:
        self.base_url = freshdesk_base_url(base_url)
        if not api_key or not api_key.strip():
            raise ValidationFailed("The Freshdesk API key is empty.", field="freshdesk_api_key")
        self.budget = budget
        self.timeout = (connect_timeout, read_timeout)
        self.budget_wait = budget_wait
        # Freshdesk's own server code and its long-lived integrations send the underscored name on contacts; the
        # documented one on tickets. `_send_since` switches to the other where the account refuses it.
        self.since_parameters = {"contacts": "_updated_since", "tickets": "updated_since"}
        self._auth = requests.auth.HTTPBasicAuth(api_key.strip(), "X")
        self._headers = {"Accept": "application/json", "User-Agent": "screenpop-freshdesk/1"}
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return f"<FreshdeskClient {self.base_url}>"

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    def __enter__(self) -> FreshdeskClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- contacts -----------------------------------------------------------------------------------------------

    def list_contacts(
        self,
        *,
        phone: str | None = None,
        mobile: str | None = None,
        email: str | None = None,
        state: str | None = None,
        updated_since: datetime | str | None = None,
        page: int = 1,
        per_page: int = 30,
    ) -> list[dict[str, Any]]:
        """`GET /api/v2/contacts` with exact-string filters (Freshdesk does not normalise phones); `state`
        (`deleted`, `blocked`, ...) lists those instead of the usable contacts."""
        params = {"phone": phone, "mobile": mobile, "email": email, "state": state, **_paging(page, per_page)}
        return _json_list(self._send_since("contacts", "/api/v2/contacts", params, updated_since, kind="contacts_list"))

    def iter_contacts_updated_since(
        self, since: datetime | str, *, max_pages: int = 10, per_page: int = _MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Contacts updated at or after `since`, following `Link: rel="next"` for at most `max_pages` pages.

        Stops silently at the bound; a caller that needs more resumes later from the newest `updated_at` it saw.
        Each page is one contacts-list call against the budget.
        """
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1.")
        response: requests.Response | None = self._send_since(
            "contacts", "/api/v2/contacts", _paging(1, per_page), since, kind="contacts_list"
        )
        for page in range(max_pages):
            if response is None:
                return
            yield from _json_list(response)
            next_url = self._next_page_url(response) if page + 1 < max_pages else None
            response = self._send("GET", next_url, kind="contacts_list") if next_url else None

    def list_companies(self, *, page: int = 1, per_page: int = _MAX_PER_PAGE) -> list[dict[str, Any]]:
        """`GET /api/v2/companies`: one page of the account's companies."""
        return _json_list(self._send("GET", self._url("/api/v2/companies", _paging(page, per_page)), kind="other"))

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        """`GET /api/v2/contacts/{id}` (a deleted contact too, with `"deleted": true`); `FreshdeskNotFound` for one
        that no longer exists (merged away, or deleted for good)."""
        return self._get_json(f"/api/v2/contacts/{int(contact_id)}", {}, kind="other")

    def search_contacts(self, query: str, page: int = 1) -> dict[str, Any]:
        """`GET /api/v2/search/contacts`: `{"total": N, "results": [...]}`, 30 per page, pages 1-10.

        `query` is the filter without its enclosing double quotes (as `phones.contact_search_query` builds it;
        already-quoted queries are sent as they are). Raises ValueError when the quoted query passes Freshdesk's
        512-character limit or `page` is outside 1-10, rather than spending a call on a certain 400.
        """
        quoted = query if len(query) >= 2 and query.startswith('"') and query.endswith('"') else f'"{query}"'
        if len(quoted) > _MAX_QUERY_CHARS:
            raise ValueError(f"Freshdesk search queries are at most {_MAX_QUERY_CHARS} characters; got {len(quoted)}.")
        if not 1 <= page <= _MAX_SEARCH_PAGE:
            raise ValueError(f"Freshdesk search pages run from 1 to {_MAX_SEARCH_PAGE}; got {page}.")
        return self._get_json("/api/v2/search/contacts", {"query": quoted, "page": page}, kind="other")

    def autocomplete_contacts(self, term: str) -> list[dict[str, Any]]:
        """`GET /api/v2/contacts/autocomplete?term=`: `[{"id", "name"}]` of contacts whose name starts with `term`."""
        found = self._get_json("/api/v2/contacts/autocomplete", {"term": term}, kind="other")
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    def autocomplete_companies(self, name: str) -> list[dict[str, Any]]:
        """`GET /api/v2/companies/autocomplete?name=`: `[{"id", "name"}]` of companies whose name starts with
        `name` (Freshdesk wraps them in `{"companies": [...]}`)."""
        found = self._get_json("/api/v2/companies/autocomplete", {"name": name}, kind="other")
        companies = found.get("companies") if isinstance(found, dict) else None
        return [item for item in companies if isinstance(item, dict)] if isinstance(companies, list) else []

    # -- tickets ------------------------------------------------------------------------------------------------

    def search_tickets(self, query: str, page: int = 1) -> dict[str, Any]:
        """`GET /api/v2/search/tickets`: `{"total": N, "results": [...]}`, with `search_contacts`' rules."""
        quoted = query if len(query) >= 2 and query.startswith('"') and query.endswith('"') else f'"{query}"'
        if len(quoted) > _MAX_QUERY_CHARS:
            raise ValueError(f"Freshdesk search queries are at most {_MAX_QUERY_CHARS} characters; got {len(quoted)}.")
        return self._get_json("/api/v2/search/tickets", {"query": quoted, "page": page}, kind="other")

    def list_tickets(
        self,
        *,
        requester_id: int | None = None,
        email: str | None = None,
        company_id: int | None = None,
        updated_since: datetime | str | None = None,
        order_by: str | None = None,
        order_type: str | None = None,
        per_page: int | None = None,
        page: int | None = None,
        include: Sequence[str] = (),
        filter_name: str | None = None,
    ) -> list[dict[str, Any]]:
        """`GET /api/v2/tickets`. An unknown `requester_id`/`email` returns `[]` (Freshdesk answers 400 there).

        Freshdesk only returns tickets created in the last 30 days unless a filter is given; pass
        `updated_since` (an old date) for a caller's history. Each `include` costs 2 more credits. `filter_name`
        (`deleted`, `spam`, ...) lists those tickets instead.
        """
        params = {
            "filter": filter_name,
            "requester_id": requester_id,
            "email": email,
            "company_id": company_id,
            "order_by": order_by,
            "order_type": order_type,
            "include": ",".join(include) or None,
            **_paging(page, per_page),
        }
        try:
            response = self._send_since(
                "tickets", "/api/v2/tickets", params, updated_since, kind="tickets_list", credits=1 + 2 * len(include)
            )
            return _json_list(response)
        except FreshdeskInvalidRequest as error:
            if error.status == 400 and _is_unknown_requester(error):
                return []
            raise

    def get_ticket(self, ticket_id: int, *, include: Sequence[str] = ()) -> dict[str, Any]:
        """`GET /api/v2/tickets/{id}`; raises `FreshdeskNotFound` for an id that does not exist."""
        credits = 1 + sum(2 if name == "conversations" else 1 for name in include)
        params = {"include": ",".join(include) or None}
        return self._get_json(f"/api/v2/tickets/{int(ticket_id)}", params, kind="other", credits=credits)

    def create_ticket(
        self,
        *,
        subject: str,
        description: str,
        phone: str | None = None,
        name: str | None = None,
        email: str | None = None,
        requester_id: int | None = None,
        source: int = 3,
        status: int = 2,
        priority: int = 1,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`POST /api/v2/tickets`: a phone ticket (source 3), open (2), low priority (1) by default.

        The requester is `requester_id`, `email` or `phone` (with `name`, which Freshdesk requires when only a
        phone is given). Beware: Freshdesk creates a new contact when no contact has exactly this phone string.
        `extra` adds other ticket fields (`type`, `custom_fields`, ...). Raises ValueError without a requester.
        """
        if requester_id is None and not email and not phone:
            raise ValueError("create_ticket needs a requester: requester_id, email or phone.")
        if phone and not email and requester_id is None and not name:
            raise ValueError("Freshdesk requires a name when a ticket's requester is given by phone only.")
        body: dict[str, Any] = {
            "subject": subject,
            "description": description,
            "source": source,
            "status": status,
            "priority": priority,
        }
        for key, value in (("requester_id", requester_id), ("email", email), ("phone", phone), ("name", name)):
            if value is not None:
                body[key] = value
        body.update(extra or {})
        response = self._send("POST", self._url("/api/v2/tickets"), kind="ticket_create", json=body)
        return _json(response)

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT /api/v2/tickets/{id}` with `fields` (`status`, `priority`, ...); counts against "ticket update"."""
        response = self._send("PUT", self._url(f"/api/v2/tickets/{int(ticket_id)}"), kind="ticket_update", json=fields)
        return _json(response)

    def create_note(self, ticket_id: int, *, body: str, private: bool = True) -> dict[str, Any]:
        """`POST /api/v2/tickets/{id}/notes`: a note (HTML `body`), private by default; returns the conversation.
        Raises `FreshdeskNotFound` for an unknown ticket, `FreshdeskInvalidRequest` for a spam or deleted one (405)."""
        url = self._url(f"/api/v2/tickets/{int(ticket_id)}/notes")
        return _json(self._send("POST", url, kind="other", json={"body": body, "private": private}))

    def iter_conversations(self, ticket_id: int) -> Iterator[dict[str, Any]]:
        """Every reply and note of a ticket, oldest first (`GET /api/v2/tickets/{id}/conversations`, 100 a page)."""
        url: str | None = self._url(f"/api/v2/tickets/{int(ticket_id)}/conversations", {"per_page": _MAX_PER_PAGE})
        while url:
            response = self._send("GET", url, kind="other")
            yield from _json_list(response)
            url = self._next_page_url(response)

    def ticket_fields(self) -> list[dict[str, Any]]:
        """`GET /api/v2/ticket_fields`: field definitions, with status/priority/source labels in `choices`."""
        return self._get_json("/api/v2/ticket_fields", {}, kind="other")

    def verify(self) -> int | None:
        """Check the domain and key with one cheap authenticated call (`GET /api/v2/agents/me`).

        Returns the plan's per-minute limit from `X-RateLimit-Total` (None if Freshdesk did not send it); raises
        `FreshdeskAuthError` for a bad key, `FreshdeskNotFound` for a domain without a helpdesk.
        """
        response = self._send("GET", self._url("/api/v2/agents/me"), kind="other")
        return _header_int(response.headers, "X-RateLimit-Total")

    # -- transport ----------------------------------------------------------------------------------------------

    def _send_since(
        self,
        resource: str,
        path: str,
        params: Mapping[str, Any],
        since: datetime | str | None,
        *,
        kind: EndpointKind,
        credits: int = 1,
    ) -> requests.Response:
        """GET a list with its "changed since" filter under the spelling this account honours.

        DOCS spells it `updated_since`, Freshdesk's own contact code `_updated_since` (reference §4, uncertain):
        the spelling an account refuses as an unknown field (400 `invalid_field` naming it) is swapped for the
        other once, and the one that worked is kept for the account's later calls.
        """
        if since is None:
            return self._send("GET", self._url(path, params), kind=kind, credits=credits)
        name = self.since_parameters[resource]
        try:
            return self._send("GET", self._url(path, {**params, name: _timestamp(since)}), kind=kind, credits=credits)
        except FreshdeskInvalidRequest as error:
            if not any(item.get("field") == name and item.get("code") == "invalid_field" for item in error.errors):
                raise
        other = "updated_since" if name == "_updated_since" else "_updated_since"
        response = self._send("GET", self._url(path, {**params, other: _timestamp(since)}), kind=kind, credits=credits)
        self.since_parameters[resource] = other
        return response

    def _get_json(self, path: str, params: Mapping[str, Any], *, kind: EndpointKind, credits: int = 1) -> Any:
        return _json(self._send("GET", self._url(path, params), kind=kind, credits=credits))

    def _url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        # quote (not quote_plus): `+` becomes %2B and a space %20, so nothing can be read as a space by mistake.
        query = urlencode(
            [(key, str(value)) for key, value in (params or {}).items() if value is not None], quote_via=quote
        )
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def _send(
        self,
        method: str,
        url: str,
        *,
        kind: EndpointKind,
        credits: int = 1,
        json: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """Send one request under the budget; return the 2xx response or raise the matching `FreshdeskError`."""
        if self.budget is not None:
            self.budget.acquire(kind, credits, block_up_to=self.budget_wait)
        try:
            with waiting():
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    headers=self._headers,
                    auth=self._auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
        except requests.Timeout as error:
            metrics.freshdesk_calls.labels(status="0").inc()
            raise FreshdeskTransientError(
                f"Freshdesk did not answer {method} {_path(url)} within {self._timeout_text()} "
                f"({error.__class__.__name__}).",
                code=TIMEOUT_CODE,
            ) from None
        except requests.ConnectionError as error:
            metrics.freshdesk_calls.labels(status="0").inc()
            raise FreshdeskTransientError(
                f"Could not connect to Freshdesk at {self.base_url} ({error.__class__.__name__}); check the domain "
                "and the network."
            ) from None
        except requests.RequestException as error:
            raise FreshdeskTransientError(
                f"The request {method} {_path(url)} to Freshdesk failed: {error.__class__.__name__}."
            ) from None
        metrics.freshdesk_calls.labels(status=str(response.status_code)).inc()
        if self.budget is not None:
            self.budget.observe(status=response.status_code, headers=response.headers)
        if response.status_code >= 300:
            raise _error_for(response, method, url)
        return response

    def _next_page_url(self, response: requests.Response) -> str | None:
        next_url = response.links.get("next", {}).get("url")
        if not next_url:
            return None
        # The key goes only where the base URL was validated to point, whatever the Link header says.
        if not next_url.startswith(f"{self.base_url}/api/v2/"):
            raise FreshdeskError(
                f"Freshdesk's next-page link {next_url!r} leaves {self.base_url}; refusing to follow it.",
                status=response.status_code,
            )
        return next_url

    def _timeout_text(self) -> str:
        connect, read = self.timeout
        return f"{connect:g} s to connect / {read:g} s to read"


def _paging(page: int | None, per_page: int | None) -> dict[str, int | None]:
    if per_page is not None and not 1 <= per_page <= _MAX_PER_PAGE:
        raise ValueError(f"Freshdesk's per_page runs from 1 to {_MAX_PER_PAGE}; got {per_page}.")
    if page is not None and page < 1:
        raise ValueError(f"Freshdesk pages start at 1; got {page}.")
    return {"page": page, "per_page": per_page}


def _timestamp(value: datetime | str | None) -> str | None:
    """Freshdesk's UTC timestamp form `YYYY-MM-DDTHH:MM:SSZ`; naive datetimes are taken as UTC."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        raise FreshdeskTransientError(
            f"Freshdesk answered {response.status_code} to {_path(response.url)} with a body that is not JSON.",
            status=response.status_code,
        ) from None
    # Ticket text is anyone's text: a NUL or a lone surrogate (only a \u escape makes them) would fail every save.
    return storable_copy(body) if b"\\u" in response.content else body


def _json_list(response: requests.Response) -> list[dict[str, Any]]:
    body = _json(response)
    if not isinstance(body, list):
        raise FreshdeskTransientError(
            f"Freshdesk answered {_path(response.url)} with {type(body).__name__}, not a list.",
            status=response.status_code,
        )
    return body


def _path(url: str) -> str:
    return urlsplit(url).path


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _is_unknown_requester(error: FreshdeskInvalidRequest) -> bool:
    return any(
        item.get("field") in ("requester_id", "email") and _NO_SUCH_REQUESTER in str(item.get("message", "")).lower()
        for item in error.errors
    ) or (_NO_SUCH_REQUESTER in error.detail.lower() and not error.errors)


def _error_for(response: requests.Response, method: str, url: str) -> FreshdeskError:
    """The domain error for a non-2xx response, with Freshdesk's own explanation in its message."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    errors = [item for item in body.get("errors") or [] if isinstance(item, dict)]
    freshdesk_code = body.get("code") if isinstance(body.get("code"), str) else None
    explanation = str(body.get("message") or body.get("description") or response.reason or "").strip()
    if errors:
        explanation = "; ".join(
            f"{item.get('field') or '-'}: {item.get('message') or ''} ({item.get('code') or '?'})" for item in errors
        )
        freshdesk_code = freshdesk_code or errors[0].get("code")
    what = f"Freshdesk answered {status} to {method} {_path(url)}"
    if freshdesk_code:
        what += f" ({freshdesk_code})"
    if explanation:
        what += f": {explanation[:300]}"
    common = {"status": status, "freshdesk_code": freshdesk_code}

    if status == 401:
        return FreshdeskAuthError(f"{what}. Check the API key of the Freshdesk connection.", **common)
    if status == 403:
        return FreshdeskAuthError(
            f"{what}. The key's agent lacks a permission, the plan lacks the feature or the API, or the account "
            "is locked.",
            **common,
        )
    if status == 404:
        return FreshdeskNotFound(f"{what}. Check the id, and the Freshdesk domain.", **common)
    if status == 429:
        retry_after = _header_int(response.headers, "Retry-After")
        return FreshdeskRateLimited(
            f"Freshdesk rate-limited the account on {method} {_path(url)}; retry in {retry_after or 60} s.",
            retry_after=retry_after if retry_after is not None else 60,
            **common,
        )
    if status >= 500:
        return FreshdeskTransientError(f"{what}.", **common)
    if 300 <= status < 400:
        location = response.headers.get("Location", "?")
        return FreshdeskNotFound(f"{what}: redirected to {location}, not followed. Check the domain.", **common)
    return FreshdeskInvalidRequest(f"{what}.", errors=errors, **common)
