"""The pop written back to Genesys (issue 21 point 4): participant attributes on the caller's participant, so
scripts, interaction details and routing see the ticket the agent saw.

After a pop's result is published (and after the agent links a ticket: `attributes_write_soon`), a small thread pool
of this process reads the conversation (to find the customer participant) and PATCHes the attributes through the
SDK, as the tenant's sync client: two Genesys calls, counted against the client's per-minute limit. It never delays
the pop, and it is best-effort: a spent budget, a Genesys failure or a process that dies first leaves the attributes
unwritten (logged), as they are worth something only while the call lasts.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import transaction

from screenpop.errors import ScreenpopError
from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.genesys.quotas import api_calls_take
from screenpop.models import CallLink, FreshdeskConnection, Pop, Tenant
from screenpop.pops.links import call_link_of
from screenpop.pops.result import PopResult
from screenpop.storage.connections import database_work
from screenpop.validation import PARTICIPANT_ATTRIBUTE_KEYS
from screenpop.writeback.genesys_side import conversation_facts, forget_login, tenant_genesys_api

logger = logging.getLogger("screenpop.writeback")

DEFAULT_NAMES = {key: f"screenpop_{key}" for key in PARTICIPANT_ATTRIBUTE_KEYS}
WORKERS = 2

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def attribute_names(tenant: Tenant) -> dict[str, str]:
    """What -> attribute name for the tenant: the defaults, with its own names over them ("" leaves one out);
    empty when it turned them off (`{"enabled": false}`)."""
    configured = tenant.participant_attributes if isinstance(tenant.participant_attributes, dict) else {}
    if configured.get("enabled") is False:
        return {}
    names = {**DEFAULT_NAMES, **{key: value for key, value in configured.items() if key in DEFAULT_NAMES}}
    return {key: name for key, name in names.items() if isinstance(name, str) and name}


def pop_attributes(result: PopResult, link: CallLink | None, *, freshdesk_url: str = "") -> dict[str, str]:
    """The values by what they hold: the linked ticket, else the first ticket shown; the contact; how many
    contacts have the number. Strings only (Genesys keeps attributes as strings). A linked ticket the pop did not
    show has no status here, and its URL is made from `freshdesk_url`."""
    tickets = [ticket for contact in result.contacts for ticket in contact.get("tickets", [])]
    ticket: dict[str, Any] | None = tickets[0] if tickets else None
    if link is not None:
        shown = next((item for item in tickets if item.get("id") == link.ticket_id), None)
        url = f"{freshdesk_url}/a/tickets/{link.ticket_id}" if freshdesk_url else ""
        ticket = shown or {"id": link.ticket_id, "subject": link.subject, "url": url}
    contact = result.contact or {}
    values = {
        "ticket_id": str(ticket["id"]) if ticket else "",
        "ticket_status": str((ticket or {}).get("status_label") or ""),
        "ticket_subject": str((ticket or {}).get("subject") or ""),
        "ticket_url": str((ticket or {}).get("url") or ""),
        "contact_name": str(contact.get("name") or ""),
        "match_count": str(len(result.contacts)),
    }
    return values


def pop_attributes_write(*, pop_id: int) -> str:
    """Write the pop's attributes on the caller's participant; what happened: "written", "off", "no-client",
    "budget", "no-customer" or "failed"."""
    pop = Pop.objects.select_related("tenant").filter(pk=pop_id).first()
    if pop is None:
        return "failed"
    tenant = pop.tenant
    names = attribute_names(tenant)
    if not names:
        return "off"
    try:
        api = tenant_genesys_api(tenant)
        if api is None:
            return "no-client" if not tenant.genesys_sync_client_id else "budget"
        if not api_calls_take(client_id=tenant.genesys_sync_client_id, calls=2):
            logger.info("Participant attributes of %s not written: the Genesys budget is spent", pop.conversation_id)
            return "budget"
        conversation = api.conversation(pop.conversation_id)
        customer = conversation_facts(conversation, user_id="")["customer_participant_id"]
        if not customer:
            return "no-customer"
        freshdesk = FreshdeskConnection.objects.filter(tenant=tenant).values_list("domain", flat=True).first()
        values = pop_attributes(
            PopResult.from_json(pop.result),
            call_link_of(tenant_id=tenant.pk, conversation_id=pop.conversation_id),
            freshdesk_url=freshdesk_base_url(freshdesk) if freshdesk else "",
        )
        api.participant_attributes_set(
            pop.conversation_id, customer, {name: values[key][:1000] for key, name in names.items()}
        )
        return "written"
    except ScreenpopError as error:
        forget_login(tenant)
        logger.warning("Participant attributes of %s not written: %s", pop.conversation_id, error.detail)
        return "failed"


def _run(pop_id: int) -> None:
    try:
        with database_work():
            pop_attributes_write(pop_id=pop_id)
    except Exception:
        logger.exception("Writing participant attributes of pop %s failed", pop_id)


def attributes_write_soon(*, pop_id: int, tenant: Tenant) -> None:
    """Write the pop's attributes in the background once the current transaction commits, when the feature is on
    and the tenant has a sync client (the others cost nothing)."""
    if not settings.SCREENPOP_PARTICIPANT_ATTRIBUTES or not tenant.genesys_sync_client_id:
        return
    if not attribute_names(tenant):
        return

    def submit() -> None:
        global _executor
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="genesys-attributes")
            _executor.submit(_run, pop_id)

    transaction.on_commit(submit)
