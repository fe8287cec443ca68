"""What a pop shows, in one shape: built by the lookup, stored as the pop's `result`, published to its panels,
served by the REST API and the WebSocket consumer, and read by the panel (DESIGN.md §3 "Panel state").

A `PopResult` is the caller's number as displayed and the Freshdesk contacts that have it, most recently updated
first, each with its tickets ranked (`rank_tickets`) in the panel's ticket shape (`ticket_view`). Stored and sent as
JSON by `to_json`, which also names the first contact and its tickets (`contact`, `tickets`) for the panel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from screenpop.freshdesk.times import freshdesk_epoch, freshdesk_time
from screenpop.models import Pop
from screenpop.pops import reasons
from screenpop.pops.links import links_of_pop

POP_STATE = "pop.state"
RESOLVED_STATUSES = frozenset({4, 5})


@dataclass(frozen=True)
class PopResult:
    phone_display: str = ""
    contacts: tuple[dict[str, Any], ...] = ()
    # Where it came from: "index" (the phone index), "search" (Freshdesk's search), "cache-miss" (a recent miss of the
    # same number), "cache" (another lookup's result), "created" (a ticket the agent created), "none" or "".
    source: str = ""
    # From the tenant's mirror: the moment up to which the mirror was complete (ISO 8601), shown as its age.
    as_of: str = ""

    @property
    def contact(self) -> dict[str, Any] | None:
        return self.contacts[0] if self.contacts else None

    @property
    def tickets(self) -> list[dict[str, Any]]:
        return list(self.contacts[0].get("tickets", [])) if self.contacts else []

    def to_json(self) -> dict[str, Any]:
        return {
            "phone_display": self.phone_display,
            "contact": self.contact,
            "contacts": list(self.contacts),
            "tickets": self.tickets,
            "source": self.source,
            "as_of": self.as_of,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PopResult:
        """The result stored as `data` (a pop's `result`; `{}` while pending)."""
        data = data or {}
        contacts = data.get("contacts")
        if contacts is None:
            contacts = [data["contact"]] if data.get("contact") else []
        return cls(data.get("phone_display") or "", tuple(contacts), data.get("source") or "", data.get("as_of") or "")

    def shown(self, now: datetime) -> tuple[list[tuple[int, datetime]], list[int]]:
        """(ticket id, `updated_at` shown) pairs, `now` when Freshdesk gave none, and the contact ids this result
        shows: what ticket updates are matched against."""
        tickets = [
            (ticket["id"], freshdesk_time(ticket.get("updated_at")) or now)
            for contact in self.contacts
            for ticket in contact.get("tickets", [])
        ]
        return tickets, [contact["id"] for contact in self.contacts if isinstance(contact.get("id"), int)]

    def with_ticket(self, ticket: dict[str, Any]) -> PopResult:
        """This result with the ticket of the same id replaced by `ticket` (a `ticket_view`)."""
        return replace(
            self,
            contacts=tuple(
                {
                    **contact,
                    "tickets": [
                        ticket if shown.get("id") == ticket["id"] else shown for shown in contact.get("tickets", [])
                    ],
                }
                for contact in self.contacts
            ),
        )

    def with_new_ticket(self, ticket: dict[str, Any], requester_id: Any, limit: int) -> PopResult | None:
        """This result with `ticket` added to its requester's tickets (ranked, at most `limit`); None when the
        requester is not among the contacts shown."""
        if not any(contact.get("id") == requester_id for contact in self.contacts):
            return None
        return replace(
            self,
            contacts=tuple(
                {
                    **contact,
                    "tickets": rank_tickets([ticket, *contact.get("tickets", [])])[:limit],
                    "ticket_count": (contact.get("ticket_count") or 0) + 1,
                }
                if contact.get("id") == requester_id
                else contact
                for contact in self.contacts
            ),
        )


def ticket_view(ticket: dict[str, Any], labels: dict[str, dict[int, str]], base_url: str) -> dict[str, Any]:
    """The panel's ticket of a Freshdesk ticket object; `labels` as `freshdesk.labels.ticket_labels` gives them."""
    status = ticket.get("status")
    priority = ticket.get("priority")
    return {
        "id": ticket["id"],
        "subject": ticket.get("subject") or "",
        "status": status,
        "status_label": labels["status"].get(status, f"Status {status}") if status is not None else "",
        "priority": priority,
        "priority_label": labels["priority"].get(priority, f"Priority {priority}") if priority is not None else "",
        "updated_at": ticket.get("updated_at"),
        "url": f"{base_url}/a/tickets/{ticket['id']}",
    }


def contact_view(contact_id: int, base_url: str, **fields: Any) -> dict[str, Any]:
    """The panel's contact: `fields` (name, email, phone, mobile, tickets, ticket_count, tickets_beyond) over empty
    values. `url` is the contact's page in Freshdesk, which lists all their tickets; `ticket_count` how many the
    lookup's page of them held (None: not asked), `tickets_beyond` whether Freshdesk has more than that page."""
    return {
        "id": contact_id,
        "name": "",
        "email": None,
        "phone": None,
        "mobile": None,
        "url": f"{base_url}/a/contacts/{contact_id}",
        "tickets": [],
        "ticket_count": None,
        "tickets_beyond": False,
        **fields,
    }


def contact_view_of(contact: dict[str, Any], base_url: str, **fields: Any) -> dict[str, Any]:
    """The panel's contact of a Freshdesk contact object (its id, name, email, phone and mobile), with `fields`."""
    return contact_view(
        contact["id"],
        base_url,
        name=contact.get("name") or "",
        email=contact.get("email"),
        phone=contact.get("phone"),
        mobile=contact.get("mobile"),
        **fields,
    )


def rank_tickets(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unresolved tickets (open 2, pending 3, custom >= 6) first, then resolved 4 and closed 5; newest first in
    each group; ties by id, newest first. Takes Freshdesk ticket objects or `ticket_view` dicts (both have `id`,
    `status`, `updated_at`). Spam and deleted tickets never reach here (Freshdesk leaves them out)."""
    return sorted(
        tickets,
        key=lambda ticket: (
            ticket.get("status") in RESOLVED_STATUSES,
            -freshdesk_epoch(ticket.get("updated_at")),
            -int(ticket.get("id") or 0),
        ),
    )


def _phone(pop: Pop | None, result: PopResult) -> dict[str, str]:
    if pop is None:
        return {"e164": "", "display": ""}
    return {"e164": pop.phone_e164, "display": result.phone_display or pop.phone_e164 or pop.phone_raw}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _retry_until(pop: Pop) -> datetime | None:
    """Until when the pop is looked up again without anyone asking; None when it is not (any more)."""
    if pop.reason not in reasons.RETRIED:
        return None
    if pop.state == Pop.State.PENDING:
        return pop.next_attempt_at or pop.updated_at  # a retry is scheduled, or under way
    if pop.state == Pop.State.UNAVAILABLE:
        until = reasons.unavailable_retry_until(pop.received_at, pop.attempts)
        return until if until is not None and until > timezone.now() else None
    return None


def panel_state(
    pop: Pop | None, *, conversation_id: str, reason: str = reasons.WAITING_FOR_CALL_EVENT
) -> dict[str, Any]:
    """The panel's message for a pop, or for a conversation whose call event has not arrived yet (pending, with
    `reason` saying why: waiting by default, or what the event log knows of its call event).

    `reason` is a code the panel translates (`pops.reasons`); `retrying` says the lookup is tried again without
    anyone asking (after a failure), until `retry_until`.

    A pop read through `pops_with_links` adds `link` (the ticket an agent said the call is about, or None) and
    `suggested_link` (the number's newest link on another call, offered first while this one has none). A state
    without these members (a lookup's push) leaves the panel's link as it was.
    """
    if pop is None:
        return {
            "type": POP_STATE,
            "conversation_id": conversation_id,
            "state": Pop.State.PENDING,
            "phone": _phone(None, PopResult()),
            "contact": None,
            "contacts": [],
            "tickets": [],
            "updated_at": None,
            "detail": "Waiting for the call event from Genesys.",
            "reason": reason,
            "retrying": False,
            "retry_until": None,
        }
    result = PopResult.from_json(pop.result)
    retry_until = _retry_until(pop)
    state = {
        "type": POP_STATE,
        "conversation_id": pop.conversation_id,
        "state": pop.state,
        "phone": _phone(pop, result),
        "contact": result.contact,
        "contacts": list(result.contacts),
        "tickets": result.tickets,
        "updated_at": _iso(pop.updated_at),
        "detail": pop.detail,
        "reason": pop.reason,
        "retrying": retry_until is not None,
        "retry_until": _iso(retry_until),
        "attempts": pop.attempts,
        "as_of": result.as_of or None,
    }
    links = links_of_pop(pop)
    if links is not None:
        link, number_link = links
        state["link"] = link
        state["suggested_link"] = None if link else number_link
    return state
