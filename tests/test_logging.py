"""Logs: every record carries its context and loses what looks like a secret (screenpop/logging.py); a whole call
through a real server leaves none of the call's secrets and tokens in its log."""

from __future__ import annotations

import logging
import secrets
import string

import pytest

from screenpop.logging import REDACTED, RedactingFilter, redact
from screenpop.panel_tokens import panel_token_issue

CONVERSATION = "7a1b2c3d-0000-4000-8000-00000000000a"


def random_letters(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(length))


@pytest.mark.django_db
def test_token_shaped_text_is_redacted() -> None:
    panel_token = panel_token_issue(tenant_id=1, conversation_id=CONVERSATION, user_id="agent-1")
    client_secret = secrets.token_urlsafe(36)
    lines = {
        f'127.0.0.1:5 - "WebSocket /ws/pops/{CONVERSATION}/?token={panel_token}" [accepted]': (
            f'127.0.0.1:5 - "WebSocket /ws/pops/{CONVERSATION}/?token={REDACTED}" [accepted]'
        ),
        f"subprotocols ['screenpop.v1', 'screenpop.token.{panel_token}']": (
            f"subprotocols ['screenpop.v1', 'screenpop.token.{REDACTED}']"
        ),
        "Authorization: Bearer abcDEF123ghiJKL456": f"Authorization: {REDACTED}",
        "sent Bearer abcDEF123ghiJKL456 to Genesys": f"sent Bearer {REDACTED} to Genesys",
        "{'Authorization': 'Basic Zm9vOmJhcg=='}": f"{{'Authorization': '{REDACTED}'}}",
        "[(b'authorization', b'Bearer zzz')]": f"[(b'authorization', b'{REDACTED}')]",
        f"client_id=abc&client_secret={client_secret}&grant_type=client_credentials": (
            f"client_id=abc&client_secret={REDACTED}&grant_type=client_credentials"
        ),
        "/widget/?code=abc&state=xyz": f"/widget/?code={REDACTED}&state=xyz",
        '{"access_token": "x9Yz", "genesys_token": "t", "api_key": "k"}': (
            f'{{"access_token": "{REDACTED}", "genesys_token": "{REDACTED}", "api_key": "{REDACTED}"}}'
        ),
        f"the key is {panel_token}.": f"the key is {REDACTED}.",
        f"the secret is {client_secret}": f"the secret is {REDACTED}",
    }
    assert {line: redact(line) for line in lines} == lines
    api_key = random_letters(10).upper() + random_letters(10).lower()  # a Freshdesk key without digits
    assert redact(f"key {api_key}") == f"key {REDACTED}"


def test_what_is_not_secret_is_kept() -> None:
    lines = [
        f"conversation {CONVERSATION} org 4f1c2a9e-8b1d-4c7e-9f00-123456789abc",
        "checksum " + "ab12" * 16,
        "status code: 422, error_code=validation_failed, tel:+15550199999",
        "Failed basic auth: Application x does not exist",
        "AsyncJsonWebsocketConsumer raised in oauth2_provider.oauth2_validators",
        'File "/srv/.venv/lib/python3.11/site-packages/channels/generic/websocket.py", line 272',
        "POST https://acme.freshdesk.com/api/v2/search/contacts 200",
    ]
    assert [redact(line) for line in lines] == lines


def record(msg: object, args: object = None, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, msg, args, exc_info)


def test_the_filter_redacts_arguments_in_place_and_tracebacks() -> None:
    token = secrets.token_urlsafe(30)
    plain = record('%s - "WebSocket %s" [accepted]', ("127.0.0.1:5", f"/ws/pops/x/?token={token}"))
    assert RedactingFilter().filter(plain)
    assert plain.args == ("127.0.0.1:5", f"/ws/pops/x/?token={REDACTED}"), "formatters may unpack the arguments"

    mapping = record("%(client)s sent %(authorization)s", ({"client": "1.2.3.4", "authorization": f"Bearer {token}"},))
    RedactingFilter().filter(mapping)
    assert mapping.getMessage() == f"1.2.3.4 sent Bearer {REDACTED}"

    rendered = record("headers %s", ([(b"authorization", f"Bearer {token}".encode())],))
    RedactingFilter().filter(rendered)
    assert (rendered.getMessage(), rendered.args) == (f"headers [(b'authorization', b'{REDACTED}')]", None)

    try:
        raise ValueError(f"bad token {token}")
    except ValueError:
        import sys

        failed = record("failed", exc_info=sys.exc_info())
    RedactingFilter().filter(failed)
    text = logging.Formatter().format(failed)
    assert "ValueError: bad token [redacted]" in text
    assert token not in text


def test_every_configured_handler_redacts(settings) -> None:
    handlers = [handler for handler in logging.getLogger("screenpop").handlers]
    handlers += logging.getLogger("uvicorn").handlers + logging.getLogger("uvicorn.access").handlers
    handlers += logging.getLogger().handlers + logging.getLogger("django").handlers
    assert handlers
    for handler in handlers:
        if type(handler).__module__.startswith("_pytest"):
            continue
        assert any(isinstance(f, RedactingFilter) for f in handler.filters), handler
    names = {name for name, config in settings.LOGGING["loggers"].items() if "handlers" in config}
    assert {"screenpop", "django", "uvicorn", "uvicorn.access"} <= names
    assert settings.LOGGING["loggers"]["uvicorn.access"]["handlers"] == [], "off unless ACCESS_LOG is set"
    assert all("redact" in handler["filters"] for handler in settings.LOGGING["handlers"].values())


