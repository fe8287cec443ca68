"""Every operation of the OpenAPI schema (`/api/schema/`), fuzzed by schemathesis against a real server (uvicorn, the
webhook's fast path included): inputs that fit the schema and inputs that do not, with real credentials where an
operation needs them. Not one answer may be a 5xx, and the server must log no traceback.

Bounded (a few dozen examples per operation and mode) so that the suite stays fast on CI's two cores; a failure
prints the request schemathesis made, to reproduce with curl.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.fixtures.genesys_sim import DEMO_ORG_ID, IMPLICIT_CLIENT_ID, USERS
from tests.fixtures.server import install_tenant

pytestmark = pytest.mark.slow

# SCREENPOP_FUZZ_EXAMPLES=500 for a deeper run by hand.
EXAMPLES_PER_OPERATION_AND_MODE = int(os.environ.get("SCREENPOP_FUZZ_EXAMPLES", "40"))


# The operations a panel token authenticates (bound to the conversation in the path).
PANEL_OPERATIONS = (
    "pop_state",
    "pop_retry",
    "pop_ticket_create",
    "pop_link",
    "pop_linked_ticket_create",
    "pop_search",
    "pop_note",
    "pop_note_save",
    "pop_dial",
    "pop_tickets_page",
)


class Credentials:
    """Real credentials for each operation: the webhook's bearer token, the Freshdesk webhook's URL and secret, a
    panel token for whatever conversation id was generated, and (every other case) a real Genesys token and
    environment for the panel session, so that its checks with Genesys run too."""

    def __init__(self, server: Any, installed: Any, *, access_token: str, freshdesk_secret: str, genesys: dict):
        self.server, self.installed = server, installed
        self.access_token, self.freshdesk_secret, self.genesys = access_token, freshdesk_secret, genesys
        self.sessions = self.updates = 0
        self.ticket_id = 1070  # a ticket of the Freshdesk simulator's seed

    def apply(self, case: Any) -> None:
        operation = case.operation.definition.raw.get("operationId")
        headers = dict(case.headers or {})
        if operation == "genesys_event":
            headers["Authorization"] = f"Bearer {self.access_token}"
        elif operation == "freshdesk_ticket_event":
            case.path_parameters = {"url_token": self.installed.url_token}
            basic = base64.b64encode(f"freshdesk:{self.freshdesk_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
            self.updates += 1
            if isinstance(case.body, dict) and self.updates % 2:
                case.body = {**case.body, "ticket_id": self.ticket_id}  # past "which ticket?" to the re-read
        elif operation in PANEL_OPERATIONS:
            conversation_id = unquote(str(case.path_parameters["conversation_id"]))  # as generated: percent-encoded
            token = self.server.panel_token(tenant_id=self.installed.tenant_id, conversation_id=conversation_id)
            headers["Authorization"] = f"Bearer {token}"
        elif operation == "panel_session" and isinstance(case.body, dict):
            self.sessions += 1
            if self.sessions % 2:
                case.body = {**case.body, **self.genesys}
        case.headers = headers


def fuzz(operation: Any, mode: GenerationMode, send: Any) -> bool:
    """Run `send(case)` on a bounded number of cases of one operation in one generation mode. False when the mode
    has no case for it (nothing in a string path parameter breaks its schema, so such an operation has no negative
    case)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        send(case)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        return False
    return True


def test_no_input_to_any_operation_gets_a_server_error(screenpop_server, freshdesk_sim, genesys_sim) -> None:
    server = screenpop_server
    environment = urlsplit(genesys_sim.base_url).netloc
    freshdesk_secret = "fd-" + secrets.token_urlsafe(24)
    installed = install_tenant(
        server,
        org_id=DEMO_ORG_ID,
        region=environment,
        freshdesk_sim=freshdesk_sim,
        panel_client_id=IMPLICIT_CLIENT_ID,
        freshdesk_webhook_secret=freshdesk_secret,
    )
    call = genesys_sim.place_call("+12015550123", "Support", agent=USERS["alex"])
    genesys = {
        "environment": environment,
        "genesys_token": genesys_sim.token_for("alex"),
        "conversation_id": call["conversationId"],
    }
    statuses: dict[str, Counter] = {}
    without_negative_cases: list[str] = []
    with server.run() as process:
        access_token = requests.post(
            f"{server.base_url}/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(installed.client_id, installed.client_secret),
            timeout=10,
        ).json()["access_token"]
        credentials = Credentials(
            server, installed, access_token=access_token, freshdesk_secret=freshdesk_secret, genesys=genesys
        )
        schema = schemathesis.openapi.from_url(f"{server.base_url}/api/schema/?format=json")
        session = requests.Session()

        def send(case: Any, counter: Counter) -> None:
            credentials.apply(case)
            response = case.call(base_url=server.base_url, session=session, timeout=15)
            counter[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])

        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            name = operation.definition.raw["operationId"]
            counter = statuses.setdefault(name, Counter())
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if not fuzz(operation, mode, lambda case, counter=counter: send(case, counter)):
                    without_negative_cases.append(name)
        log_path = process.log_path

    summary = {name: dict(sorted(counter.items())) for name, counter in statuses.items()}
    print(f"\nschemathesis statuses per operation: {summary}; no negative case: {without_negative_cases}")
    assert set(summary) == {"genesys_event", "freshdesk_ticket_event", "panel_session", *PANEL_OPERATIONS}
    assert all(status < 500 for counter in statuses.values() for status in counter)
    # The credentials took the cases past authentication: each authenticated operation also succeeded sometimes.
    assert statuses["genesys_event"][202] + statuses["genesys_event"][200] > 0, summary
    assert statuses["freshdesk_ticket_event"][200] > 0, summary
    assert statuses["pop_state"][200] > 0, summary
    assert statuses["panel_session"][200] > 0, summary
    assert statuses["pop_search"][200] > 0, summary
    assert statuses["pop_note_save"][200] > 0, summary
    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
