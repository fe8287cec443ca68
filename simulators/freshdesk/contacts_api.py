"""Contact endpoints: `GET /api/v2/contacts`, `GET /api/v2/contacts/{id}`, `GET /api/v2/search/contacts`.

Handlers run with the simulator lock held and raise `ApiError` for anything but success.
"""

from __future__ import annotations

from simulators.freshdesk import errors
from simulators.freshdesk.clock import format_timestamp
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.params import ParamReader, paginated_response
from simulators.freshdesk.search import CONTACT_FIELDS, contact_values, matches, parse_query
from simulators.freshdesk.simulator import Simulator

__all__ = ["list_companies", "list_contacts", "search_contacts", "search_page", "since_honoured", "view_contact"]

STATES = ("blocked", "deleted", "unverified", "verified")
CONTACT_TYPES = ("contact", "visitor")
SEARCH_PAGE_SIZE = 30
MAX_SEARCH_PAGE = 10
# DOCS says `updated_since`; FC `INDEX_FIELDS`, Airbyte and python-freshdesk use `_updated_since`: accept both.
LIST_PARAMS = (
    "email",
    "mobile",
    "phone",
    "company_id",
    "state",
    "contact_type",
    "updated_since",
    "_updated_since",
    "page",
    "per_page",
)


def list_contacts(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """Contacts matching every filter given, by exact string equality, sorted by name (uncertain), paginated.

    Without `state`, blocked and deleted contacts are left out. Every contact is of type `contact`, so
    `contact_type=visitor` finds none.
    """
    params = ParamReader(request.query, since_honoured(sim, LIST_PARAMS))
    state = params.choice("state", STATES)
    contact_type = params.choice("contact_type", CONTACT_TYPES)
    company_id = params.positive_int("company_id")
    updated_since = params.timestamp("updated_since")
    underscored_since = params.timestamp("_updated_since")
    page = params.page()
    per_page = params.per_page()
    params.raise_if_invalid()
    since = max((value for value in (updated_since, underscored_since) if value is not None), default=None)
    contacts = sim.store.filter_contacts(
        phone=params.text("phone"),
        mobile=params.text("mobile"),
        email=params.text("email"),
        company_id=company_id,
        state=state,
        updated_since=since,
    )
    if contact_type == "visitor":
        contacts = []
    contacts.sort(key=lambda contact: (contact.name.lower(), contact.id))
    return paginated_response(request, [contact.to_api() for contact in contacts], page=page, per_page=per_page)


def since_honoured(sim: Simulator, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """`allowed` with the "changed since" spellings the `since_parameter` knob leaves (both by default)."""
    chosen = sim.knobs.since_parameter
    spellings = ("updated_since", "_updated_since")
    kept = [name for name in allowed if name not in spellings]
    return (*kept, *(spellings if chosen == "both" else (chosen,)))


def view_contact(sim: Simulator, request: Request, path_args: dict[str, str]) -> Response:
    """One contact, deleted ones included (they carry `"deleted": true`); 404 for an unknown id."""
    ParamReader(request.query, ()).raise_if_invalid()
    contact = sim.store.contacts.get(int(path_args["id"]))
    if contact is None:
        raise errors.not_found()
    return Response(200, contact.to_api())


def search_contacts(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """`{"total": N, "results": [...]}` over the search index (which lags); deleted contacts never match."""
    page, query = search_page(request)
    tree = parse_query(query, CONTACT_FIELDS)
    found = [
        contact
        for contact in sim.store.contact_index.visible(sim.now())
        if not contact.deleted and matches(tree, contact_values(contact), CONTACT_FIELDS)
    ]
    found.sort(key=lambda contact: (contact.created_at, contact.id), reverse=True)
    start = (page - 1) * SEARCH_PAGE_SIZE
    results = [contact.to_api() for contact in found[start : start + SEARCH_PAGE_SIZE]]
    return Response(200, {"total": len(found), "results": results})


def search_page(request: Request) -> tuple[int, str | None]:
    """The `page` (1-10; 30 results a page, fixed) and raw `query` of a search request; nothing else is allowed."""
    params = ParamReader(request.query, ("query", "page"))
    page = params.page(maximum=MAX_SEARCH_PAGE)
    params.raise_if_invalid()
    return page, params.text("query")


def list_companies(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    """`GET /api/v2/companies` (DOCS `#list_all_companies`): every company, by id, paginated; each with
    `custom_fields` and times (the seed's companies are a year old; their custom fields are empty)."""
    params = ParamReader(request.query, ("page", "per_page"))
    page = params.page()
    per_page = params.per_page()
    params.raise_if_invalid()
    seeded = format_timestamp(sim.now() - 365 * 86_400)
    companies = [
        {**company.to_api(), "custom_fields": {}, "created_at": seeded, "updated_at": seeded}
        for _, company in sorted(sim.store.companies.items())
    ]
    return paginated_response(request, companies, page=page, per_page=per_page)
