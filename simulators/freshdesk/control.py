"""The control API under `/_sim/`: knobs, request log, reset, and changes made "as an agent would".

Not part of Freshdesk: no authentication, no rate limits, not logged. Errors are `{"error": "..."}`, except
ticket changes, whose validation errors have the API's shape (the same validation runs).

    GET    /_sim/health              {"status": "ok", "now", "plan", "contacts", "tickets"}
    GET    /_sim/config              the knobs, plus "now"
    POST   /_sim/config              change some knobs (JSON object); answers the knobs
    GET    /_sim/requests?since=N    {"requests": [entries after seq N], "last_seq": M}
    DELETE /_sim/requests            forget the log (204)
    POST   /_sim/reset               reseed; knobs, clock, rate limits, log and webhooks back to start-up
    POST   /_sim/contacts            create a contact now (or at "created_at"); 201 with the contact
    POST   /_sim/contacts/{id}       change a contact's fields (bumps updated_at), or {"merged_into": id}: merge it away
    POST   /_sim/tickets             create a ticket for "requester_id" (optionally backdated); 201 with the ticket
    POST   /_sim/tickets/{id}        change subject/status/priority/...; bumps updated_at; fires the update webhook
    GET    /_sim/webhooks            webhook deliveries and their attempts
"""

from __future__ import annotations

import re
from typing import Any

from simulators.freshdesk.clock import format_timestamp, parse_datetime
from simulators.freshdesk.config import KnobError
from simulators.freshdesk.errors import ApiError
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.simulator import Simulator
from simulators.freshdesk.ticket_writes import (
    UPDATABLE_FIELDS,
    apply_ticket_update,
    read_json_object,
    ticket_attributes,
)
from simulators.freshdesk.tickets_api import ticket_view

__all__ = ["handle_control"]

CONTACT_FIELDS = {
    "name", "email", "other_emails", "phone", "mobile", "company_id", "twitter_id", "unique_external_id",
    "job_title", "language", "time_zone", "tags", "active", "blocked", "deleted", "created_at", "updated_at",
}  # fmt: skip
TICKET_FIELDS = {
    "requester_id", "subject", "description", "status", "priority", "source", "type", "tags", "responder_id",
    "group_id", "spam", "deleted", "created_at", "updated_at",
}  # fmt: skip


class _ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle_control(sim: Simulator, request: Request) -> Response:
    try:
        with sim.lock:
            return _dispatch(sim, request)
    except _ControlError as error:
        return Response(error.status, {"error": str(error)})
    except ApiError as error:
        return Response(error.status, error.body, dict(error.headers))


def _dispatch(sim: Simulator, request: Request) -> Response:
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_sim/health"):
        store = sim.store
        body = {"status": "ok", "now": format_timestamp(sim.now()), "plan": sim.knobs.plan}
        return Response(200, {**body, "contacts": len(store.contacts), "tickets": len(store.tickets)})
    if route == ("GET", "/_sim/config"):
        return Response(200, {**sim.knobs.to_json(), "now": format_timestamp(sim.now())})
    if route == ("POST", "/_sim/config"):
        try:
            knobs = sim.configure(_json_object(request))
        except KnobError as error:
            raise _ControlError(400, str(error)) from None
        return Response(200, {**knobs.to_json(), "now": format_timestamp(sim.now())})
    if route == ("GET", "/_sim/requests"):
        since = request.query.get("since", ["0"])[-1]
        if not since.isdigit():
            raise _ControlError(400, "since must be a sequence number")
        entries, last_seq = sim.log.since(int(since))
        return Response(200, {"requests": entries, "last_seq": last_seq})
    if route == ("DELETE", "/_sim/requests"):
        sim.log.clear()
        return Response(204)
    if route == ("POST", "/_sim/reset"):
        sim.reset()
        return Response(200, {"status": "reset", "now": format_timestamp(sim.now())})
    if route == ("POST", "/_sim/contacts"):
        return _create_contact(sim, _json_object(request))
    if route == ("POST", "/_sim/tickets"):
        return _create_ticket(sim, request, _json_object(request))
    if route == ("GET", "/_sim/webhooks"):
        return Response(200, {"deliveries": sim.webhooks.attempts()})
    contact_change = re.fullmatch(r"/_sim/contacts/(\d+)", route[1])
    if contact_change and request.method == "POST":
        return _change_contact(sim, int(contact_change[1]), _json_object(request))
    ticket_change = re.fullmatch(r"/_sim/tickets/(\d+)", route[1])
    if ticket_change and request.method == "POST":
        ticket = sim.store.tickets.get(int(ticket_change[1]))
        if ticket is None:
            raise _ControlError(404, f"no ticket {ticket_change[1]}")
        apply_ticket_update(sim, ticket, _json_object(request), base_url=request.base_url)
        return Response(200, ticket_view(sim, ticket))
    raise _ControlError(404, f"no control endpoint {request.method} {request.path}")


