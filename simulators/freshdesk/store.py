"""The account's data: contacts, companies, tickets, and a search index that lags behind them.

List and view endpoints read the records directly (a database: immediately consistent). Search endpoints read the
index, which shows a change only `index_lag_seconds` after it was made; until then it shows the version indexed
before (none, for a new record). That is DOCS' "updates will take a few minutes to get indexed" (reference §4).

The store is not thread-safe by itself: the simulator serialises access with its lock.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from simulators.freshdesk.catalog import CLOSED, RESOLVED, SLA_HOURS
from simulators.freshdesk.records import Company, Contact, Conversation, Ticket

__all__ = ["SearchIndex", "Store"]

Record = TypeVar("Record", Contact, Ticket)

FIRST_CONTACT_ID = 43000001001
FIRST_COMPANY_ID = 43000002001
FIRST_CONVERSATION_ID = 43000005001
FIRST_TICKET_ID = 1001


@dataclass
class _IndexEntry(Generic[Record]):
    current: Record
    previous: Record | None
    visible_from: float

    def version_at(self, now: float) -> Record | None:
        return self.current if now >= self.visible_from else self.previous


class SearchIndex(Generic[Record]):
    """Snapshots of records as search sees them, each becoming visible `lag` seconds after the change."""

    def __init__(self) -> None:
        self._entries: dict[int, _IndexEntry[Record]] = {}

    def record_change(self, record: Record, *, changed_at: float, lag: float) -> None:
        entry = self._entries.get(record.id)
        # While an earlier change is still pending, search keeps showing the version indexed before it.
        previous = entry.version_at(changed_at) if entry else None
        self._entries[record.id] = _IndexEntry(copy.deepcopy(record), previous, changed_at + lag)

    def visible(self, now: float) -> list[Record]:
        return [version for entry in self._entries.values() if (version := entry.version_at(now)) is not None]


class Store:
    """All records of the one simulated account, with id sequences and the search index."""

    def __init__(self) -> None:
        self.contacts: dict[int, Contact] = {}
        self.companies: dict[int, Company] = {}
        self.tickets: dict[int, Ticket] = {}
        self.contact_index: SearchIndex[Contact] = SearchIndex()
        self.ticket_index: SearchIndex[Ticket] = SearchIndex()
        self._next_contact_id = FIRST_CONTACT_ID
        self._next_ticket_id = FIRST_TICKET_ID
        self._next_conversation_id = FIRST_CONVERSATION_ID

    # Contacts

    def add_company(self, company: Company) -> None:
        self.companies[company.id] = company

    def add_contact(self, *, now: float, index_lag: float, contact_id: int | None = None, **fields: Any) -> Contact:
        """Create a contact; `created_at`/`updated_at` default to `now` (whole seconds)."""
        contact_id = contact_id or self._next_contact_id
        self._next_contact_id = max(self._next_contact_id, contact_id + 1)
        fields.setdefault("created_at", int(now))
        fields.setdefault("updated_at", fields["created_at"])
        contact = Contact(id=contact_id, **fields)
        self.contacts[contact.id] = contact
        self.contact_index.record_change(contact, changed_at=contact.updated_at, lag=index_lag)
        return contact

    def update_contact(self, contact: Contact, changes: dict[str, Any], *, now: float, index_lag: float) -> Contact:
        """Apply an agent's changes to a contact; `updated_at` always moves forward, at least by a second."""
        for name, value in changes.items():
            setattr(contact, name, value)
        contact.updated_at = max(int(now), contact.updated_at + 1)
        self.contact_index.record_change(contact, changed_at=contact.updated_at, lag=index_lag)
        return contact

    def merge_contact(self, secondary: Contact, primary: Contact, *, now: float, index_lag: float) -> None:
        """Merge `secondary` into `primary` as an agent would: its tickets move to the primary and the secondary is
        gone for good (no list, not even `state=deleted`, shows it again; viewing it is a 404). Whether Freshdesk
        bumps the moved tickets' `updated_at` is not documented (uncertain); here it does not, so only a full
        comparison of the contacts finds the merge."""
        for ticket in self.tickets.values():
            if ticket.requester_id == secondary.id:
                ticket.requester_id = primary.id
        del self.contacts[secondary.id]
        self.update_contact(primary, {}, now=now, index_lag=index_lag)

    def contact_by_email(self, email: str) -> Contact | None:
        """The undeleted contact with `email` among its emails (emails compare case-insensitively)."""
        wanted = email.lower()
        return next(
            (c for c in self._live_contacts() if wanted in (address.lower() for address in c.all_emails())),
            None,
        )

    def contacts_with(self, attribute: str, value: str) -> list[Contact]:
        """Undeleted contacts whose `attribute` is exactly `value`, lowest id first."""
        return [contact for contact in self._live_contacts() if getattr(contact, attribute) == value]

    def filter_contacts(
        self,
        *,
        phone: str | None = None,
        mobile: str | None = None,
        email: str | None = None,
        company_id: int | None = None,
        state: str | None = None,
        updated_since: float | None = None,
    ) -> list[Contact]:
        """`GET /contacts` filtering: exact string equality, combined with AND (FC `User#contact_filter`)."""
        wanted_email = email.lower() if email is not None else None
        found = []
        for contact in self.contacts.values():
            if not contact.state_matches(state):
                continue
            if phone is not None and contact.phone != phone:
                continue
            if mobile is not None and contact.mobile != mobile:
                continue
            if wanted_email is not None and wanted_email not in (e.lower() for e in contact.all_emails()):
                continue
            if company_id is not None and contact.company_id != company_id:
                continue
            if updated_since is not None and contact.updated_at < updated_since:
                continue
            found.append(contact)
        return found

    def _live_contacts(self) -> Iterable[Contact]:
        return (contact for _, contact in sorted(self.contacts.items()) if not contact.deleted)

    # Tickets

    def add_ticket(
        self,
        *,
        now: float,
        index_lag: float,
        requester: Contact,
        conversation_count: int = 0,
        ticket_id: int | None = None,
        **fields: Any,
    ) -> Ticket:
        """Create a ticket for `requester`; times default to `now`, SLA due dates follow the priority."""
        ticket_id = ticket_id or self._next_ticket_id
        self._next_ticket_id = max(self._next_ticket_id, ticket_id + 1)
        created_at = fields.setdefault("created_at", int(now))
        fields.setdefault("updated_at", created_at)
        fields.setdefault("company_id", requester.company_id)
        first_response_hours, resolution_hours = SLA_HOURS[fields.get("priority", 1)]
        fields.setdefault("fr_due_by", created_at + first_response_hours * 3600)
        fields.setdefault("due_by", created_at + resolution_hours * 3600)
        ticket = Ticket(id=ticket_id, requester_id=requester.id, **fields)
        ticket.status_updated_at = ticket.updated_at
        self._settle_status_times(ticket, at=ticket.updated_at)
        for number in range(conversation_count):
            ticket.conversations.append(self._conversation(ticket, requester, number))
        self.tickets[ticket.id] = ticket
        self.ticket_index.record_change(ticket, changed_at=ticket.updated_at, lag=index_lag)
        return ticket

    def update_ticket(self, ticket: Ticket, changes: dict[str, Any], *, now: float, index_lag: float) -> Ticket:
        """Apply an agent's changes; `updated_at` always moves forward, at least by a second."""
        status_before = ticket.status
        for name, value in changes.items():
            setattr(ticket, name, value)
        ticket.updated_at = max(int(now), ticket.updated_at + 1)
        if ticket.status != status_before:
            ticket.status_updated_at = ticket.updated_at
            self._settle_status_times(ticket, at=ticket.updated_at)
        self.ticket_index.record_change(ticket, changed_at=ticket.updated_at, lag=index_lag)
        return ticket

    def add_note(self, ticket: Ticket, *, now: float, index_lag: float, **fields: Any) -> Conversation:
        """A note on the ticket (source 2); the ticket's `updated_at` moves forward as with any change."""
        note = Conversation(id=self._next_conversation_id, ticket_id=ticket.id, created_at=int(now), source=2, **fields)
        self._next_conversation_id += 1
        ticket.conversations.append(note)
        self.update_ticket(ticket, {}, now=now, index_lag=index_lag)
        return note

    def tickets_of(self, requester_ids: set[int]) -> list[Ticket]:
        return [ticket for ticket in self.tickets.values() if ticket.requester_id in requester_ids]

    @staticmethod
    def _settle_status_times(ticket: Ticket, *, at: int) -> None:
        if ticket.status in (RESOLVED, CLOSED):
            ticket.resolved_at = ticket.resolved_at or at
            ticket.first_responded_at = ticket.first_responded_at or at
        else:
            ticket.resolved_at = None
        ticket.closed_at = (ticket.closed_at or at) if ticket.status == CLOSED else None

    def _conversation(self, ticket: Ticket, requester: Contact, number: int) -> Conversation:
        """The `number`-th message of a seeded thread: the customer and an agent take turns, an hour apart."""
        from_customer = number % 2 == 0
        conversation = Conversation(
            id=self._next_conversation_id,
            ticket_id=ticket.id,
            user_id=requester.id if from_customer else (ticket.responder_id or requester.id),
            body=f"<div>{'Customer' if from_customer else 'Agent'} message {number + 1} on ticket {ticket.id}</div>",
            incoming=from_customer,
            created_at=min(ticket.created_at + 3600 * (number + 1), ticket.updated_at),
        )
        self._next_conversation_id += 1
        return conversation
