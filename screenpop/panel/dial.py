"""Click-to-dial from the panel: the agent calls one of the contact's numbers, and that call pops like an inbound
one (issue 21, point 5).

The Client App SDK has no action that places a call (its modules show interactions, toasts, profiles; checked in
purecloud-client-app-sdk 2.6.10), so the call is placed through the Platform API as the agent:
`POST /api/v2/conversations/calls {"phoneNumber"}` with the agent's own Genesys token, which the panel holds since
its login and sends in the body (never a URL). The server first checks the token is the panel token's agent
(`users/me`), places the call, then records the new conversation's pop for the number dialled and starts its lookup,
exactly as the webhook does for an inbound call: Genesys opens the panel for the new interaction, which finds its
pop there. No trigger is needed for outbound calls (an agent's own call never reaches a queue's `acd.start`), and
the webhook keeps ignoring outbound events. Queue filters do not apply: the agent chose to make this call.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from screenpop.errors import NotAuthenticated, PermissionDenied, ScreenpopError, ValidationFailed
from screenpop.genesys.client import genesys_client_for
from screenpop.genesys.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysPermissionError,
    GenesysRateLimited,
    GenesysUnavailable,
)
from screenpop.lookup.runner import runner
from screenpop.models import Pop, Tenant
from screenpop.panel_tokens import PanelGrant
from screenpop.phones import normalize_caller
from screenpop.process import process_identity
from screenpop.storage.transactions import write_transaction

logger = logging.getLogger("screenpop.panel.dial")


def panel_dial(*, grant: PanelGrant, number: str, genesys_token: str) -> str:
    """Place a call from the agent's phone to `number` and start its pop; returns the new conversation's id.

    Raises `ValidationFailed` (field `number`), `NotAuthenticated` `login_required` (the Genesys token is not
    valid), `PermissionDenied` `not_your_login` (another user's token) or `genesys_permission`, and
    `ScreenpopError` 424 `genesys_refused` / 429 `genesys_busy` / 424 `genesys_unavailable`.
    """
    tenant = Tenant.objects.get(pk=grant.tenant_id)
    caller = normalize_caller(number, default_region=tenant.phone_region)
    if not caller.can_look_up or not caller.e164:
        raise ValidationFailed(f"number: {caller.reason or 'not a phone number.'}", field="number")
    client = genesys_client_for(tenant.region)
    try:
        me = client.users_me(genesys_token)
        if str(me.get("id") or "") != grant.user_id:
            raise PermissionDenied("This Genesys Cloud login is not the panel's agent.", code="not_your_login")
        placed = client.call_create(genesys_token, caller.e164)
    except GenesysAuthError as error:
        raise NotAuthenticated("Sign in with Genesys Cloud again to place calls.", code="login_required") from error
    except GenesysPermissionError as error:
        raise PermissionDenied(
            f"Genesys Cloud does not let you place this call: {error.detail}", code="genesys_permission"
        ) from error
    except GenesysRateLimited as error:
        raise ScreenpopError(
            "Genesys Cloud is limiting calls; try again shortly.", code="genesys_busy", retry_after=error.retry_after
        ).with_status(429) from error
    except GenesysUnavailable as error:
        raise ScreenpopError(error.detail, code="genesys_unavailable").with_status(424) from error
    except GenesysError as error:
        raise ScreenpopError(f"Genesys Cloud refused the call: {error.detail}", code="genesys_refused").with_status(
            424
        ) from error
    conversation_id = str(placed.get("id") or "")
    if not conversation_id:
        raise ScreenpopError("Genesys Cloud did not say which call it placed.", code="genesys_refused").with_status(424)
    _pop_start(tenant, conversation_id, caller.e164)
    logger.info("outbound call %s placed from the panel of %s", conversation_id, grant.conversation_id)
    return conversation_id


def _pop_start(tenant: Tenant, conversation_id: str, e164: str) -> None:
    now = timezone.now()
    owner = process_identity()
    with write_transaction():
        pop, created = Pop.objects.get_or_create(
            tenant=tenant,
            conversation_id=conversation_id,
            defaults={
                "phone_raw": f"tel:{e164}",
                "received_at": now,
                "lease_owner": owner,
                "lease_expires_at": now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS),
            },
        )
    lookup_runner = runner()
    if created and lookup_runner is not None:
        lookup_runner.schedule_threadsafe([(pop.pk, tenant.pk)])
