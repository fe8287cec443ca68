"""Ticket writes: `POST /api/v2/tickets` and `PUT /api/v2/tickets/{id}` (reference §5; FC `ticket_validation.rb`).

Creation finds the requester by `requester_id`, `email`, `twitter_id`, `facebook_id`, `unique_external_id` or
`phone`, in that order. An email, id or phone nobody has creates a new contact; phones compare as exact strings
against the work phone, so a differently formatted number creates a duplicate contact. `phone` alone needs `name`.
Defaults: status 2 (Open), priority 1 (Low), source 2 (Portal). `subject` and `description` are required, as the
account's ticket fields say (`required_for_agents`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from simulators.freshdesk import errors
from simulators.freshdesk.catalog import AGENTS, GROUPS, PRIORITIES, SOURCES, STATUSES, TICKET_TYPES
from simulators.freshdesk.clock import parse_datetime
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.records import Contact, Ticket
from simulators.freshdesk.simulator import Simulator
from simulators.freshdesk.store import Store
from simulators.freshdesk.tickets_api import ticket_view

__all__ = ["apply_ticket_update", "create_ticket", "read_json_object", "ticket_attributes", "update_ticket"]

REQUESTER_FIELDS = ("requester_id", "email", "twitter_id", "facebook_id", "unique_external_id", "phone")
MANDATORY_REQUESTER_FIELDS = "requester_id, phone, email, twitter_id, facebook_id, unique_external_id"
UPDATABLE_FIELDS = frozenset(
    {"subject", "description", "status", "priority", "source", "type", "responder_id", "group_id", "tags"}
    | {"custom_fields", "product_id", "company_id", "due_by", "fr_due_by"}
)
CREATABLE_FIELDS = UPDATABLE_FIELDS | {*REQUESTER_FIELDS, "name", "cc_emails", "email_config_id"}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 `invalid_json` otherwise."""
    try:
        data = request.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise errors.flat_error(400, "invalid_json", errors.INVALID_JSON)
    return data


