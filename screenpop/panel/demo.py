"""The demo desktop (`/demo/`): the Genesys agent desktop played around the real panel, for development only.

It exists only with `SCREENPOP_DEV` (404 otherwise) and needs the Genesys simulator (`GENESYS_SIMULATOR_URL`); the
Freshdesk simulator is the demo tenant's Freshdesk (created against `FRESHDESK_SIMULATOR_URL` when there is no
tenant for the simulator's demo organisation yet). Ringing a caller does what Genesys would: the simulator creates
the conversation with the agent as a participant and, when an install wizard provisioned its trigger, calls the
webhook itself; otherwise the demo records the same event through the webhook's recorder, signed with the tenant's
HMAC key. The panel then runs exactly as inside Genesys: login against the simulator, session, socket.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenpop.errors import ScreenpopError, ValidationFailed
from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.install import blueprint
from screenpop.lookup.runner import runner
from screenpop.models import FreshdeskConnection, QueueFilter, Tenant
from screenpop.panel.views import panel_redirect_uri
from screenpop.pops.links import call_link_of
from screenpop.process import process_identity
from screenpop.storage.webhook import events_record
from screenpop.tenants import tenant_create
from screenpop.webhook.intake import submission_from_body
from screenpop.webhook.signing import SignedRequest, signature_compute

logger = logging.getLogger("screenpop.panel.demo")

SIMULATOR_TIMEOUT_SECONDS = 30
WATCHED_QUEUE = "Support"
FRESHDESK_SIMULATOR_API_KEY = "freshdesk-sim-key"  # the Freshdesk simulator's default key

# A button per state a caller can be in, with the seeded caller that shows it (simulators/freshdesk/seed.py).
# `freshdesk`: the Freshdesk simulator's fault switched on before the call rings; `queue`: the Genesys queue the
# call comes through (Support by default, the queue the demo tenant watches).
DEMO_CALLERS: list[dict[str, str]] = [
    {"key": "known", "ani": "+12015550123", "label": "Known contact",
     "hint": "Jordan Blake: 2 tickets, the unresolved one first."},
    {"key": "many", "ani": "+15550199999", "label": "45 tickets",
     "hint": "Dana Whitfield: the first 5 of 45, with More in Freshdesk and Load more."},
    {"key": "no_tickets", "ani": "+12015550147", "label": "Contact without tickets",
     "hint": "Elena Park, stored as 2015550147: a contact with no ticket yet."},
    {"key": "messy", "ani": "+15550199998", "label": "Messy stored number",
     "hint": "Marcus Lee, stored as 555.019.9998."},
    {"key": "shared", "ani": "+61355504321", "label": "Shared number",
     "hint": "Two contacts share the number: a picker."},
    {"key": "unknown", "ani": "+12015550111", "label": "Unknown number",
     "hint": "No contact has it: the agent can create a ticket."},
    {"key": "anonymous", "ani": "anonymous", "label": "Anonymous caller",
     "hint": "Number withheld: nothing to look up."},
    {"key": "html", "ani": "+33199001234", "label": "HTML in a subject",
     "hint": "<img src=x onerror=…> shown as text."},
    {"key": "down", "ani": "+12015550123", "label": "Freshdesk down", "freshdesk": "outage",
     "hint": "Every Freshdesk call answers 503: 'not answering, retrying' at once while screenpop keeps trying; "
     "untick the Freshdesk switch and the tickets come by themselves. Left down, it gives up after ten attempts "
     "(about 45 s): 'unavailable', with a toast and Try again."},
    {"key": "hanging", "ani": "+12015550123", "label": "Freshdesk hanging", "freshdesk": "hang",
     "hint": "Freshdesk never answers: 'not answering, retrying' once the lookup's 1.2-s deadline passes; untick "
     "the Freshdesk switch and the tickets come by themselves. Left hanging, it gives up after ten attempts "
     "(about 45 s)."},
    {"key": "outside", "ani": "+12015550123", "label": "Queue outside the filters", "queue": "Sales",
     "hint": "Rings on Sales; the demo tenant watches Support only (the demo adds that filter if it has none): "
     "the panel says this call will not pop."},
]  # fmt: skip
CALLERS_BY_KEY = {caller["key"]: caller for caller in DEMO_CALLERS}
# The wrap-up codes the demo desktop offers when the agent ends a call (Genesys's own are per org and queue).
# The wrap-up codes the Genesys simulator seeds in each org (simulators/genesys/seed.py), which refuses any other.
DEMO_WRAPUP_CODES: tuple[str, ...] = ("Resolved", "Follow-up needed", "Escalated", "Wrong number")


class DemoUnavailable(ScreenpopError):
    status_code = 503
    code = "demo_unavailable"


@dataclass(frozen=True)
class DemoSetup:
    simulator_url: str
    environment: str
    tenant: Tenant
    agents: dict[str, dict[str, str]]  # "alex"/"blair" -> {"id", "name"}
    panel_client_id: str
    freshdesk_url: str | None


def _require_dev() -> None:
    if not settings.SCREENPOP_DEV:
        raise Http404("The demo desktop exists only in development (SCREENPOP_DEV=1).")


def _simulator(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{settings.GENESYS_SIMULATOR_URL.rstrip('/')}/_sim/{path}"
    try:
        response = requests.request(method, url, json=body, timeout=SIMULATOR_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        raise DemoUnavailable(
            f"The Genesys simulator at {settings.GENESYS_SIMULATOR_URL} did not answer: {error}"
        ) from error
    return response.json() if response.content else None


def demo_setup(*, callback_url: str) -> DemoSetup:
    """Make the development world ready for the demo, idempotently: the tenant of the simulator's demo organisation
    (created if `FRESHDESK_SIMULATOR_URL` is set), its panel client, the panel's redirect URI registered on the
    simulator's browser clients, and an HMAC key for recording calls. Raises `DemoUnavailable` saying what is missing.
    """
    if not settings.GENESYS_SIMULATOR_URL:
        raise DemoUnavailable("Start the Genesys simulator and set GENESYS_SIMULATOR_URL (make run does both).")
    seed = _simulator("GET", "seed")
    org_id = seed["orgs"][0]["id"]
    agents = {
        user["name"].split()[0].lower(): {"id": user["id"], "name": user["name"]}
        for user in seed["users"]
        if user["org_id"] == org_id and user["agent"]
    }
    panel_client_id = seed["clients"]["code"]["id"]  # authorization code with PKCE, as the wizard provisions
    environment = urlsplit(settings.GENESYS_SIMULATOR_URL).netloc
    tenant = Tenant.objects.filter(genesys_org_id=org_id).first()
    if tenant is None:
        if not settings.FRESHDESK_SIMULATOR_URL:
            raise DemoUnavailable(
                f"No tenant for the simulator's organisation {org_id}: set FRESHDESK_SIMULATOR_URL, or run "
                f"manage.py tenant_create --org-id {org_id} --region {environment} --freshdesk-url <simulator> ..."
            )
        tenant = tenant_create(
            org_id=org_id,
            name="Demo Org",
            region=environment,
            freshdesk_domain=settings.FRESHDESK_SIMULATOR_URL,
            freshdesk_api_key=FRESHDESK_SIMULATOR_API_KEY,
        )
    changed = []
    if not tenant.panel_client_id:
        tenant.panel_client_id = panel_client_id
        changed.append("panel_client_id")
    if not tenant.webhook_signing_secret:
        tenant.webhook_signing_secret = secrets.token_urlsafe(32)
        changed.append("webhook_signing_secret")
    if changed:
        tenant.save(update_fields=changed)
    redirect_uris = _simulator("GET", "config")["redirect_uris"]
    if callback_url not in redirect_uris:
        _simulator("POST", "config", {"redirect_uris": [*redirect_uris, callback_url]})
    connection = FreshdeskConnection.objects.filter(tenant=tenant).first()
    return DemoSetup(
        simulator_url=settings.GENESYS_SIMULATOR_URL.rstrip("/"),
        environment=environment,
        tenant=tenant,
        agents=agents,
        panel_client_id=tenant.panel_client_id,
        freshdesk_url=connection.domain if connection else None,
    )


def demo_agent_set(setup: DemoSetup, *, agent: str) -> dict[str, str]:
    """Who the simulator's login signs in from now on (its `default_login_user` knob)."""
    chosen = setup.agents.get(agent)
    if chosen is None:
        raise ValidationFailed(f"Unknown demo agent {agent!r}; one of {', '.join(setup.agents)}.", field="agent")
    _simulator("POST", "config", {"default_login_user": chosen["id"]})
    return chosen


