"""Freshdesk's "Trigger webhook" automation: a ticket was created or updated (DESIGN.md §2, seed edge case 3).

Freshdesk delivers at least once and out of order, with labels instead of codes (reference §8), so the body is
only a hint: the ticket is re-read through the API (within the account's budget) and pushed to the panels showing
it only when its `updated_at` is newer than what they show. A re-delivery or an older update changes nothing.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from screenpop.errors import NotAuthenticated, ValidationFailed
from screenpop.freshdesk.accounts import freshdesk_client_for
from screenpop.freshdesk.labels import ticket_labels
from screenpop.freshdesk.times import freshdesk_time
from screenpop.lookup import flight
from screenpop.mirror.records import mirror_tickets_write
from screenpop.models import EventLog, FreshdeskConnection, MirrorSync, Pop, PopTicket, Tenant
from screenpop.pops.result import PopResult, ticket_view
from screenpop.publishing import pop_publish_on_commit
from screenpop.storage.transactions import write_transaction

logger = logging.getLogger("screenpop.ticket_updates")

RECENT_POPS = timedelta(hours=4)


@dataclass(frozen=True)
class TicketUpdateOutcome:
    ticket_id: int
    panels_updated: int
    status: str  # "updated" | "unchanged" | "not_shown"


def freshdesk_webhook_authenticate(*, url_token: str, basic_password: str | None, header_secret: str | None) -> Tenant:
    """The tenant whose Freshdesk sent this, or NotAuthenticated. The URL token names the tenant, the secret
    (Basic auth password, or the X-Screenpop-Secret header) proves it; compared in constant time."""
    tenant = Tenant.objects.filter(freshdesk_webhook_token=url_token, active=True).select_related("freshdesk").first()
    connection = getattr(tenant, "freshdesk", None) if tenant else None
    offered = header_secret or basic_password or ""
    expected = connection.webhook_secret if connection else ""
    if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
        raise NotAuthenticated(
            "Unknown webhook URL or wrong secret. Use the URL shown on the tenant in the admin, with the webhook "
            "secret as the Basic auth password (any user name) or in the X-Screenpop-Secret header."
        )
    return tenant


def ticket_id_from_payload(payload: Any) -> int:
    """The ticket id in a "simple" (`{"freshdesk_webhook": {"ticket_id": ...}}`) or "advanced" body."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be a JSON object.", field="body")
    candidates = [
        (payload.get("freshdesk_webhook") or {}).get("ticket_id")
        if isinstance(payload.get("freshdesk_webhook"), dict)
        else None,
        payload.get("ticket_id"),
        (payload.get("ticket") or {}).get("id") if isinstance(payload.get("ticket"), dict) else None,
        payload.get("id"),
    ]
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    raise ValidationFailed(
        "No ticket id found: send {{ticket.id}} as freshdesk_webhook.ticket_id (simple mode) or ticket_id.",
        field="ticket_id",
        value=candidates[0] or candidates[1],
    )


def ticket_update_apply(*, tenant: Tenant, ticket_id: int) -> TicketUpdateOutcome:
    """Re-read the ticket, write it into the tenant's mirror (unless the mirror holds a newer version), and update
    every recent panel that shows it (or its requester), if it is newer than what the panel shows."""
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    client = freshdesk_client_for(connection)
    ticket = client.get_ticket(ticket_id)
    if MirrorSync.objects.filter(tenant=tenant).exists():  # a tenant whose mirror is switched off keeps none
        # A closed ticket is written too: a late delivery of its open version must not bring it back.
        mirror_tickets_write(tenant=tenant, tickets=[ticket], keep_new_closed=True)
    [outcome] = tickets_push(tenant=tenant, tickets=[ticket], labels=ticket_labels(client), base_url=client.base_url)
    return outcome


def tickets_push(
    *, tenant: Tenant, tickets: list[dict[str, Any]], labels: dict[str, dict[int, str]], base_url: str
) -> list[TicketUpdateOutcome]:
    """Update the recent panels that show one of `tickets` (Freshdesk ticket objects) or its requester, for each
    ticket newer than what they show; one outcome per ticket. One query when no panel shows any of them."""
    recent = Pop.objects.filter(tenant=tenant, state=Pop.State.MATCHED, received_at__gte=timezone.now() - RECENT_POPS)
    ids = [ticket["id"] for ticket in tickets]
    requesters = [ticket.get("requester_id") for ticket in tickets if isinstance(ticket.get("requester_id"), int)]
    concerned = set(
        recent.filter(Q(shown_tickets__ticket_id__in=ids) | Q(shown_contacts__contact_id__in=requesters)).values_list(
            "pk", flat=True
        )
    )
    if not concerned:
        return [TicketUpdateOutcome(ticket_id=ticket_id, panels_updated=0, status="not_shown") for ticket_id in ids]
    return [_ticket_push(tenant, ticket, labels, base_url) for ticket in tickets]


def _ticket_push(
    tenant: Tenant, ticket: dict[str, Any], labels: dict[str, dict[int, str]], base_url: str
) -> TicketUpdateOutcome:
    ticket_id = ticket["id"]
    shaped = ticket_view(ticket, labels, base_url)
    updated_at = freshdesk_time(ticket.get("updated_at")) or timezone.now()
    requester_id = ticket.get("requester_id")
    panels = 0
    with write_transaction():
        shown = {
            row.pop_id: row
            for row in PopTicket.objects.select_for_update().filter(ticket_id=ticket_id, pop__tenant=tenant)
        }
        recent = Pop.objects.filter(
            tenant=tenant, state=Pop.State.MATCHED, received_at__gte=timezone.now() - RECENT_POPS
        )
        candidates = list(recent.filter(Q(pk__in=shown) | Q(shown_contacts__contact_id=requester_id)).distinct())
        for pop in candidates:
            row = shown.get(pop.pk)
            if row is not None:
                if updated_at <= row.updated_at:
                    continue  # a re-delivery or an older update: the panel has this or newer
                pop.result = PopResult.from_json(pop.result).with_ticket(shaped).to_json()
                row.updated_at = updated_at
                row.save(update_fields=["updated_at"])
            else:
                added = PopResult.from_json(pop.result).with_new_ticket(shaped, requester_id, tenant.ticket_limit)
                if added is None:
                    continue
                pop.result = added.to_json()
                PopTicket.objects.create(pop=pop, ticket_id=ticket_id, updated_at=updated_at)
            pop.save(update_fields=["result", "updated_at"])
            if pop.phone_e164:
                flight.forget(tenant.pk, pop.phone_e164)
            pop_publish_on_commit(pop)
            panels += 1
    status = "updated" if panels else ("unchanged" if shown else "not_shown")
    return TicketUpdateOutcome(ticket_id=ticket_id, panels_updated=panels, status=status)


def ticket_update_record(*, tenant: Tenant | None, status_code: int, outcome: str, reason: str, payload: Any) -> None:
    EventLog.objects.create(
        tenant=tenant,
        source=EventLog.Source.FRESHDESK,
        received_at=timezone.now(),
        outcome=outcome,
        status_code=status_code,
        reason=reason[:2000],
        payload=payload if isinstance(payload, dict) else {"body": str(payload)[:2000]},
    )
