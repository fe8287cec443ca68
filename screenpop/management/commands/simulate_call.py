"""`manage.py simulate_call`: place an inbound call on the Genesys simulator and say what happened.

    python manage.py simulate_call +15550199999 --queue support [--org-id ORG] [--simulator http://127.0.0.1:8301]

The simulator does what Genesys would: it creates the conversation, emits customer.start, acd.start and user.start,
runs every matching trigger's workflow, whose data action asks our /oauth/token/ for a token and calls our webhook.
This prints the token request and the webhook's status and answer for each trigger. Development only.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from screenpop.models import Tenant
from screenpop.validation import is_simulator_environment


class Command(BaseCommand):
    help = "Place an inbound call on the Genesys simulator and print the token request and the webhook's answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ani", help="the caller's number, e.g. +15550199999")
        parser.add_argument("--queue", default="Support", help="queue name (any case) or id (default Support)")
        parser.add_argument("--org-id", help="the organisation called (default: the simulator's first)")
        parser.add_argument("--agent", help="the agent the call is routed to (id, email or name)")
        parser.add_argument("--simulator", help="the simulator's URL (default: GENESYS_SIMULATOR_URL)")
        parser.add_argument("--json", action="store_true", help="print the simulator's whole answer as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        simulator = self._simulator_url(options)
        body: dict[str, Any] = {"ani": options["ani"], "queue": options["queue"]}
        if options["org_id"]:
            body["org"] = options["org_id"]
        if options["agent"]:
            body["agent"] = options["agent"]
        try:
            response = requests.post(f"{simulator}/_sim/calls", json=body, timeout=60)
        except requests.RequestException as error:
            raise CommandError(f"The Genesys simulator at {simulator} did not answer: {error}") from error
        if response.status_code != 200:
            raise CommandError(f"The simulator refused the call ({response.status_code}): {response.text[:500]}")
        call = response.json()
        self._print(call, body)
        if options["json"]:
            self.stdout.write(json.dumps(call))

    def _simulator_url(self, options: dict[str, Any]) -> str:
        if options["simulator"]:
            return options["simulator"].rstrip("/")
        if getattr(settings, "GENESYS_SIMULATOR_URL", ""):
            return settings.GENESYS_SIMULATOR_URL.rstrip("/")
        candidates = Tenant.objects.filter(active=True)
        if options["org_id"]:
            candidates = candidates.filter(genesys_org_id=options["org_id"])
        for tenant in candidates:
            if is_simulator_environment(tenant.region):
                return f"http://{tenant.region}"
        raise CommandError("Where is the simulator? Give --simulator URL or set GENESYS_SIMULATOR_URL.")

    def _print(self, call: dict[str, Any], body: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"Call {call['conversationId']} from {body['ani']} to queue {body['queue']}")
        write("  events: " + ", ".join(".".join(e["topicName"].split(".")[-2:]) for e in call.get("events") or []))
        outcomes = call.get("triggers") or []
        if not outcomes:
            write(
                self.style.WARNING(
                    "  No trigger ran: is the app installed in this org (genesys_provision), its workflow imported, "
                    "and the queue among the tenant's queue filters?"
                )
            )
        for outcome in outcomes:
            write(
                f"  trigger “{outcome.get('triggerName')}” → workflow “{outcome.get('flowName', '?')}” → "
                f"data action “{outcome.get('dataActionName', '?')}”"
            )
            token, webhook = outcome.get("tokenRequest"), outcome.get("webhook")
            if token:
                write(f"    token request: {token.get('method')} {token.get('url')} → {token.get('status')}")
            if webhook:
                answer = webhook.get("response_body")
                text = answer if isinstance(answer, str) else json.dumps(answer)
                write(
                    f"    webhook:       {webhook.get('method')} {webhook.get('url')} → {webhook.get('status')} {text}"
                )
            if not outcome.get("success"):
                error = outcome.get("error")
                message = error.get("message") if isinstance(error, dict) else error
                write(self.style.ERROR(f"    failed: {message}"))