def demo_call(setup: DemoSetup, *, caller: str, agent: str) -> dict[str, Any]:
    """Ring a seeded caller to `agent` through the simulator; record the webhook event if no trigger delivered it."""
    spec = CALLERS_BY_KEY.get(caller)
    if spec is None:
        raise ValidationFailed(f"Unknown demo caller {caller!r}.", field="caller")
    chosen = demo_agent_set(setup, agent=agent)
    if spec.get("freshdesk"):
        _freshdesk_knobs(setup, outage=spec["freshdesk"] == "outage", hang=spec["freshdesk"] == "hang")
    queue = spec.get("queue", WATCHED_QUEUE)
    if queue != WATCHED_QUEUE:
        _watch_only(setup, WATCHED_QUEUE)
    placed = _simulator(
        "POST",
        "calls",
        {"ani": spec["ani"], "queue": queue, "org": setup.tenant.genesys_org_id, "agent": chosen["id"]},
    )
    conversation_id = placed["conversationId"]
    delivered = _delivered(placed)
    if delivered:
        webhook = {"status": delivered[0]["webhook"]["status"], "via": "Genesys simulator data action"}
    else:
        start = _emitted(placed, ".acd.start").get("eventBody", {})
        ani = spec["ani"]
        webhook = _record_event(
            setup.tenant,
            {
                "conversation_id": conversation_id,
                "phone_number": ani if ani.startswith("tel:") else f"tel:{ani}",
                "event_type": "INBOUND_CALL_START",
                "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
                "queue_id": start.get("queueId") or "",
                "media_type": "VOICE",
                "direction": "INBOUND",
            },
        )
    return {"conversation_id": conversation_id, "caller": spec, "agent": chosen, "webhook": webhook}


