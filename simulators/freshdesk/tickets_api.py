"""Ticket read endpoints: list, view, search, `ticket_fields`, and `agents/me` (reference §5).

Handlers run with the simulator lock held and raise `ApiError` for anything but success.
"""

from __future__ import annotations

from typing import Any

from simulators.freshdesk import errors
from simulators.freshdesk.catalog import API_AGENT_EMAIL, API_AGENT_ID, OPEN, ticket_fields_payload
from simulators.freshdesk.clock import format_timestamp
from simulators.freshdesk.contacts_api import SEARCH_PAGE_SIZE, search_page, since_honoured
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.params import ParamReader, paginated_response
from simulators.freshdesk.records import Ticket
from simulators.freshdesk.search import TICKET_FIELDS, matches, parse_query, ticket_values
from simulators.freshdesk.simulator import Simulator
from simulators.freshdesk.store import Store

__all__ = ["LIST_INCLUDES", "VIEW_INCLUDES", "list_tickets", "me", "search_tickets", "ticket_fields", "view_ticket"]

FILTERS = ("new_and_my_open", "watching", "spam", "deleted")
ORDER_BY = ("created_at", "due_by", "updated_at", "status")
ORDER_TYPES = ("asc", "desc")
LIST_INCLUDES = ("requester", "stats", "description")
VIEW_INCLUDES = ("conversations", "requester", "company", "stats")
MAX_TICKET_PAGE = 300  # FC `ApiTicketConstants::MAX_PAGE_LIMIT`
DEFAULT_WINDOW_SECONDS = 30 * 86_400
MAX_CONVERSATIONS = 10
LIST_PARAMS = (
    "filter",
    "requester_id",
    "email",
    "unique_external_id",
    "company_id",
    "updated_since",
    "order_by",
    "order_type",
    "include",
    "page",
    "per_page",
)