def create_ticket(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    data = read_json_object(request)
    attributes, problems = _validated(sim.store, data, CREATABLE_FIELDS, creating=True)
    requester_given = [name for name in REQUESTER_FIELDS if data.get(name) not in (None, "")]
    if not requester_given:
        message = errors.fill_a_mandatory_field(MANDATORY_REQUESTER_FIELDS)
        problems.append(FieldError("requester_id", message, "missing_field"))
    elif requester_given == ["phone"] and not data.get("name"):
        problems.append(FieldError("name", errors.PHONE_NEEDS_NAME, "missing_field"))
    if problems:
        raise errors.validation_failed(problems)

    now = sim.now()
    requester = _requester(sim.store, data, now=now, index_lag=sim.index_lag)
    if requester.blocked:
        raise errors.validation_failed([FieldError("requester_id", errors.USER_BLOCKED)])
    attributes.setdefault("company_id", requester.company_id)
    ticket = sim.store.add_ticket(now=now, index_lag=sim.index_lag, requester=requester, **attributes)
    sim.ticket_changed(ticket, base_url=request.base_url)
    location = f"{request.base_url}/api/v2/tickets/{ticket.id}"
    return Response(201, ticket_view(sim, ticket), {"Location": location})


def update_ticket(sim: Simulator, request: Request, path_args: dict[str, str]) -> Response:
    ticket = sim.store.tickets.get(int(path_args["id"]))
    if ticket is None:
        raise errors.not_found()
    if ticket.spam or ticket.deleted:  # DOCS changelog, April 2016
        raise errors.flat_error(405, "method_not_allowed", errors.method_not_allowed("PUT", ["GET"]))
    data = read_json_object(request)
    if not data:
        raise errors.flat_error(400, "missing_params", errors.MISSING_PARAMS)
    apply_ticket_update(sim, ticket, data, base_url=request.base_url)
    return Response(200, ticket_view(sim, ticket))


def ticket_attributes(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """The validated attributes of an agent's change (`UPDATABLE_FIELDS`); 400 with every problem otherwise."""
    attributes, problems = _validated(store, data, UPDATABLE_FIELDS, creating=False)
    if problems:
        raise errors.validation_failed(problems)
    return attributes


def apply_ticket_update(sim: Simulator, ticket: Ticket, data: dict[str, Any], *, base_url: str) -> Ticket:
    """Validate and apply an agent's change to `ticket`, bump `updated_at`, and fire the update webhook."""
    attributes = ticket_attributes(sim.store, data)
    changes = {
        name: (getattr(ticket, name), value) for name, value in attributes.items() if getattr(ticket, name) != value
    }
    sim.store.update_ticket(ticket, attributes, now=sim.now(), index_lag=sim.index_lag)
    sim.ticket_changed(ticket, base_url=base_url, changes=changes)
    return ticket


def _requester(store: Store, data: dict[str, Any], *, now: float, index_lag: float) -> Contact:
    """The contact the ticket is for, created when none has the given email, id or exact phone string."""
    if data.get("requester_id") is not None:
        contact = store.contacts.get(data["requester_id"])
        if contact is None or contact.deleted:
            message = errors.absent_in_db("contact", "requester_id")
            raise errors.validation_failed([FieldError("requester_id", message)])
        return contact
    name = data.get("name")
    new_contact_fields = {"phone": data.get("phone"), "now": now, "index_lag": index_lag}
    if data.get("email"):
        email = data["email"].lower()
        existing = store.contact_by_email(email)
        return existing or store.add_contact(name=name or email.split("@")[0], email=email, **new_contact_fields)
    for attribute in ("twitter_id", "facebook_id", "unique_external_id", "phone"):
        value = data.get(attribute)
        if value:
            matching = store.contacts_with(attribute, value)
            if matching:
                return matching[0]
            return store.add_contact(name=name or value, **{**new_contact_fields, attribute: value})
    raise AssertionError("create_ticket checked that a requester field is present")


class _Invalid(Exception):
    def __init__(self, problem: FieldError) -> None:
        super().__init__(problem.message)
        self.problem = problem


Converter = Callable[[Store, str, Any], Any]


def _string(store: Store, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(FieldError(name, errors.datatype_mismatch("String", value), "datatype_mismatch"))
    return value


def _email(store: Store, name: str, value: Any) -> str:
    if not _EMAIL_RE.match(_string(store, name, value)):
        raise _Invalid(FieldError(name, "It should be in the 'valid email address' format"))
    return value


def _choice(choices: Iterable[Any], *, codes: bool = True) -> Converter:
    """One of `choices`; with `codes`, it must also be an integer (a string "2" is a datatype mismatch)."""

    def convert(store: Store, name: str, value: Any) -> Any:
        if codes and (not isinstance(value, int) or isinstance(value, bool)):
            raise _Invalid(FieldError(name, errors.datatype_mismatch("Integer", value), "datatype_mismatch"))
        if value not in tuple(choices):
            raise _Invalid(FieldError(name, errors.not_included(choices)))
        return value

    return convert


def _known_id(resource: str | None = None, known: Callable[[Store], Iterable[int]] | None = None) -> Converter:
    """A positive integer id; with `known`, one of those ids (else "There is no <resource> matching ...")."""

    def convert(store: Store, name: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise _Invalid(FieldError(name, errors.datatype_mismatch("Positive Integer", value), "datatype_mismatch"))
        if known is not None and value not in set(known(store)):
            raise _Invalid(FieldError(name, errors.absent_in_db(resource or name, name)))
        return value

    return convert


def _string_list(store: Store, name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid(FieldError(name, errors.datatype_mismatch("Array", value), "datatype_mismatch"))
    return value


def _timestamp(store: Store, name: str, value: Any) -> int:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise _Invalid(FieldError(name, errors.DATE_TIME_FORMAT))
    return int(parsed)


def _no_custom_fields(store: Store, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(FieldError(name, errors.datatype_mismatch("key/value pair", value), "datatype_mismatch"))
    if value:  # the simulated account has no custom ticket fields
        raise _Invalid(FieldError(next(iter(value)), errors.INVALID_FIELD, "invalid_field"))
    return value


_CONVERTERS: dict[str, Converter] = {
    "subject": _string,
    "description": _string,
    "status": _choice(STATUSES),
    "priority": _choice(PRIORITIES),
    "source": _choice(SOURCES),
    "type": _choice(TICKET_TYPES, codes=False),
    "responder_id": _known_id("agent", lambda store: AGENTS.values()),
    "group_id": _known_id("group", lambda store: GROUPS.values()),
    "company_id": _known_id("company", lambda store: store.companies),
    "product_id": _known_id(),
    "email_config_id": _known_id(),
    "requester_id": _known_id(),
    "tags": _string_list,
    "cc_emails": _string_list,
    "custom_fields": _no_custom_fields,
    "due_by": _timestamp,
    "fr_due_by": _timestamp,
    "email": _email,
    **{name: _string for name in ("name", "phone", "twitter_id", "facebook_id", "unique_external_id")},
}
_NOT_NULLABLE = {"subject", "description", "status", "priority", "source", "tags", "cc_emails", "custom_fields"}
_REQUIRED_ON_CREATE = ("subject", "description")


def _validated(
    store: Store, data: dict[str, Any], allowed: frozenset[str], *, creating: bool
) -> tuple[dict[str, Any], list[FieldError]]:
    """The ticket attributes `data` sets (requester fields excluded), and every problem with `data`."""
    problems = []
    if creating:
        missing = [name for name in _REQUIRED_ON_CREATE if name not in data]
        problems = [FieldError(name, errors.datatype_mismatch("String"), "missing_field") for name in missing]
    attributes: dict[str, Any] = {}
    for name, value in data.items():
        if name not in allowed:
            problems.append(FieldError(name, errors.INVALID_FIELD, "invalid_field"))
            continue
        try:
            if value is not None or name in _NOT_NULLABLE:
                value = _CONVERTERS[name](store, name, value)
        except _Invalid as invalid:
            problems.append(invalid.problem)
            continue
        if name not in REQUESTER_FIELDS and name != "name":
            attributes[name] = value
    return attributes, problems
