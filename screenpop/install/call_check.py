"""The install's proof that the path works: Genesys runs the data action through its test endpoint
(`POST /api/v2/integrations/actions/{id}/test`) with the inputs the workflow gives it, so Genesys gets a token from our
/oauth/token/ and calls our webhook; the wizard shows the webhook's answer and Genesys's steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi
from screenpop.install import blueprint
from screenpop.install.errors import InstallNotPossible
from screenpop.install.services import queue_ids
from screenpop.models import Tenant


@dataclass(frozen=True)
class CallCheckResult:
    """`steps`: Genesys's account of the run, `[(name, succeeded)]` (authentication, request, response, ...)."""

    ok: bool
    inputs: dict[str, Any]
    answer: Any = None
    detail: str = ""
    steps: list[tuple[str, bool]] = field(default_factory=list)


def answer_sentences(answer: Any) -> list[str]:
    """The webhook's answer to a test call in plain sentences for the admin (the answer is our own JSON:
    `{"status": "accepted"|"duplicate"|"ignored", "pop_id"?, "reason"?}`, or an error body)."""
    if not isinstance(answer, dict):
        return ["The webhook answered, but not with the JSON this app sends: check the data action's response."]
    status, pop_id = answer.get("status"), answer.get("pop_id")
    if status == "accepted":
        return [
            f"The webhook accepted the call and recorded screen pop {pop_id}.",
            "It is looking the caller up in Freshdesk in the background; an agent on this call would see the "
            "tickets now.",
        ]
    if status == "duplicate":
        return [
            f"The webhook already had screen pop {pop_id} for this conversation, so it answered without a new "
            "Freshdesk lookup (as for a transfer or a second event of one call)."
        ]
    if status == "ignored":
        reason = str(answer.get("reason") or "no reason given").rstrip(".")
        return [f"The webhook received the call but will not pop it: {reason}."]
    if answer.get("error") or answer.get("detail"):
        field_name = f" (field {answer['field']})" if answer.get("field") else ""
        detail = str(answer.get("detail") or answer.get("error")).rstrip(".")
        return [f"The webhook refused the call{field_name}: {detail}."]
    return ["The webhook answered with something this app does not recognise: check the data action's response."]


def call_check_run(*, tenant: Tenant, api: GenesysApi, phone: str = "") -> CallCheckResult:
    """Run the data action through Genesys's test endpoint with the inputs the workflow gives it for a call from
    `phone`: Genesys gets a token from our /oauth/token/, then calls the webhook. Returns the webhook's answer, or
    Genesys's account of the failure (which quotes the webhook's answer). Never raises for a Genesys failure."""
    action_id = (tenant.genesys_objects.get("data_action") or {}).get("id")
    if not action_id:
        raise InstallNotPossible("The data action is not installed yet: run the installation first.")
    filters = queue_ids(tenant)
    phone = phone or blueprint.TEST_CALL_PHONE
    inputs = {
        "conversationId": f"install-test-{uuid.uuid4()}",
        "ani": phone if phone.startswith("tel:") else f"tel:{phone}",
        "queueId": filters[0] if filters else "install-test",
        "mediaType": "VOICE",
        "direction": "INBOUND",
        "participantId": "install-test",
        # As the workflow passes the event's time: epoch milliseconds, as a string.
        "eventTime": str(int(timezone.now().timestamp() * 1000)),
    }
    try:
        result = api.action_test(action_id, inputs)
    except ScreenpopError as error:
        return CallCheckResult(ok=False, inputs=inputs, detail=error.detail)
    steps = [(str(step.get("name") or ""), bool(step.get("success"))) for step in result.get("operations") or []]
    if result.get("success"):
        return CallCheckResult(ok=True, inputs=inputs, answer=result.get("finalResult"), steps=steps)
    detail = str((result.get("error") or {}).get("message") or "Genesys Cloud reported a failure without a reason.")
    return CallCheckResult(ok=False, inputs=inputs, detail=detail, steps=steps)
