"""A ticket's notes and conversations: `POST /api/v2/tickets/{id}/notes` and `GET /api/v2/tickets/{id}/conversations`
(reference §5 "Notes and conversations"; DOCS `#add_note_to_a_ticket`, `#list_all_ticket_notes`).

A note needs `body` (HTML); `private` defaults to true, `incoming` to false; `notify_emails` are agents' emails;
`user_id` (the author) defaults to the API key's agent and must be an agent. Every problem is reported at once, in
the validation shape. A note on a spam or deleted ticket is 405, on an unknown ticket 404. A note moves the ticket's
`updated_at`, as any change does; whether Freshdesk's "ticket updated" automations (and so its webhooks) fire on a
note depends on the rule ("Note is added" is its own event): uncertain, so no webhook is sent here.
The conversations list is every reply and note, oldest first, paged like every list (`page`, `per_page` ≤ 100,
`Link` while more pages exist). Both count against the account's total only: the DOCS table's sub-limits name ticket
create, update and list, not notes.
"""

from __future__ import annotations

from typing import Any

from simulators.freshdesk import errors
from simulators.freshdesk.catalog import AGENTS, API_AGENT_ID
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.params import ParamReader, paginated_response
from simulators.freshdesk.records import Ticket
from simulators.freshdesk.simulator import Simulator
from simulators.freshdesk.ticket_writes import read_json_object

__all__ = ["create_note", "list_conversations"]

NOTE_FIELDS = frozenset({"body", "private", "incoming", "notify_emails", "user_id"})


def _ticket(sim: Simulator, path_args: dict[str, str]) -> Ticket:
    ticket = sim.store.tickets.get(int(path_args["id"]))
    if ticket is None:
        raise errors.not_found()
    return ticket


def _note_values(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    problems: list[FieldError] = []
    values: dict[str, Any] = {"private": True, "incoming": False, "notify_emails": [], "user_id": API_AGENT_ID}
    for name in data:
        if name not in NOTE_FIELDS:
            problems.append(FieldError(name, errors.INVALID_FIELD, "invalid_field"))
    body = data.get("body")
    if "body" not in data:
        problems.append(FieldError("body", errors.MISSING_FIELD, "missing_field"))
    elif not isinstance(body, str):
        problems.append(FieldError("body", errors.datatype_mismatch("String", body), "datatype_mismatch"))
    elif not body.strip():
        problems.append(FieldError("body", "It should not be blank", "blank"))
    else:
        values["body"] = body
    for flag in ("private", "incoming"):
        if flag in data:
            if isinstance(data[flag], bool):
                values[flag] = data[flag]
            else:
                problems.append(FieldError(flag, errors.datatype_mismatch("Boolean", data[flag]), "datatype_mismatch"))
    if "notify_emails" in data:
        emails = data["notify_emails"]
        if not isinstance(emails, list) or not all(isinstance(item, str) for item in emails):
            problems.append(FieldError("notify_emails", errors.datatype_mismatch("Array", emails), "datatype_mismatch"))
        else:
            values["notify_emails"] = emails
    if "user_id" in data:
        user_id = data["user_id"]
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            problems.append(
                FieldError("user_id", errors.datatype_mismatch("Positive Integer", user_id), "datatype_mismatch")
            )
        elif user_id not in AGENTS.values():
            problems.append(FieldError("user_id", errors.absent_in_db("agent", "user_id")))
        else:
            values["user_id"] = user_id
    return values, problems


def create_note(sim: Simulator, request: Request, path_args: dict[str, str]) -> Response:
    ticket = _ticket(sim, path_args)
    if ticket.spam or ticket.deleted:
        raise errors.flat_error(405, "method_not_allowed", errors.method_not_allowed("POST", ["GET"]))
    values, problems = _note_values(read_json_object(request))
    if problems:
        raise errors.validation_failed(problems)
    note = sim.store.add_note(ticket, now=sim.now(), index_lag=sim.index_lag, **values)
    location = f"{request.base_url}/api/v2/tickets/{ticket.id}/conversations"
    return Response(201, note.to_api(), {"Location": location})


def list_conversations(sim: Simulator, request: Request, path_args: dict[str, str]) -> Response:
    params = ParamReader(request.query, ("page", "per_page"))
    page, per_page = params.page(), params.per_page()
    params.raise_if_invalid()
    ticket = _ticket(sim, path_args)
    oldest_first = sorted(ticket.conversations, key=lambda conversation: (conversation.created_at, conversation.id))
    return paginated_response(request, [item.to_api() for item in oldest_first], page=page, per_page=per_page)