@pytest.mark.slow
def test_a_whole_call_leaves_none_of_its_secrets_in_the_server_log(
    screenpop_server, genesys_sim, freshdesk_sim
) -> None:
    """Webhook credentials and token, the agent's sign-in, the panel's socket and REST reads, the pop, a Freshdesk
    ticket update, and what an attacker or a confused client sends (wrong secrets, a token in the socket's URL, junk
    frames): the server's log (uvicorn's and the app's, at DEBUG) holds none of the secrets and tokens involved."""
    import base64
    import json
    from urllib.parse import urlsplit

    import requests
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect as ws_connect

    from simulators.freshdesk.seed import demo_contact
    from tests.fixtures.genesys_sim import DEMO_ORG_ID, IMPLICIT_CLIENT_ID, USERS
    from tests.fixtures.server import install_tenant

    server = screenpop_server
    webhook_secret = "fd-" + secrets.token_urlsafe(24)
    environment = urlsplit(genesys_sim.base_url).netloc
    installed = install_tenant(
        server,
        org_id=DEMO_ORG_ID,
        region=environment,
        freshdesk_sim=freshdesk_sim,
        panel_client_id=IMPLICIT_CLIENT_ID,
        freshdesk_webhook_secret=webhook_secret,
    )
    url_token = installed.url_token
    credentials = {"client_id": installed.client_id, "client_secret": installed.client_secret}
    phone = demo_contact("us_e164").phone_e164
    conversation_id = genesys_sim.place_call(phone, "Support", agent=USERS["alex"])["conversationId"]
    genesys_token = genesys_sim.token_for("alex")

    with server.run(LOG_LEVEL="DEBUG", ACCESS_LOG="1") as process:
        base = server.base_url
        # The data action's credential: Basic auth, body fields, and wrong guesses.
        issued = requests.post(
            f"{base}/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
            timeout=10,
        )
        access_token = issued.json()["access_token"]
        body_token = requests.post(
            f"{base}/oauth/token/",
            data={"grant_type": "client_credentials", **credentials},
            timeout=10,
        ).json()["access_token"]
        wrong_secret = secrets.token_urlsafe(36)
        refused = requests.post(
            f"{base}/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], wrong_secret),
            timeout=10,
        )
        # The agent's sign-in, then a wrong token.
        session = requests.post(
            f"{base}/api/v1/panel/session",
            json={"genesys_token": genesys_token, "conversation_id": conversation_id, "environment": environment},
            timeout=10,
        )
        panel_token = session.json()["panel_token"]
        bad_session = requests.post(
            f"{base}/api/v1/panel/session",
            json={"genesys_token": genesys_token + "x", "conversation_id": conversation_id, "environment": environment},
            timeout=10,
        )
        socket_url = f"{server.ws_url}/ws/pops/{conversation_id}/"
        # A client still sending the token in the URL: refused, and uvicorn's log line about it redacted.
        with pytest.raises(InvalidStatus):
            ws_connect(f"{socket_url}?token={panel_token}", origin=base, open_timeout=10).close()
        with ws_connect(
            socket_url, origin=base, subprotocols=server.panel_subprotocols(panel_token), open_timeout=10
        ) as socket:
            assert json.loads(socket.recv(timeout=10))["state"] == "pending"
            socket.send(f'{{"type": "auth", "token": "{panel_token}"}}')
            assert json.loads(socket.recv(timeout=10))["type"] == "error"
            event = {
                "conversation_id": conversation_id,
                "phone_number": f"tel:{phone}",
                "event_type": "INBOUND_CALL_START",
                "media_type": "VOICE",
                "direction": "INBOUND",
            }
            ack = requests.post(
                f"{base}/api/v1/genesys/events", json=event, headers={"Authorization": f"Bearer {access_token}"}
            )
            while (state := json.loads(socket.recv(timeout=20)))["state"] == "pending":
                pass
        state_read = requests.get(
            f"{base}/api/v1/pops/{conversation_id}", headers={"Authorization": f"Bearer {panel_token}"}, timeout=10
        )
        basic = "Basic " + base64.b64encode(f"freshdesk:{webhook_secret}".encode()).decode()
        ticket_id = state["tickets"][0]["id"]
        update = requests.post(
            f"{base}/api/v1/freshdesk/events/{url_token}",
            json={"ticket_id": ticket_id},
            headers={"Authorization": basic},
            timeout=10,
        )
        empty_update = requests.post(
            f"{base}/api/v1/freshdesk/events/{url_token}",
            data=b"",
            headers={"Authorization": basic, "Content-Type": "application/json"},
            timeout=10,
        )
        log_path = process.log_path

    assert (issued.status_code, refused.status_code, session.status_code, bad_session.status_code) == (
        200, 401, 200, 401,
    )  # fmt: skip
    assert (ack.status_code, state["state"], state_read.status_code) == (202, "matched", 200)
    assert (update.status_code, empty_update.status_code) == (200, 422)
    log = log_path.read_text(errors="replace")
    assert f'"WebSocket /ws/pops/{conversation_id}/" [accepted]' in log, "the log was captured, handshakes included"
    assert f"/ws/pops/{conversation_id}/?token={REDACTED}" in log, "the token in a URL was redacted"
    assert '"POST /api/v1/genesys/events HTTP/1.1" 202' in log, "the access log was on"
    settings_secrets = {name: server.env[name] for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY")}
    created = {
        "client secret": credentials["client_secret"],
        "wrong secret": wrong_secret,
        "access token": access_token,
        "access token (body credentials)": body_token,
        "panel token": panel_token,
        "panel token signature": panel_token.rsplit(".", 1)[1],
        "Genesys token": genesys_token,
        "Freshdesk API key": freshdesk_sim.api_key,
        "Freshdesk webhook secret": webhook_secret,
        "Basic credentials": basic.split()[1],
        **settings_secrets,
    }
    assert {name: value for name, value in created.items() if value in log} == {}