def _emitted(answer: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The event the simulator emitted whose topic ends with `suffix`, with its trigger runs ({} if none)."""
    return next((event for event in answer.get("events", []) if event["topicName"].endswith(suffix)), {})


def _delivered(emitted: dict[str, Any]) -> list[dict[str, Any]]:
    """The trigger runs (of a call's events, or of one event) whose data action reached a webhook with a 2xx."""
    return [
        result
        for result in emitted.get("triggers", [])
        if 200 <= int(((result or {}).get("webhook") or {}).get("status") or 0) < 300
    ]


def _record_event(tenant: Tenant, payload: dict[str, Any]) -> dict[str, Any]:
    """The event a data action would send (a call start or a wrap-up), for an org where no trigger delivered it:
    through the webhook's own recorder (HMAC-signed, as a sender that signs), and a new pop's lookup scheduled as
    the webhook schedules it."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signed = SignedRequest(
        org_id=tenant.genesys_org_id,
        timestamp=stamp,
        signature=signature_compute(key=tenant.webhook_signing_secret, timestamp=stamp, body=body),
    )
    submission = submission_from_body(body, signed=signed)
    (reply,) = events_record([submission], lease_owner=process_identity())
    lookup_runner = runner()
    if reply.new_pop_id is not None and lookup_runner is not None:
        lookup_runner.schedule_threadsafe([(reply.new_pop_id, reply.tenant_id)])
    return {"status": reply.status, "body": reply.body, "via": "demo (signed webhook event)"}


def demo_transfer(setup: DemoSetup, *, conversation_id: str, agent: str) -> dict[str, Any]:
    """Transfer the call to `agent` (a new participant; the webhook sees a duplicate), who signs in from now on."""
    chosen = demo_agent_set(setup, agent=agent)
    _simulator("POST", f"calls/{conversation_id}/transfer", {"agent": chosen["id"]})
    return {"conversation_id": conversation_id, "agent": chosen}


def demo_end(setup: DemoSetup, *, conversation_id: str, code: str, notes: str = "") -> dict[str, Any]:
    """End the call as the agent's wrap-up would: the Genesys simulator disconnects everyone and emits
    `customer.end`, `user.end` and `acw` with the wrap-up code (the write-back then writes the call's note)."""
    if code not in DEMO_WRAPUP_CODES:
        raise ValidationFailed(f"code must be one of {', '.join(DEMO_WRAPUP_CODES)}.", field="code")
    ended = _simulator("POST", f"calls/{conversation_id}/end", {"wrapup": {"code": code, "notes": notes}})
    emitted = _emitted(ended, ".acw")
    acw = emitted.get("eventBody")
    if acw and not _delivered(emitted):
        # An org without the wrap-up trigger (the demo before the wizard ran): what its data action would send.
        _record_event(
            setup.tenant,
            {
                "event_type": "CALL_WRAPUP",
                "conversation_id": conversation_id,
                "user_id": acw.get("userId") or "",
                "participant_id": acw.get("participantId") or "",
                "queue_id": acw.get("queueId") or "",
                "wrapup_code": acw.get("wrapupCode") or "",
                "wrapup_notes": acw.get("wrapupNotes") or "",
                "wrapup_duration_ms": str(acw.get("wrapupDurationMs") or 0),
                "media_type": "VOICE",
                "direction": "INBOUND",
            },
        )
    return {"conversation_id": conversation_id, "wrapup": {"code": code}}


def demo_ticket_notes(setup: DemoSetup, *, conversation_id: str) -> dict[str, Any]:
    """The linked ticket of the call and its conversations (replies and notes) as the Freshdesk simulator lists
    them: where the demo shows the call's note once the write-back wrote it."""
    link = call_link_of(tenant_id=setup.tenant.pk, conversation_id=conversation_id)
    if link is None:
        return {"ticket": None, "notes": []}
    base_url = _freshdesk_simulator(setup)
    connection = FreshdeskConnection.objects.get(tenant=setup.tenant)
    try:
        response = requests.get(
            f"{base_url}/api/v2/tickets/{link.ticket_id}/conversations",
            auth=(connection.api_key, "X"),
            timeout=SIMULATOR_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        raise DemoUnavailable(f"The Freshdesk simulator did not answer: {error}") from error
    listed = response.json() if response.status_code == 200 else []
    notes = [
        {"id": item.get("id"), "private": bool(item.get("private")), "text": str(item.get("body_text") or "")}
        for item in listed
        if isinstance(item, dict)
    ]
    return {"ticket": {"id": link.ticket_id, "subject": link.subject}, "notes": notes}


def _freshdesk_simulator(setup: DemoSetup) -> str:
    if not setup.freshdesk_url:
        raise DemoUnavailable("The demo tenant has no Freshdesk connection.")
    base_url = freshdesk_base_url(setup.freshdesk_url)
    if urlsplit(base_url).hostname not in ("127.0.0.1", "localhost"):
        raise DemoUnavailable("The demo desktop reads tickets only from a Freshdesk simulator.")
    return base_url


def _watch_only(setup: DemoSetup, queue_name: str) -> None:
    """Give the demo tenant a queue filter on `queue_name` when it has none (none means every queue), so a call on
    another queue is one the webhook ignores."""
    if QueueFilter.objects.filter(tenant=setup.tenant).exists():
        return
    queues = _simulator("GET", "seed")["queues"]
    queue = next(q for q in queues if q["org_id"] == setup.tenant.genesys_org_id and q["name"] == queue_name)
    QueueFilter.objects.create(tenant=setup.tenant, queue_id=queue["id"], name=queue_name)


def demo_outage(setup: DemoSetup, *, on: bool) -> dict[str, Any]:
    """Switch the Freshdesk simulator's outage knob (every API call answers 503); off also ends a hang."""
    answer = _freshdesk_knobs(setup, outage=on, hang=False)
    return {"outage": answer.get("outage", on) or answer.get("hang", False)}


def _freshdesk_knobs(setup: DemoSetup, **knobs: bool) -> dict[str, Any]:
    """Set the Freshdesk simulator's fault knobs (`outage`: every call answers 503; `hang`: none is answered)."""
    base_url = _freshdesk_simulator(setup)
    try:
        response = requests.post(f"{base_url}/_sim/config", json=knobs, timeout=SIMULATOR_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        raise DemoUnavailable(f"The Freshdesk simulator did not answer: {error}") from error
    return response.json()


# -- views ----------------------------------------------------------------------------------------------------------


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    _require_dev()
    try:
        setup: DemoSetup | None = demo_setup(callback_url=panel_redirect_uri())
        problem = None
    except ScreenpopError as error:
        setup, problem = None, error.detail
    origin = f"{request.scheme}://{request.get_host()}"
    config: dict[str, Any] = {"problem": problem}
    if setup is not None:
        config.update(
            {
                # What the install wizard provisions, with the simulated desktop's values where Genesys interpolates.
                "widgetUrlTemplate": request.build_absolute_uri(reverse("panel-widget"))
                + "?gcConversationId={{gcConversationId}}&gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}"
                + f"&gcLangTag={{{{gcLangTag}}}}&clientId={setup.panel_client_id}&grant=pkce",
                "hostOrigin": origin,
                "targetEnv": setup.environment,
                "agents": setup.agents,
                "callers": DEMO_CALLERS,
                "wrapupCodes": DEMO_WRAPUP_CODES,
                "storagePrefix": "screenpop.panel.",
                "urls": {
                    "calls": reverse("panel-demo-calls"),
                    "agent": reverse("panel-demo-agent"),
                    "outage": reverse("panel-demo-outage"),
                    "transfer": reverse("panel-demo-transfer", args=["CONVERSATION"]),
                    "end": reverse("panel-demo-end", args=["CONVERSATION"]),
                    "ticket": reverse("panel-demo-ticket", args=["CONVERSATION"]),
                },
                "tenant": setup.tenant.name,
            }
        )
    # The frame as Genesys builds it from the widget's properties: its sandbox flags and feature permissions.
    frame = {
        "sandbox": " ".join(blueprint.WIDGET_SANDBOX.split(",")),
        "allow": "; ".join(blueprint.WIDGET_PERMISSIONS.split(",")),
    }
    context = {"config": config, "setup": setup, "problem": problem, "frame": frame}
    response = render(request, "screenpop/demo.html", context)
    if setup is not None:
        # The panel's frame goes to the simulator's login page and back, as it goes to login.<env> in Genesys.
        response._csp_update = {"frame-src": [setup.simulator_url]}  # type: ignore[attr-defined]
    return response


class _DemoView(APIView):
    schema = None  # development only: not part of the public API's schema

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        _require_dev()
        super().initial(request, *args, **kwargs)

    def demo(self, request: Request) -> DemoSetup:
        return demo_setup(callback_url=panel_redirect_uri())


def _text(data: Any, name: str) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"{name} is required.", field=name)
    return value


class DemoCallsView(_DemoView):
    def post(self, request: Request) -> Response:
        result = demo_call(self.demo(request), caller=_text(request.data, "caller"), agent=_text(request.data, "agent"))
        return Response(result, status=201)


class DemoTransferView(_DemoView):
    def post(self, request: Request, conversation_id: str) -> Response:
        setup = self.demo(request)
        return Response(demo_transfer(setup, conversation_id=conversation_id, agent=_text(request.data, "agent")))


class DemoEndView(_DemoView):
    def post(self, request: Request, conversation_id: str) -> Response:
        setup = self.demo(request)
        return Response(demo_end(setup, conversation_id=conversation_id, code=_text(request.data, "code")))


class DemoTicketView(_DemoView):
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(demo_ticket_notes(self.demo(request), conversation_id=conversation_id))


class DemoAgentView(_DemoView):
    def post(self, request: Request) -> Response:
        return Response(demo_agent_set(self.demo(request), agent=_text(request.data, "agent")))


class DemoOutageView(_DemoView):
    def post(self, request: Request) -> Response:
        on = request.data.get("on") if isinstance(request.data, dict) else None
        if not isinstance(on, bool):
            raise ValidationFailed("on must be true or false.", field="on")
        return Response(demo_outage(self.demo(request), on=on))
