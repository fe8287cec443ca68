"""The panel's services: open a panel session for a Genesys agent, and create a ticket for an unknown caller.

A session (DESIGN.md §6 "Panel"): the environment is checked against the allow-list before any request; then the
agent's Genesys token is verified with Genesys itself (`users/me?expand=organization,token`), the organisation is
mapped to an active tenant, the token must come from the tenant's panel OAuth client, and the conversation's
participants must include the agent. Only then is a panel token issued, bound to tenant + conversation + agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from screenpop.errors import NotAuthenticated, NotFound, PermissionDenied, ScreenpopError, ValidationFailed
from screenpop.freshdesk.accounts import freshdesk_client_for
from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.freshdesk.errors import FreshdeskError, FreshdeskRateLimited, FreshdeskTransientError
from screenpop.freshdesk.labels import ticket_labels
from screenpop.genesys.client import genesys_client_for
from screenpop.genesys.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysNotFound,
    GenesysPermissionError,
    GenesysRateLimited,
    GenesysUnavailable,
)
from screenpop.lookup import flight
from screenpop.lookup.phone_index import phone_index_apply
from screenpop.lookup.service import caller_lookup
from screenpop.models import FreshdeskConnection, Pop, Tenant
from screenpop.panel.context import CLIENT_ID, CONVERSATION_ID, panel_environment
from screenpop.panel_tokens import PanelGrant, panel_token_issue
from screenpop.phones import normalize_caller
from screenpop.pops.result import PopResult, contact_view, ticket_view
from screenpop.pops.services import pop_shown_save
from screenpop.publishing import pop_publish_on_commit
from screenpop.storage.transactions import write_transaction

logger = logging.getLogger("screenpop.panel")

MAX_SUBJECT_CHARS = 255
# A second click while the first ticket is being created must not create a second ticket.
CREATE_LOCK_SECONDS = 30


class PanelUnavailable(ScreenpopError):
    status_code = 503
    code = "genesys_unavailable"


@dataclass(frozen=True)
class PanelSession:
    """What the panel needs after login. `genesys_token` is set only when the server exchanged a PKCE code, so the
    page can renew the session without another login."""

    panel_token: str
    expires_in: int
    tenant: Tenant
    agent_id: str
    agent_name: str
    genesys_token: str | None = None
    genesys_expires_in: int | None = None

    def as_body(self) -> dict[str, Any]:
        connection = FreshdeskConnection.objects.filter(tenant=self.tenant).first()
        body: dict[str, Any] = {
            "panel_token": self.panel_token,
            "expires_in": self.expires_in,
            "tenant": {"name": self.tenant.name},
            "agent": {"id": self.agent_id, "name": self.agent_name},
            # The panel links only to tickets on this origin (ticket text and URLs are untrusted).
            "freshdesk_origin": freshdesk_base_url(connection.domain) if connection else None,
        }
        if self.genesys_token:
            body["genesys_token"] = self.genesys_token
            body["genesys_expires_in"] = self.genesys_expires_in
        return body


def _login_required(detail: str) -> NotAuthenticated:
    return NotAuthenticated(detail, code="login_required")


def panel_session_open(
    *,
    environment: str,
    conversation_id: str,
    genesys_token: str | None = None,
    code: str | None = None,
    code_verifier: str | None = None,
    client_id: str | None = None,
    redirect_uri: str | None = None,
) -> PanelSession:
    """Verify the agent with Genesys and issue a panel token for `conversation_id`.

    Give either `genesys_token` (implicit grant) or `code` + `code_verifier` + `client_id` + `redirect_uri` (PKCE;
    the code is exchanged here). Raises `UnsupportedEnvironment` (400, before any request), `ValidationFailed`
    (422), `NotAuthenticated` code `login_required` (401), `PermissionDenied` with code `not_installed`,
    `wrong_client`, `not_your_conversation` or `genesys_permission` (403), `PanelUnavailable` (503).
    """
    environment = panel_environment(target_env=environment)
    if not CONVERSATION_ID.match(conversation_id or ""):
        raise ValidationFailed("conversation_id is not a Genesys conversation id.", field="conversation_id")
    client = genesys_client_for(environment)
    issued: dict[str, Any] | None = None
    try:
        if not genesys_token:
            if not (code and code_verifier and redirect_uri and CLIENT_ID.match(client_id or "")):
                raise ValidationFailed(
                    "Send genesys_token, or code, code_verifier and client_id from a PKCE login.", field="genesys_token"
                )
            issued = client.token_from_code(
                client_id=client_id or "", code=code, code_verifier=code_verifier, redirect_uri=redirect_uri
            )
            genesys_token = issued["access_token"]
        me = client.users_me(genesys_token)
    except GenesysAuthError as error:
        raise _login_required("Your Genesys Cloud login has expired or is not valid; sign in again.") from error
    except GenesysError as error:
        raise _unavailable(error) from error

    user_id = str(me.get("id") or "")
    organization = me.get("organization") if isinstance(me.get("organization"), dict) else {}
    org_id = str(organization.get("id") or "")
    if not user_id or not org_id:
        raise _login_required("Genesys Cloud did not say who you are; sign in again.")
    tenant = Tenant.objects.filter(genesys_org_id=org_id, active=True).first()
    if tenant is None or tenant.region != environment:
        logger.info("panel login refused: organisation %s (%s) is not installed", org_id, environment)
        raise PermissionDenied(
            f"Freshdesk screen pops are not installed for your organisation ({organization.get('name') or org_id}). "
            "A Genesys Cloud admin installs the app from Genesys Cloud's App Foundry.",
            code="not_installed",
        )
    token_client = ((me.get("token") or {}).get("OAuthClient") or {}).get("id")
    if tenant.panel_client_id and token_client and token_client != tenant.panel_client_id:
        raise PermissionDenied(
            "This login comes from another Genesys Cloud app than the panel's. Ask your admin to check the "
            "clientId in the widget URL (the install wizard sets it).",
            code="wrong_client",
        )

    try:
        conversation = client.conversation(genesys_token, conversation_id)
    except GenesysAuthError as error:
        raise _login_required("Your Genesys Cloud login has expired; sign in again.") from error
    except GenesysPermissionError as error:
        if error.genesys_code == "missing.permissions":
            raise PermissionDenied(
                "Your Genesys Cloud role cannot read conversations (conversation:communication:view); "
                "ask your admin to grant it.",
                code="genesys_permission",
            ) from error
        raise _not_your_conversation() from error
    except GenesysNotFound as error:
        raise _not_your_conversation() from error
    except GenesysError as error:
        raise _unavailable(error) from error
    participants = conversation.get("participants") or []
    if not any(isinstance(p, dict) and p.get("userId") == user_id for p in participants):
        logger.info("panel login refused: user %s is not on conversation %s", user_id, conversation_id)
        raise _not_your_conversation()

    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=conversation_id, user_id=user_id)
    return PanelSession(
        panel_token=token,
        expires_in=settings.SCREENPOP_PANEL_TOKEN_SECONDS,
        tenant=tenant,
        agent_id=user_id,
        agent_name=str(me.get("name") or ""),
        genesys_token=genesys_token if issued else None,
        genesys_expires_in=int(issued.get("expires_in") or 0) if issued else None,
    )


def _not_your_conversation() -> PermissionDenied:
    return PermissionDenied(
        "This call is not yours: you are not a participant of this conversation in Genesys Cloud.",
        code="not_your_conversation",
    )


def _unavailable(error: GenesysError) -> ScreenpopError:
    if isinstance(error, GenesysRateLimited):
        # The org's panel client asked Genesys too often (its limit is per OAuth client): the caller's volume,
        # not an outage, so a 429 that says when to come back.
        return ScreenpopError(
            "Genesys Cloud is limiting this organisation's panel logins; try again shortly.",
            code="genesys_rate_limited",
            retry_after=error.retry_after,
        ).with_status(429)
    if isinstance(error, GenesysUnavailable):
        return PanelUnavailable("Genesys Cloud did not answer the panel's login check; it tries again shortly.")
    return ScreenpopError(f"Genesys Cloud refused the panel's login check: {error.detail}", code="genesys_error")


# -- Create ticket ------------------------------------------------------------------------------------------------


def panel_pop(grant: PanelGrant) -> Pop:
    """The pop of the grant's conversation, with its tenant; `NotFound` `pop_not_found` when there is none."""
    pop = (
        Pop.objects.select_related("tenant")
        .filter(tenant_id=grant.tenant_id, conversation_id=grant.conversation_id)
        .first()
    )
    if pop is None:
        raise NotFound("No call was received for this conversation yet.", code="pop_not_found")
    return pop


