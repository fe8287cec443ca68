"""Pops from what the IVR collected (issue 21, point 5): a ticket number or an email the caller typed in the IVR
opens that exact ticket (or that contact) first, before the phone number is matched.

How the value reaches us: the lookup reads it from the conversation itself. The IVR's call flow stores what the
caller typed as participant data on the customer participant (Architect's Set Participant Data; in the API the
participant's `attributes`, reference/genesys.md §4 and §12), under the attribute name the tenant configures
(`Tenant.ivr_attribute`, e.g. `ticket_number`). The trigger's event carries no participant data (§6), so the
data action's body cannot carry it without a second data action in the workflow; instead, for a tenant with an
attribute configured, the lookup reads `GET /api/v2/conversations/{id}` with the tenant's client-credentials sync
client (which then needs `conversation:communication:view`): one Genesys call per pop, none for other tenants.

Nothing here fails a pop: a Genesys or Freshdesk failure, an empty attribute, an unknown ticket or email all mean
"match the phone number as usual" (and are logged).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskNotFound
from screenpop.freshdesk.labels import ticket_labels
from screenpop.genesys.client import genesys_client_for
from screenpop.genesys.errors import GenesysAuthError, GenesysError
from screenpop.lookup.service import requester_tickets
from screenpop.models import Tenant
from screenpop.pops.result import PopResult, contact_view_of, rank_tickets, ticket_view

logger = logging.getLogger("screenpop.lookup.ivr")

SOURCE = "ivr"
TICKET_NUMBER = re.compile(r"^#?\s*(\d{1,15})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A token is used until this long before Genesys said it expires.
TOKEN_MARGIN_SECONDS = 60
MAX_VALUE_CHARS = 254

# Client-credentials tokens per (environment, client id), in this process only: a token is a secret, and each
# process fetching its own once a day costs Genesys nothing worth sharing it through Redis.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _sync_token(tenant: Tenant) -> str:
    key = (tenant.region, tenant.genesys_sync_client_id)
    with _tokens_lock:
        token, expires = _tokens.get(key, ("", 0.0))
    if token and time.monotonic() < expires:
        return token
    issued = genesys_client_for(tenant.region).token_from_client_credentials(
        client_id=tenant.genesys_sync_client_id, client_secret=tenant.genesys_sync_client_secret
    )
    lifetime = float(issued.get("expires_in") or 0) - TOKEN_MARGIN_SECONDS
    with _tokens_lock:
        _tokens[key] = (issued["access_token"], time.monotonic() + max(0.0, lifetime))
    return issued["access_token"]


def _forget_token(tenant: Tenant) -> None:
    with _tokens_lock:
        _tokens.pop((tenant.region, tenant.genesys_sync_client_id), None)


def ivr_value_read(*, tenant: Tenant, conversation_id: str) -> str | None:
    """What the IVR stored in the customer participant's `tenant.ivr_attribute`, stripped; None when the tenant has
    no attribute configured, no sync client, or the call has no such value (or Genesys could not say)."""
    name = tenant.ivr_attribute
    if not name or not (tenant.genesys_sync_client_id and tenant.genesys_sync_client_secret):
        return None
    client = genesys_client_for(tenant.region)
    try:
        try:
            conversation = client.conversation(_sync_token(tenant), conversation_id)
        except GenesysAuthError:  # a kept token Genesys revoked or forgot: one new one
            _forget_token(tenant)
            conversation = client.conversation(_sync_token(tenant), conversation_id)
    except GenesysError as error:
        logger.warning("IVR attribute %s not read: %s", name, error.detail)
        return None
    for participant in conversation.get("participants") or []:
        if isinstance(participant, dict) and participant.get("purpose") in ("customer", "external"):
            value = (participant.get("attributes") or {}).get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_VALUE_CHARS]
    return None


def ivr_lookup(*, tenant: Tenant, value: str, phone_display: str, client: FreshdeskClient) -> PopResult | None:
    """The pop of what the IVR collected: a ticket number's requester with that ticket first, or an email's
    contact with their tickets; None when the value is neither, or Freshdesk knows no such ticket or contact, or
    Freshdesk failed (the caller is then matched by phone number)."""
    number = TICKET_NUMBER.match(value)
    try:
        if number:
            return _by_ticket(tenant, int(number.group(1)), phone_display, client)
        if EMAIL.match(value):
            return _by_email(tenant, value, phone_display, client)
    except FreshdeskError as error:
        logger.warning("IVR value not looked up: %s", error.detail)
    return None


def _by_ticket(tenant: Tenant, ticket_id: int, phone_display: str, client: FreshdeskClient) -> PopResult | None:
    try:
        ticket = client.get_ticket(ticket_id, include=["requester"])
    except FreshdeskNotFound:
        return None
    if ticket.get("spam") or ticket.get("deleted"):
        return None
    requester = ticket.get("requester") if isinstance(ticket.get("requester"), dict) else {}
    contact_id = ticket.get("requester_id") or requester.get("id")
    if not isinstance(contact_id, int):
        return None
    return _pop_of(tenant, client, phone_display, {**requester, "id": contact_id}, first=ticket)


def _by_email(tenant: Tenant, email: str, phone_display: str, client: FreshdeskClient) -> PopResult | None:
    contacts = client.list_contacts(email=email.lower(), per_page=1)
    if not contacts or not isinstance(contacts[0].get("id"), int):
        return None
    return _pop_of(tenant, client, phone_display, contacts[0], first=None)


def _pop_of(
    tenant: Tenant, client: FreshdeskClient, phone_display: str, contact: dict[str, Any], *, first: Any
) -> PopResult:
    history = requester_tickets(client, contact["id"])
    others = rank_tickets([ticket for ticket in history if first is None or ticket.get("id") != first["id"]])
    chosen = ([first] if first is not None else []) + others
    labels = ticket_labels(client)
    shown = contact_view_of(
        contact,
        client.base_url,
        tickets=[ticket_view(ticket, labels, client.base_url) for ticket in chosen[: tenant.ticket_limit]],
    )
    return PopResult(phone_display, (shown,), SOURCE)
