"""Which Freshdesk ticket a call's note goes on (DESIGN.md §2, issue 21 point 2), decided without a Freshdesk call.

In order: the ticket the agent linked (`pops.links.call_link_of`); else the ticket another agent's wrap-up of the
same call wrote on (a transfer); else, for a caller the pop matched, by the
tenant's `wrapup_unlinked`: the most recently updated open ticket the pop showed ("contact_ticket", the default; with
none open, a new ticket for that contact), a new ticket, or nothing; for an unknown caller, by
`wrapup_unknown_caller`: a new ticket (the default) or nothing. A withheld number gets nothing: Freshdesk needs a
requester. While the call's lookup has not finished (a short call, or Freshdesk unavailable), the note waits up to
`LOOKUP_WAIT`; after that the caller counts as unknown: a ticket by phone finds the contact whose work phone is
exactly that string, if any (reference §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from screenpop.models import CallWrapUp, Pop, Tenant
from screenpop.phones import normalize_caller
from screenpop.pops.links import call_link_of
from screenpop.pops.result import RESOLVED_STATUSES, PopResult

# How long a wrap-up waits for its call's lookup (pending, or "unavailable" and looked up again once Freshdesk answers)
# before its caller counts as unknown.
LOOKUP_WAIT = timedelta(minutes=10)
LOOKUP_WAIT_RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class Target:
    """Where the note goes: an existing ticket, a new ticket (for `requester_id`, or for `phone` with `name`), or
    nowhere (`reason` says why)."""

    ticket_id: int | None = None
    new_ticket: bool = False
    requester_id: int | None = None
    phone: str = ""
    name: str = ""
    subject: str = ""
    reason: str = ""
    wait: str = ""  # not decidable yet: why (the note is tried again shortly)


def _most_recent_open(result: PopResult) -> dict | None:
    open_tickets = [
        ticket
        for contact in result.contacts[:1]
        for ticket in contact.get("tickets", [])
        if ticket.get("status") not in RESOLVED_STATUSES and isinstance(ticket.get("id"), int)
    ]
    return max(open_tickets, key=lambda ticket: ticket.get("updated_at") or "", default=None)


def note_target(*, tenant: Tenant, wrapup: CallWrapUp) -> Target:
    link = call_link_of(tenant_id=tenant.pk, conversation_id=wrapup.conversation_id)
    if link is not None:
        return Target(ticket_id=link.ticket_id)
    # A transferred call wraps up once per agent: the second agent's note joins the first's ticket.
    earlier = (
        CallWrapUp.objects.filter(tenant=tenant, conversation_id=wrapup.conversation_id, ticket_id__isnull=False)
        .exclude(pk=wrapup.pk)
        .values_list("ticket_id", flat=True)
        .first()
    )
    if earlier is not None:
        return Target(ticket_id=earlier)
    pop = Pop.objects.filter(tenant=tenant, conversation_id=wrapup.conversation_id).first()
    if (
        pop is not None
        and pop.state in (Pop.State.PENDING, Pop.State.UNAVAILABLE)
        and timezone.now() - pop.received_at < LOOKUP_WAIT
    ):
        # A short call can wrap up before its lookup ends (or while Freshdesk is down and the pop waits to be looked
        # up again): deciding now would take a known caller for an unknown one and open a second ticket.
        return Target(wait="The caller's lookup has not finished yet; the note waits for it.")
    result = PopResult.from_json(pop.result if pop else None)
    e164 = pop.phone_e164 if pop and pop.phone_e164 else ""
    if not e164:
        caller = normalize_caller(
            wrapup.phone_raw or (pop.phone_raw if pop else ""), default_region=tenant.phone_region
        )
        e164 = caller.e164 or ""
    contact = result.contact
    if contact is not None and isinstance(contact.get("id"), int):
        if tenant.wrapup_unlinked == "nothing":
            return Target(reason="no ticket was linked and the tenant writes nothing then")
        if tenant.wrapup_unlinked == "contact_ticket":
            ticket = _most_recent_open(result)
            if ticket is not None:
                return Target(ticket_id=ticket["id"])
        return Target(
            new_ticket=True, requester_id=contact["id"], subject=f"Phone call with {contact.get('name') or e164}"
        )
    if tenant.wrapup_unknown_caller == "nothing":
        return Target(reason="unknown caller, and the tenant writes nothing for unknown callers")
    if not e164:
        return Target(reason="the caller's number is withheld or unreadable: Freshdesk needs a requester")
    return Target(new_ticket=True, phone=e164, name=e164, subject=f"Phone call from {e164}")