def _json_object(request: Request) -> dict[str, Any]:
    try:
        return read_json_object(request)
    except ApiError:
        raise _ControlError(400, "the body must be a JSON object") from None


def _times(data: dict[str, Any], now: float) -> dict[str, int]:
    """`created_at`/`updated_at` from ISO 8601 text (default: now; updated_at defaults to created_at)."""
    times = {}
    for name in ("created_at", "updated_at"):
        if name in data:
            parsed = parse_datetime(str(data[name]))
            if parsed is None:
                raise _ControlError(400, f"{name} must be an ISO 8601 date-time")
            times[name] = int(parsed)
    times.setdefault("created_at", int(now))
    times.setdefault("updated_at", times["created_at"])
    return times


def _create_contact(sim: Simulator, data: dict[str, Any]) -> Response:
    unknown = set(data) - CONTACT_FIELDS
    if unknown or not isinstance(data.get("name"), str):
        raise _ControlError(400, f"a contact needs a name; known fields: {', '.join(sorted(CONTACT_FIELDS))}")
    fields = {**data, **_times(data, sim.now())}
    contact = sim.store.add_contact(now=sim.now(), index_lag=sim.index_lag, **fields)
    return Response(201, contact.to_api())


def _change_contact(sim: Simulator, contact_id: int, data: dict[str, Any]) -> Response:
    """Change a contact's fields (bumping `updated_at`), or merge it into `merged_into` (it disappears)."""
    contact = sim.store.contacts.get(contact_id)
    if contact is None:
        raise _ControlError(404, f"no contact {contact_id}")
    if "merged_into" in data:
        primary = sim.store.contacts.get(data["merged_into"]) if isinstance(data["merged_into"], int) else None
        if primary is None or primary is contact:
            raise _ControlError(400, "merged_into must name another existing contact")
        sim.store.merge_contact(contact, primary, now=sim.now(), index_lag=sim.index_lag)
        return Response(200, primary.to_api())
    unknown = set(data) - (CONTACT_FIELDS - {"created_at", "updated_at"})
    if unknown:
        raise _ControlError(400, f"unknown contact field(s) {', '.join(sorted(unknown))}")
    sim.store.update_contact(contact, data, now=sim.now(), index_lag=sim.index_lag)
    return Response(200, contact.to_api())


def _create_ticket(sim: Simulator, request: Request, data: dict[str, Any]) -> Response:
    """A ticket for an existing `requester_id`, with the API's validation plus `spam`, `deleted` and times."""
    unknown = set(data) - TICKET_FIELDS
    requester = sim.store.contacts.get(data.get("requester_id", 0))
    if unknown or requester is None:
        raise _ControlError(400, f"a ticket needs an existing requester_id; known fields: {sorted(TICKET_FIELDS)}")
    flags = {name: bool(data[name]) for name in ("spam", "deleted") if name in data}
    changes = {name: value for name, value in data.items() if name in UPDATABLE_FIELDS}
    fields = {"subject": "Ticket created through /_sim", "description": None}
    fields.update(ticket_attributes(sim.store, changes), **flags, **_times(data, sim.now()))
    ticket = sim.store.add_ticket(now=sim.now(), index_lag=sim.index_lag, requester=requester, **fields)
    sim.ticket_changed(ticket, base_url=request.base_url)
    return Response(201, ticket_view(sim, ticket))
