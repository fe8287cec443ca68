"""A caller's other tickets, on the agent's demand ("load more" in the panel).

The pop shows each contact's first `ticket_limit` tickets of one ranked page (`lookup.service`); the rest of that
page is read here, a slice at a time. The page is asked of Freshdesk once per contact and kept for
`SCREENPOP_CACHE_SECONDS`, so paging through it costs one ticket-list call (the account's rate budget applies, and a
spent budget is a 503 the panel explains). Tickets past the page are for Freshdesk itself ("more in Freshdesk").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from screenpop.errors import NotFound, ScreenpopError
from screenpop.freshdesk.accounts import freshdesk_client_for, lookup_timeouts
from screenpop.freshdesk.errors import FreshdeskRateLimited, FreshdeskTransientError
from screenpop.freshdesk.labels import ticket_labels
from screenpop.lookup.service import TICKETS_PER_PAGE, requester_tickets
from screenpop.models import FreshdeskConnection
from screenpop.panel.services import panel_pop
from screenpop.panel_tokens import PanelGrant
from screenpop.pops.result import PopResult, rank_tickets, ticket_view

MAX_SLICE = 50


@dataclass(frozen=True)
class TicketsPage:
    contact_id: int
    tickets: list[dict[str, Any]]
    offset: int
    next_offset: int | None
    count: int
    beyond: bool  # Freshdesk holds more than the page: the rest is in Freshdesk

    def as_body(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "tickets": self.tickets,
            "offset": self.offset,
            "next_offset": self.next_offset,
            "count": self.count,
            "beyond": self.beyond,
        }


def panel_tickets_page(*, grant: PanelGrant, contact_id: int, offset: int, limit: int) -> TicketsPage:
    """Tickets `offset` to `offset + limit` of the ranked page of `contact_id`, who must be one of the contacts the
    conversation's pop shows (an agent pages through their caller's tickets, nobody else's).

    Raises `NotFound` (`pop_not_found`: no pop; `contact_not_shown`), `ScreenpopError` 409
    `freshdesk_not_connected`, 503 `freshdesk_unavailable` / `freshdesk_rate_limited`, and the client's
    `UpstreamError`s when Freshdesk refuses.
    """
    pop = panel_pop(grant)
    shown = {contact.get("id") for contact in PopResult.from_json(pop.result).contacts}
    if contact_id not in shown:
        raise NotFound(f"Contact {contact_id} is not one this call's panel shows.", code="contact_not_shown")
    connection = FreshdeskConnection.objects.filter(tenant_id=pop.tenant_id).first()
    if connection is None:
        raise ScreenpopError(
            "Freshdesk is not connected for this organisation.", code="freshdesk_not_connected"
        ).with_status(409)
    ranked = _ranked_page(pop.tenant_id, contact_id, connection)
    end = offset + limit
    return TicketsPage(
        contact_id=contact_id,
        tickets=ranked[offset:end],
        offset=offset,
        next_offset=end if end < len(ranked) else None,
        count=len(ranked),
        beyond=len(ranked) >= TICKETS_PER_PAGE,
    )


def _ranked_page(tenant_id: int, contact_id: int, connection: FreshdeskConnection) -> list[dict[str, Any]]:
    key = f"screenpop:ticket-page:{tenant_id}:{contact_id}"
    ranked = cache.get(key)
    if ranked is not None:
        return ranked
    # The agent is waiting on a click: a screen pop's deadlines, not a sync's.
    client = freshdesk_client_for(connection, timeouts=lookup_timeouts())
    try:
        found = requester_tickets(client, contact_id)
    except FreshdeskRateLimited as error:
        raise ScreenpopError(
            f"Freshdesk's rate limit is reached for this account; retry in {error.retry_after:g} s.",
            code="freshdesk_rate_limited",
        ).with_status(503) from error
    except FreshdeskTransientError as error:
        raise ScreenpopError(
            f"Freshdesk did not answer ({error.detail.rstrip('.')}); try again.", code="freshdesk_unavailable"
        ).with_status(503) from error
    labels = ticket_labels(client)
    ranked = [ticket_view(ticket, labels, client.base_url) for ticket in rank_tickets(found)]
    cache.set(key, ranked, timeout=settings.SCREENPOP_CACHE_SECONDS)
    return ranked