def list_tickets(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """`GET /api/v2/tickets`: filters, order, includes and pages as DOCS `#list_all_tickets` describes.

    Spam and deleted tickets only appear under `filter=spam`/`filter=deleted`. With none of `requester_id`,
    `email`, `unique_external_id`, `company_id`, `updated_since` or `filter`, only tickets created in the last 30
    days are listed (FC; the `thirty_day_window_always` knob applies the window to requester filters too). An
    unknown requester or company is a 400 naming the field, not an empty list.
    """
    params = ParamReader(request.query, since_honoured(sim, LIST_PARAMS))
    filter_name = params.choice("filter", FILTERS)
    requester_id = params.positive_int("requester_id")
    company_id = params.positive_int("company_id")
    updated_since = max(
        (value for value in (params.timestamp("updated_since"), params.timestamp("_updated_since")) if value),
        default=None,
    )
    order_by = params.choice("order_by", ORDER_BY) or "created_at"
    order_type = params.choice("order_type", ORDER_TYPES) or "desc"
    includes = params.choices("include", LIST_INCLUDES)
    page = params.page(maximum=MAX_TICKET_PAGE, beyond_maximum=errors.tickets_page_invalid(MAX_TICKET_PAGE))
    per_page = params.per_page()
    email = params.text("email")
    external_id = params.text("unique_external_id")
    params.raise_if_invalid()

    store = sim.store
    requester_ids = _requester_ids(store, requester_id=requester_id, email=email, external_id=external_id)
    if company_id is not None and company_id not in store.companies:
        raise errors.validation_failed([FieldError("company_id", errors.absent_in_db("company", "company_id"))])

    tickets = _filtered(list(store.tickets.values()), filter_name)
    if requester_ids is not None:
        tickets = [ticket for ticket in tickets if ticket.requester_id in requester_ids]
    if company_id is not None:
        tickets = [ticket for ticket in tickets if ticket.company_id == company_id]
    if updated_since is not None:
        tickets = [ticket for ticket in tickets if ticket.updated_at >= updated_since]
    requester_filtered = requester_ids is not None or company_id is not None
    if updated_since is None and filter_name is None and (not requester_filtered or sim.knobs.thirty_day_window_always):
        cutoff = sim.now() - DEFAULT_WINDOW_SECONDS
        tickets = [ticket for ticket in tickets if ticket.created_at >= cutoff]
    tickets.sort(key=lambda ticket: (getattr(ticket, order_by), ticket.id), reverse=order_type == "desc")

    items = []
    for ticket in tickets:
        item = ticket.to_api(with_description="description" in includes)
        if "requester" in includes:
            item["requester"] = store.contacts[ticket.requester_id].requester_summary()
        if "stats" in includes:
            item["stats"] = ticket.stats()
        items.append(item)
    return paginated_response(request, items, page=page, per_page=per_page)


def _requester_ids(
    store: Store, *, requester_id: int | None, email: str | None, external_id: str | None
) -> set[int] | None:
    """The contacts the requester filters name (None: no requester filter); 400 naming a filter nobody matches."""
    found: list[tuple[str, set[int]]] = []
    if requester_id is not None:
        found.append(("requester_id", {requester_id} & set(store.contacts)))
    if email is not None:
        contact = store.contact_by_email(email)
        found.append(("email", {contact.id} if contact else set()))
    if external_id is not None:
        found.append(("unique_external_id", {c.id for c in store.contacts_with("unique_external_id", external_id)}))
    problems = [FieldError(name, errors.absent_in_db("contact", name)) for name, ids in found if not ids]
    if problems:
        raise errors.validation_failed(problems)
    return set.intersection(*(ids for _, ids in found)) if found else None


def _filtered(tickets: list[Ticket], filter_name: str | None) -> list[Ticket]:
    if filter_name == "spam":
        return [ticket for ticket in tickets if ticket.spam and not ticket.deleted]
    if filter_name == "deleted":
        return [ticket for ticket in tickets if ticket.deleted]
    tickets = [ticket for ticket in tickets if not ticket.spam and not ticket.deleted]
    if filter_name == "new_and_my_open":
        return [t for t in tickets if t.status == OPEN and t.responder_id in (None, API_AGENT_ID)]
    if filter_name == "watching":
        return []  # the API key's agent watches no ticket
    return tickets


def view_ticket(sim: Simulator, request: Request, path_args: dict[str, str]) -> Response:
    """One ticket with its description; `include` adds conversations (first 10, oldest first), requester,
    company and stats. Spam and deleted tickets are shown too; 404 for an unknown id."""
    params = ParamReader(request.query, ("include",))
    includes = params.choices("include", VIEW_INCLUDES)
    params.raise_if_invalid()
    ticket = sim.store.tickets.get(int(path_args["id"]))
    if ticket is None:
        raise errors.not_found()
    return Response(200, ticket_view(sim, ticket, includes))


def ticket_view(sim: Simulator, ticket: Ticket, includes: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The representation `GET /tickets/{id}` (and ticket creation and update) answer with."""
    body = ticket.to_api(with_description=True)
    body["attachments"] = []
    if "conversations" in includes:
        oldest_first = sorted(ticket.conversations, key=lambda conversation: (conversation.created_at, conversation.id))
        body["conversations"] = [conversation.to_api() for conversation in oldest_first[:MAX_CONVERSATIONS]]
    if "requester" in includes:
        body["requester"] = sim.store.contacts[ticket.requester_id].requester_summary()
    if "company" in includes:
        company = sim.store.companies.get(ticket.company_id or 0)
        body["company"] = company.to_api() if company else None
    if "stats" in includes:
        body["stats"] = ticket.stats()
    return body


def search_tickets(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """`{"total": N, "results": [...]}` over the lagging index; spam and deleted tickets never match."""
    page, query = search_page(request)
    tree = parse_query(query, TICKET_FIELDS)
    found = [
        ticket
        for ticket in sim.store.ticket_index.visible(sim.now())
        if not ticket.spam and not ticket.deleted and matches(tree, ticket_values(ticket), TICKET_FIELDS)
    ]
    found.sort(key=lambda ticket: (ticket.created_at, ticket.id), reverse=True)
    start = (page - 1) * SEARCH_PAGE_SIZE
    results = [ticket.to_api(with_description=False) for ticket in found[start : start + SEARCH_PAGE_SIZE]]
    return Response(200, {"total": len(found), "results": results})


def ticket_fields(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """The account's ticket fields, optionally only those of one `type` (e.g. `default_status`)."""
    params = ParamReader(request.query, ("type",))
    params.raise_if_invalid()
    fields = ticket_fields_payload(timestamp=format_timestamp(sim.now() - 400 * 86_400) or "")
    wanted = params.text("type")
    return Response(200, [field for field in fields if wanted is None or field["type"] == wanted])


def me(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """The agent the API key belongs to (`GET /api/v2/agents/me`): what an install wizard checks a key with."""
    ParamReader(request.query, ()).raise_if_invalid()
    created = format_timestamp(sim.now() - 400 * 86_400)
    contact = {
        "active": True,
        "email": API_AGENT_EMAIL,
        "job_title": "Support Lead",
        "language": "en",
        "last_login_at": format_timestamp(sim.now() - 3600),
        "mobile": None,
        "name": "Sam Rivera",
        "phone": None,
        "time_zone": "Eastern Time (US & Canada)",
        "created_at": created,
        "updated_at": created,
    }
    body = {
        "available": True,
        "occasional": False,
        "id": API_AGENT_ID,
        "ticket_scope": 1,
        "signature": None,
        "group_ids": [],
        "role_ids": [43000007001],
        "skill_ids": [],
        "available_since": None,
        "type": "support_agent",
        "created_at": created,
        "updated_at": created,
        "contact": contact,
    }
    return Response(200, body)
