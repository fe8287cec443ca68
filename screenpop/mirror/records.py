"""Freshdesk records into the mirror's rows: one shape per record kind, written with a version check.

Every writer (the sync's pages, a Freshdesk webhook, the refresh after a pop, a lookup's search) goes through here,
so an older copy never overwrites a newer one whoever sends it (`storage.mirror.mirror_upsert`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from screenpop.freshdesk.times import freshdesk_time
from screenpop.models import MirrorCompany, MirrorContact, MirrorTicket, Tenant
from screenpop.storage.mirror import mirror_upsert

__all__ = ["CLOSED", "as_freshdesk_ticket", "mirror_companies_write", "mirror_contacts_write", "mirror_tickets_write"]

CLOSED = 5
_TEXT = 255


def _text(value: Any) -> str:
    return str(value or "")[:_TEXT]


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mirror_contacts_write(
    *, tenant: Tenant, contacts: Iterable[dict[str, Any]], fields: list[str], generation: int | None = None
) -> int:
    """Write Freshdesk contact objects into the mirror (newer versions only); returns the rows written.

    `fields`: the tenant's match fields (a custom one's value is kept in `other_phones`). A contact marked `deleted`
    stays as a tombstone. `generation` marks the rows as listed by that reconciliation pass; None leaves the mark.
    """
    rows = []
    for contact in contacts:
        contact_id = _id(contact.get("id"))
        if contact_id is None:
            continue
        custom = contact.get("custom_fields") or {}
        row: dict[str, Any] = {
            "tenant": tenant.pk,
            "contact_id": contact_id,
            "name": _text(contact.get("name")),
            "email": _text(contact.get("email")),
            "other_emails": [_text(email) for email in contact.get("other_emails") or [] if email][:20],
            "phone": _text(contact.get("phone")),
            "mobile": _text(contact.get("mobile")),
            "other_phones": {
                name: _text(custom.get(name)) for name in fields if name not in ("phone", "mobile") and custom.get(name)
            },
            "company_id": _id(contact.get("company_id")),
            "updated_at": freshdesk_time(contact.get("updated_at")) or timezone.now(),
            "deleted": bool(contact.get("deleted")),
            "blocked": bool(contact.get("blocked")),
        }
        if generation is not None:
            row["generation"] = generation
        rows.append(row)
    return len(mirror_upsert(MirrorContact, rows, key=("tenant", "contact_id"), returning="contact_id"))


def mirror_tickets_write(
    *, tenant: Tenant, tickets: Iterable[dict[str, Any]], keep_new_closed: bool = False
) -> list[int]:
    """Write Freshdesk ticket objects into the mirror (newer versions only); returns the ids written.

    A closed, spam or deleted ticket becomes a tombstone (status 5) if the mirror holds it, and is left out
    otherwise, so a first sync of an old account does not copy its closed history; `keep_new_closed` writes it
    anyway (a webhook: a late copy of the open version must not bring it back).
    """
    rows = [_ticket_row(tenant, ticket) for ticket in tickets if _id(ticket.get("id")) is not None]
    closed = [row["ticket_id"] for row in rows if row["status"] == CLOSED]
    if closed and not keep_new_closed:
        held = set(MirrorTicket.objects.filter(tenant=tenant, ticket_id__in=closed).values_list("ticket_id", flat=True))
        rows = [row for row in rows if row["status"] != CLOSED or row["ticket_id"] in held]
    return mirror_upsert(MirrorTicket, rows, key=("tenant", "ticket_id"), returning="ticket_id")


def _ticket_row(tenant: Tenant, ticket: dict[str, Any]) -> dict[str, Any]:
    status = _id(ticket.get("status")) or 2
    if ticket.get("spam") or ticket.get("deleted"):
        status = CLOSED
    return {
        "tenant": tenant.pk,
        "ticket_id": ticket["id"],
        "subject": _text(ticket.get("subject")),
        "status": status,
        "priority": _id(ticket.get("priority")),
        "requester_id": _id(ticket.get("requester_id")),
        "company_id": _id(ticket.get("company_id")),
        "group_id": _id(ticket.get("group_id")),
        "agent_id": _id(ticket.get("responder_id")),
        "updated_at": freshdesk_time(ticket.get("updated_at")) or timezone.now(),
        "due_by": freshdesk_time(ticket.get("due_by")),
    }


def mirror_companies_write(*, tenant: Tenant, companies: Iterable[dict[str, Any]], phone_fields: list[str]) -> int:
    """Write Freshdesk company objects (name, and the custom fields named in `phone_fields`) into the mirror."""
    rows = []
    for company in companies:
        company_id = _id(company.get("id"))
        if company_id is None:
            continue
        custom = company.get("custom_fields") or {}
        rows.append(
            {
                "tenant": tenant.pk,
                "company_id": company_id,
                "name": _text(company.get("name")),
                "phones": {name: _text(custom.get(name)) for name in phone_fields if custom.get(name)},
                "updated_at": freshdesk_time(company.get("updated_at")) or timezone.now(),
            }
        )
    return len(mirror_upsert(MirrorCompany, rows, key=("tenant", "company_id"), returning="company_id"))


def as_freshdesk_ticket(row: MirrorTicket) -> dict[str, Any]:
    """A mirrored ticket in the shape of Freshdesk's ticket object (the fields the panel's `ticket_view` reads)."""
    return {
        "id": row.ticket_id,
        "subject": row.subject,
        "status": row.status,
        "priority": row.priority,
        "requester_id": row.requester_id,
        "updated_at": _iso(row.updated_at),
    }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
