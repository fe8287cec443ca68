"""The API's endpoints: path, verb, handler, the name knobs and the request log use, and what a call costs.

Credits (reference §6): every call costs 1; on list endpoints each `include` adds 2; on the ticket view each
`include` adds 1, except `conversations`, which adds 2. Only includes the endpoint knows are charged (an unknown
one makes the call a 400, which still costs its base credit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from simulators.freshdesk import autocomplete, contacts_api, notes_api, ticket_writes, tickets_api
from simulators.freshdesk.limits import CONTACTS_LIST, TICKETS_CREATE, TICKETS_LIST, TICKETS_UPDATE
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.simulator import Simulator

__all__ = ["ENDPOINTS", "Endpoint", "Resolution", "resolve"]

Handler = Callable[[Simulator, Request, dict[str, str]], Response]


def _base_credit(request: Request) -> int:
    return 1


def _includes(request: Request, known: tuple[str, ...]) -> list[str]:
    values = parse_qs(request.raw_query).get("include")
    return [item.strip() for item in values[-1].split(",") if item.strip() in known] if values else []


def _list_credits(known: tuple[str, ...]) -> Callable[[Request], int]:
    return lambda request: 1 + 2 * len(_includes(request, known))


def _view_credits(request: Request) -> int:
    return 1 + sum(2 if item == "conversations" else 1 for item in _includes(request, tickets_api.VIEW_INCLUDES))


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # a regular expression matched against the whole path
    handler: Handler
    bucket: str | None = None  # the rate-limit sub-limit it counts against
    credits: Callable[[Request], int] = _base_credit

    def match(self, path: str) -> dict[str, str] | None:
        found = re.fullmatch(self.path, path)
        return found.groupdict() if found else None


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("contacts.list", "GET", r"/api/v2/contacts", contacts_api.list_contacts, CONTACTS_LIST),
    Endpoint("contacts.view", "GET", r"/api/v2/contacts/(?P<id>\d+)", contacts_api.view_contact),
    Endpoint("contacts.autocomplete", "GET", r"/api/v2/contacts/autocomplete", autocomplete.contacts_autocomplete),
    Endpoint("companies.autocomplete", "GET", r"/api/v2/companies/autocomplete", autocomplete.companies_autocomplete),
    Endpoint("contacts.search", "GET", r"/api/v2/search/contacts", contacts_api.search_contacts),
    Endpoint("companies.list", "GET", r"/api/v2/companies", contacts_api.list_companies),
    Endpoint(
        "tickets.list",
        "GET",
        r"/api/v2/tickets",
        tickets_api.list_tickets,
        TICKETS_LIST,
        _list_credits(tickets_api.LIST_INCLUDES),
    ),
    Endpoint("tickets.create", "POST", r"/api/v2/tickets", ticket_writes.create_ticket, TICKETS_CREATE),
    Endpoint("tickets.view", "GET", r"/api/v2/tickets/(?P<id>\d+)", tickets_api.view_ticket, None, _view_credits),
    Endpoint("tickets.update", "PUT", r"/api/v2/tickets/(?P<id>\d+)", ticket_writes.update_ticket, TICKETS_UPDATE),
    Endpoint("tickets.notes.create", "POST", r"/api/v2/tickets/(?P<id>\d+)/notes", notes_api.create_note),
    Endpoint(
        "tickets.conversations.list",
        "GET",
        r"/api/v2/tickets/(?P<id>\d+)/conversations",
        notes_api.list_conversations,
    ),
    Endpoint("tickets.search", "GET", r"/api/v2/search/tickets", tickets_api.search_tickets),
    Endpoint("ticket_fields.list", "GET", r"/api/v2/ticket_fields", tickets_api.ticket_fields),
    Endpoint("agents.me", "GET", r"/api/v2/agents/me", tickets_api.me),
)


@dataclass(frozen=True)
class Resolution:
    """The endpoint a request is for; or none, with the verbs the path does accept (empty: unknown path)."""

    endpoint: Endpoint | None
    path_args: dict[str, str]
    allowed_methods: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.endpoint.name if self.endpoint else "unknown"


def resolve(method: str, path: str) -> Resolution:
    allowed = []
    for endpoint in ENDPOINTS:
        path_args = endpoint.match(path)
        if path_args is None:
            continue
        if endpoint.method == method:
            return Resolution(endpoint, path_args)
        allowed.append(endpoint.method)
    return Resolution(None, {}, tuple(allowed))