def panel_ticket_create(*, grant: PanelGrant, subject: str | None = None) -> tuple[Pop, dict[str, Any]]:
    """Create a Freshdesk phone ticket for the caller of a pop with no match, then look the caller up again so the
    panel shows the new ticket as matched (published to the conversation's panels).

    The requester is the caller's E.164 number (Freshdesk attaches the ticket to a contact whose phone is exactly
    that string, or creates one named "Caller <number>"). Returns the pop and the created ticket (panel shape).
    Raises `NotFound` (no pop), `ScreenpopError` 409 `not_creatable` (not a no-match pop with a number, or a
    creation in progress), `ScreenpopError` 503 `freshdesk_unavailable`, `UpstreamError` 502 (Freshdesk refused).
    """
    pop = panel_pop(grant)
    display = pop.result.get("phone_display") or pop.phone_e164
    if pop.state != Pop.State.NO_MATCH or not pop.phone_e164:
        raise ScreenpopError(
            "A ticket is created only for a caller with a number and no Freshdesk contact.", code="not_creatable"
        ).with_status(409)
    subject = (subject or "").strip()[:MAX_SUBJECT_CHARS] or f"Call from {display}"
    connection = FreshdeskConnection.objects.filter(tenant=pop.tenant).first()
    if connection is None:
        raise ScreenpopError("Freshdesk is not connected for this organisation.", code="not_creatable").with_status(409)
    lock = f"screenpop:panel-create:{pop.pk}"
    if not cache.add(lock, grant.user_id, timeout=CREATE_LOCK_SECONDS):
        raise ScreenpopError("A ticket is already being created for this call.", code="not_creatable").with_status(409)
    client = freshdesk_client_for(connection)
    try:
        try:
            created = client.create_ticket(
                subject=subject,
                description=(
                    f"Inbound call from {display} (Genesys Cloud conversation {pop.conversation_id}). "
                    "Created from the screenpop agent panel."
                ),
                phone=pop.phone_e164,
                name=f"Caller {display}",
                source=3,
            )
        except (FreshdeskTransientError, FreshdeskRateLimited) as error:
            raise ScreenpopError(
                f"Freshdesk did not create the ticket ({error.detail.rstrip('.')}); try again.",
                code="freshdesk_unavailable",
            ).with_status(503) from error
        labels = ticket_labels(client)
        ticket = ticket_view(created, labels, client.base_url)
        requester_id = created.get("requester_id")
        tenant = pop.tenant
        # Index the requester now: Freshdesk search lags by minutes, the contacts list (exact phone string) does not.
        try:
            contacts = client.list_contacts(phone=pop.phone_e164) if requester_id else []
            phone_index_apply(tenant=tenant, contacts=contacts, fields=connection.match_fields)
        except FreshdeskError:
            logger.warning("could not index the requester of ticket %s", ticket["id"])
        flight.forget(tenant.pk, pop.phone_e164)
        caller = normalize_caller(pop.phone_raw, default_region=tenant.phone_region)
        try:
            found = caller_lookup(tenant=tenant, caller=caller, client=client, connection=connection)
            result = PopResult(found.phone_display or display, found.result.contacts, "created")
            shown = [t.get("id") for contact in found.contacts for t in contact.get("tickets", [])]
            if found.state != "matched" or ticket["id"] not in shown:
                result = _result_with_ticket(display, requester_id, ticket, client.base_url)
        except FreshdeskError:
            result = _result_with_ticket(display, requester_id, ticket, client.base_url)
    finally:
        cache.delete(lock)
    pop = _pop_matched(pop, result)
    logger.info("ticket %s created from the panel for %s", ticket["id"], pop.conversation_id)
    return pop, ticket


def _result_with_ticket(display: str, requester_id: Any, ticket: dict[str, Any], base_url: str) -> PopResult:
    contact = contact_view(requester_id, base_url, name=f"Caller {display}", tickets=[ticket])
    return PopResult(display, (contact,), "created")


def _pop_matched(pop: Pop, result: PopResult) -> Pop:
    now = timezone.now()
    with write_transaction():
        updated = Pop.objects.filter(pk=pop.pk, state=Pop.State.NO_MATCH).update(
            state=Pop.State.MATCHED, detail="", reason="", result=result.to_json(), updated_at=now, completed_at=now
        )
        if not updated:
            raise ScreenpopError(
                "The call's pop changed meanwhile; reload the panel.", code="not_creatable"
            ).with_status(409)
        pop.refresh_from_db()
        pop_shown_save(pop.pk, result, now=now)
        pop_publish_on_commit(pop)
    return pop
