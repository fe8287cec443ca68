"""The panel's WebSocket and its REST fallback: panel tokens, state on connect, pushes, refresh, isolation."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from screenpop.consumers import CLOSE_TRY_AGAIN
from screenpop.models import Pop
from screenpop.panel_tokens import panel_token_issue
from screenpop.pops.result import PopResult
from screenpop.publishing import pop_publish_on_commit

pytestmark = [pytest.mark.django_db(transaction=True)]

CONVERSATION = "7a1b2c3d-0000-4000-8000-00000000000a"


@pytest.fixture
def app(settings):
    settings.SCREENPOP_RUN_WORKERS = False
    from genesys_app.asgi import application

    return application


def connect(
    app, conversation_id: str, token: str | None, origin: bytes = b"http://testserver"
) -> WebsocketCommunicator:
    """A panel's socket: the token offered as a subprotocol, as the panel's JavaScript does."""
    subprotocols = ["screenpop.v1", f"screenpop.token.{token}"] if token else ["screenpop.v1"]
    return WebsocketCommunicator(
        app, f"/ws/pops/{conversation_id}/", headers=[(b"origin", origin)], subprotocols=subprotocols
    )


async def refused(socket: WebsocketCommunicator) -> int:
    """Connect, expect the handshake refused, and return its close code. The server then tells the consumer the
    socket is gone, as uvicorn does; a consumer left waiting on the channel layer would be cancelled with the test's
    event loop instead, mid-receive from Redis."""
    connected, code = await socket.connect()
    assert not connected
    await socket.disconnect()
    return code


def finish_pop(pop: Pop, **fields) -> None:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(pop, name, value)
        pop.save()
        pop_publish_on_commit(pop)


async def test_state_on_connect_then_pushes_then_refresh(app, make_tenant) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="agent-1")
    socket = connect(app, CONVERSATION, token)
    connected, subprotocol = await socket.connect()
    assert connected
    assert subprotocol == "screenpop.v1", "the accepted protocol, never the token, is echoed"
    first = await socket.receive_json_from(timeout=5)
    assert (first["type"], first["state"], first["conversation_id"]) == ("pop.state", "pending", CONVERSATION)

    pop = await database_sync_to_async(Pop.objects.create)(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="tel:+15550199999", received_at=timezone.now()
    )
    result = PopResult("+1 555-019-9999", ({"id": 7, "name": "Dana", "tickets": []},)).to_json()
    await database_sync_to_async(finish_pop)(pop, state="matched", result=result, phone_e164="+15550199999")
    pushed = await socket.receive_json_from(timeout=5)
    assert pushed["state"] == "matched"
    assert pushed["contact"] == {"id": 7, "name": "Dana", "tickets": []}
    assert pushed["contacts"] == [pushed["contact"]]
    assert pushed["phone"] == {"e164": "+15550199999", "display": "+1 555-019-9999"}

    await socket.send_json_to({"type": "refresh"})
    again = await socket.receive_json_from(timeout=5)
    assert again["state"] == "matched"
    await socket.send_json_to({"type": "anything-else"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "error"
    await socket.send_to(text_data="not json")
    assert (await socket.receive_json_from(timeout=5))["type"] == "error"
    await socket.disconnect()


async def test_result_before_socket_is_sent_on_connect(app, make_tenant) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    await database_sync_to_async(Pop.objects.create)(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="tel:+15550100", state="no_match",
        detail="No Freshdesk contact has this number.", received_at=timezone.now(),
    )  # fmt: skip
    socket = connect(
        app, CONVERSATION, panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a")
    )
    assert (await socket.connect())[0]
    state = await socket.receive_json_from(timeout=5)
    assert state["state"] == "no_match"
    await socket.disconnect()


@pytest.mark.parametrize("token_kind", ["none", "forged", "other_conversation", "expired"])
async def test_sockets_without_a_valid_token_for_this_conversation_are_closed(
    app, make_tenant, settings, token_kind
) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    tokens = {
        "none": None,
        "forged": "eyJ0IjoxLCJjIjoiYSIsInUiOiJ4In0:1abc:forged",
        "other_conversation": panel_token_issue(tenant_id=tenant.pk, conversation_id="other", user_id="a"),
        "expired": panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a"),
    }
    if token_kind == "expired":
        settings.SCREENPOP_PANEL_TOKEN_SECONDS = -1
    socket = connect(app, CONVERSATION, tokens[token_kind])
    assert await refused(socket) == (4403 if token_kind == "other_conversation" else 4401)


@pytest.mark.parametrize(
    "offer",
    [
        "query_string",  # the old transport: a token in the URL ends up in logs, and is refused
        "token_without_protocol",
        "two_tokens",
    ],
)
async def test_a_token_anywhere_but_beside_the_protocol_is_refused(app, make_tenant, offer) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a")
    path, subprotocols = f"/ws/pops/{CONVERSATION}/", ["screenpop.v1"]
    if offer == "query_string":
        path += f"?token={token}"
    elif offer == "token_without_protocol":
        subprotocols = [f"screenpop.token.{token}"]
    else:
        subprotocols = ["screenpop.v1", f"screenpop.token.{token}", f"screenpop.token.{token}x"]
    socket = WebsocketCommunicator(app, path, headers=[(b"origin", b"http://testserver")], subprotocols=subprotocols)
    assert await refused(socket) == 4401


async def test_socket_from_a_foreign_origin_is_refused(app, make_tenant) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a")
    await refused(connect(app, CONVERSATION, token, origin=b"https://evil.example"))


async def test_a_panel_never_sees_another_tenants_pop(app, make_tenant) -> None:
    tenant_a = await database_sync_to_async(make_tenant)()
    tenant_b = await database_sync_to_async(make_tenant)()
    pop_b = await database_sync_to_async(Pop.objects.create)(
        tenant=tenant_b, conversation_id=CONVERSATION, phone_raw="tel:+15550100", received_at=timezone.now()
    )
    socket = connect(
        app, CONVERSATION, panel_token_issue(tenant_id=tenant_a.pk, conversation_id=CONVERSATION, user_id="a")
    )
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["detail"].startswith("Waiting")
    await database_sync_to_async(finish_pop)(pop_b, state="matched", result={"contact": {"name": "Secret"}})
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


def test_rest_state_needs_the_panel_token_of_the_conversation(client, make_tenant) -> None:
    tenant = make_tenant()
    Pop.objects.create(
        tenant=tenant,
        conversation_id=CONVERSATION,
        phone_raw="tel:+15550100",
        state="no_match",
        received_at=timezone.now(),
    )
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a")
    url = f"/api/v1/pops/{CONVERSATION}"
    assert client.get(url).status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Bearer forged").status_code == 401
    other = panel_token_issue(tenant_id=tenant.pk, conversation_id="another", user_id="a")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 403
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["state"] == "no_match"


def test_retry_is_only_for_unavailable_or_error(client, make_tenant) -> None:
    tenant = make_tenant()
    pop = Pop.objects.create(
        tenant=tenant,
        conversation_id=CONVERSATION,
        phone_raw="tel:+15550100",
        state="matched",
        received_at=timezone.now(),
    )
    auth = f"Bearer {panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id='a')}"
    assert client.post(f"/api/v1/pops/{CONVERSATION}/retry", HTTP_AUTHORIZATION=auth).status_code == 409
    Pop.objects.filter(pk=pop.pk).update(state="unavailable", attempts=4)
    response = client.post(f"/api/v1/pops/{CONVERSATION}/retry", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 202
    assert response.json()["state"] == "pending"
    pop.refresh_from_db()
    assert (pop.state, pop.attempts) == ("pending", 0)


FUZZ_MESSAGES = {
    "not json": {"text": "not json"},
    "empty text": {"text": ""},
    "truncated json": {"text": '{"type": "refre'},
    "json array": {"text": '["refresh"]'},
    "json string": {"text": '"refresh"'},
    "json number": {"text": "1e999"},
    "json null": {"text": "null"},
    "NaN": {"text": "NaN"},
    "type as a list": {"text": '{"type": ["refresh"]}'},
    "type as an object": {"text": '{"type": {"refresh": true}}'},
    "type as a number": {"text": '{"type": 1}'},
    "type missing": {"text": '{"kind": "refresh"}'},
    "lone surrogate": {"text": '{"type": "\\ud800"}'},
    "NUL": {"text": '{"type": "refresh\\u0000"}'},
    "integer past the digit limit": {"text": '{"type": ' + "9" * 4090 + "}"},
    "nested past the parser's depth": {"text": "[" * 4096},
    "nested object inside the limit": {"text": '{"type": "x", "a": ' + "[" * 900 + "]" * 900 + "}"},
    "over the size limit": {"text": '{"type": "refresh", "pad": "' + "x" * 5000 + '"}'},
    "multi-byte over the limit": {"text": '{"type": "' + "\u65e5" * 5000 + '"}'},
    "binary": {"bytes": b"\x00\xff" * 100},
    "binary json": {"bytes": b'{"type": "refresh"}'},
}


async def test_every_malformed_message_gets_an_error_and_the_socket_stays_usable(app, make_tenant) -> None:
    """Hand-fuzzed frames on an authenticated socket: each is answered with an error message (never a crash, a
    close or the state), and a refresh afterwards still returns the state."""
    tenant = await database_sync_to_async(make_tenant)()
    socket = connect(
        app, CONVERSATION, panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="a")
    )
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["state"] == "pending"
    answers = {}
    for name, frame in FUZZ_MESSAGES.items():
        await socket.send_input({"type": "websocket.receive", **frame})  # raw ASGI: an empty frame too
        answers[name] = await socket.receive_json_from(timeout=5)
    assert {name: answer["type"] for name, answer in answers.items()} == {name: "error" for name in FUZZ_MESSAGES}
    assert all(answer["detail"] for answer in answers.values())
    await socket.send_json_to({"type": "refresh"})
    assert (await socket.receive_json_from(timeout=5))["state"] == "pending"
    assert await socket.receive_nothing(timeout=0.2)


class FlakyLayer(InMemoryChannelLayer):
    """The in-memory layer, with Redis's failures on demand: `group_add` failing its next N calls, `receive`
    failing from now on (the server went away under open sockets)."""

    group_add_failures = 0
    receive_fails = False

    async def group_add(self, group: str, channel: str) -> None:
        if FlakyLayer.group_add_failures:
            FlakyLayer.group_add_failures -= 1
            raise RedisConnectionError("Connection closed by server.")
        await super().group_add(group, channel)

    async def receive(self, channel: str) -> dict:
        while not FlakyLayer.receive_fails:
            try:
                return await asyncio.wait_for(super().receive(channel), timeout=0.05)
            except TimeoutError:
                continue
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def flaky_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_consumers.FlakyLayer"}}
    FlakyLayer.group_add_failures = 0
    FlakyLayer.receive_fails = False
    yield FlakyLayer
    FlakyLayer.group_add_failures = 0
    FlakyLayer.receive_fails = False


async def _connected_with_state(app, tenant) -> WebsocketCommunicator:
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id=CONVERSATION, user_id="agent-1")
    socket = connect(app, CONVERSATION, token)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["state"] == "pending"
    return socket


async def test_joining_the_group_is_tried_again_once_after_a_stale_redis_connection(
    app, make_tenant, flaky_layer
) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    flaky_layer.group_add_failures = 1
    socket = await _connected_with_state(app, tenant)
    pop = await database_sync_to_async(Pop.objects.create)(
        tenant=tenant, conversation_id=CONVERSATION, phone_raw="tel:+15550199999", received_at=timezone.now()
    )
    await database_sync_to_async(finish_pop)(pop, state="no_match")
    assert (await socket.receive_json_from(timeout=5))["state"] == "no_match"  # the group was joined
    await socket.disconnect()


async def test_a_socket_opening_while_redis_is_down_gets_the_state_then_try_again_later(
    app, make_tenant, flaky_layer
) -> None:
    tenant = await database_sync_to_async(make_tenant)()
    flaky_layer.group_add_failures = 2
    socket = await _connected_with_state(app, tenant)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}
    await socket.disconnect()


async def test_open_panels_get_a_close_frame_when_redis_goes_away(app, make_tenant, flaky_layer) -> None:
    """Not dropped: closed with 1013, which the panel answers by reconnecting (and polling meanwhile)."""
    tenant = await database_sync_to_async(make_tenant)()
    socket = await _connected_with_state(app, tenant)
    flaky_layer.receive_fails = True
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}
    await socket.disconnect()
