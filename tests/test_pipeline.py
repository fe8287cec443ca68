"""The pop pipeline end to end, over real HTTP and WebSockets: a uvicorn server, the Freshdesk simulator.

webhook (bearer token from /oauth/token/) -> durable ack -> background lookup against the simulator -> the panel's
socket receives `matched`. Also: dedupe, retries and the breaker, crash safety, two processes sharing PostgreSQL
and Redis.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from simulators.freshdesk.seed import demo_contact

pytestmark = pytest.mark.slow


class Installed:
    """A tenant installed on a server under test: its ids, its webhook token, and helpers to call and watch."""

    def __init__(self, server: Any, freshdesk_sim: Any, *, org_id: str = "org-e2e", phone_region: str = "US") -> None:
        self.server = server
        tenant = server.manage_json(
            "tenant_create", "--org-id", org_id, "--name", "E2E", "--phone-region", phone_region,
            "--freshdesk-url", freshdesk_sim.base_url, "--freshdesk-api-key", freshdesk_sim.api_key,
        )  # fmt: skip
        self.tenant_id = tenant["id"]
        self.credentials = server.manage_json("webhook_client_create", "--org-id", org_id)

    def token(self, base_url: str | None = None) -> str:
        response = requests.post(
            f"{base_url or self.server.base_url}/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(self.credentials["client_id"], self.credentials["client_secret"]),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def ring(self, conversation_id: str, phone: str, *, token: str, base_url: str | None = None) -> requests.Response:
        body = {
            "conversation_id": conversation_id,
            "phone_number": f"tel:{phone}",
            "event_type": "INBOUND_CALL_START",
            "media_type": "VOICE",
            "direction": "INBOUND",
            "queue_id": "queue-support",
        }
        return requests.post(
            f"{base_url or self.server.base_url}/api/v1/genesys/events",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def state(self, conversation_id: str, base_url: str | None = None) -> dict[str, Any]:
        token = self.server.panel_token(tenant_id=self.tenant_id, conversation_id=conversation_id)
        response = requests.get(
            f"{base_url or self.server.base_url}/api/v1/pops/{conversation_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, conversation_id: str, states: set[str], timeout: float = 20, base_url: str | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(conversation_id, base_url)
            if state["state"] in states:
                return state
            time.sleep(0.1)
        raise AssertionError(f"{conversation_id} never reached {states}: {state}")

    @contextmanager
    def socket(self, conversation_id: str, base_url: str | None = None):
        http = base_url or self.server.base_url
        token = self.server.panel_token(tenant_id=self.tenant_id, conversation_id=conversation_id)
        url = http.replace("http://", "ws://") + f"/ws/pops/{conversation_id}/"
        subprotocols = self.server.panel_subprotocols(token)
        with ws_connect(url, origin=http, subprotocols=subprotocols, open_timeout=10) as socket:
            assert socket.subprotocol == "screenpop.v1", "the server accepts the protocol, never echoes the token"
            yield socket


def receive_until(socket: Any, state: str, timeout: float = 20) -> list[dict[str, Any]]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        seen.append(message)
        if message.get("state") == state:
            return seen
    raise AssertionError(f"never received {state}: {seen}")


def lookups_of(freshdesk_sim: Any, endpoint: str) -> list[dict[str, Any]]:
    return [call for call in freshdesk_sim.requests() if call["endpoint"] == endpoint]


def test_call_to_matched_panel_over_real_http(screenpop_server, freshdesk_sim) -> None:
    with screenpop_server.run():
        installed = Installed(screenpop_server, freshdesk_sim)
        token = installed.token()
        conversation = str(uuid.uuid4())
        with installed.socket(conversation) as socket:
            first = json.loads(socket.recv(timeout=10))
            assert first["state"] == "pending", "the panel gets the state on connect, before any event"
            reply = installed.ring(conversation, "+15550199999", token=token)
            assert reply.status_code == 202, reply.text
            messages = receive_until(socket, "matched")
        matched = messages[-1]
        assert matched["contact"]["name"] == demo_contact("us_parenthesised").name
        assert matched["phone"]["e164"] == "+15550199999"
        tickets = matched["tickets"]
        assert 0 < len(tickets) <= 5
        unresolved = [t["status"] not in (4, 5) for t in tickets]
        assert unresolved == sorted(unresolved, reverse=True), "unresolved tickets first"
        assert all(t["url"].startswith(freshdesk_sim.base_url) for t in tickets)


def test_a_panel_socket_sending_a_huge_frame_is_closed_by_the_server(screenpop_server, freshdesk_sim) -> None:
    """A panel sends `{"type": "refresh"}`; a frame over 64 KB is refused by the server (1009, message too big)
    before it is buffered for the consumer, however the token was obtained."""
    with screenpop_server.run():
        installed = Installed(screenpop_server, freshdesk_sim)
        with installed.socket(str(uuid.uuid4())) as socket:
            assert json.loads(socket.recv(timeout=10))["state"] == "pending"
            socket.send(json.dumps({"type": "refresh", "padding": "x" * 70_000}))
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
    assert closed.value.rcvd.code == 1009


def test_junk_frames_on_a_real_socket_get_errors_or_a_clean_close(screenpop_server, freshdesk_sim) -> None:
    """Through uvicorn: binary and malformed text frames are answered with an error message and the socket stays
    usable; text that is not UTF-8 is closed by the server (1007, invalid data); the application raises nothing."""
    with screenpop_server.run() as process:
        installed = Installed(screenpop_server, freshdesk_sim)
        conversation = str(uuid.uuid4())
        with installed.socket(conversation) as socket:
            assert json.loads(socket.recv(timeout=10))["state"] == "pending"
            for frame in (
                b"\x00\x01binary",
                "",
                "[" * 5000,
                '{"type": ' + "9" * 4000 + "}",
                "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
                '{"type": null}',
            ):
                socket.send(frame)
                answer = json.loads(socket.recv(timeout=10))
                assert answer["type"] == "error", (frame[:20], answer)
            socket.send('{"type": "refresh"}')
            assert json.loads(socket.recv(timeout=10))["state"] == "pending"
            with socket.protocol_mutex:  # below the client's own validation
                socket.protocol.send_text(b"\xff\xfe not utf-8")
                socket.send_data()
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
        assert closed.value.rcvd.code == 1007
        with installed.socket(conversation) as socket:  # the server is fine
            assert json.loads(socket.recv(timeout=10))["state"] == "pending"
        log_path = process.log_path
    # uvicorn itself logs the non-UTF-8 frame at ERROR with its traceback (its websockets-sansio protocol); nothing
    # else may raise.
    log = log_path.read_text(errors="replace")
    assert log.count("Traceback") == log.count("ERROR uvicorn.error") == 1, log
    assert "Invalid UTF-8 sequence received from client." in log


def test_transfer_and_redelivery_cost_no_second_lookup(screenpop_server, freshdesk_sim) -> None:
    with screenpop_server.run():
        installed = Installed(screenpop_server, freshdesk_sim)
        token = installed.token()
        conversation = str(uuid.uuid4())
        assert installed.ring(conversation, "+15550199998", token=token).status_code == 202
        installed.wait_for(conversation, {"matched"})
        calls_after_first = len(freshdesk_sim.requests())
        for _ in range(3):  # a transfer, a re-delivery, a second trigger
            reply = installed.ring(conversation, "+15550199998", token=token)
            assert (reply.status_code, reply.json()["status"]) == (200, "duplicate")
        time.sleep(0.5)
        assert len(freshdesk_sim.requests()) == calls_after_first
        assert installed.state(conversation)["state"] == "matched", "a transferred agent sees the stored result"


def test_retries_then_unavailable_then_breaker_fails_fast(screenpop_server, freshdesk_sim) -> None:
    freshdesk_sim.configure(outage=True)
    with screenpop_server.run(SCREENPOP_BREAKER_FAILURES="4", SCREENPOP_BREAKER_COOLDOWN="1.5"):
        installed = Installed(screenpop_server, freshdesk_sim)
        token = installed.token()
        first = str(uuid.uuid4())
        with installed.socket(first) as socket:
            assert installed.ring(first, "+12015550123", token=token).status_code == 202
            messages = receive_until(socket, "unavailable")
        assert any(m["state"] == "pending" and "retrying" in m["detail"] for m in messages)
        final = messages[-1]
        assert final["attempts"] == 4, "one try and three retries"
        attempts_at = [call["at"] for call in freshdesk_sim.requests() if call["status"] >= 500]
        assert len(attempts_at) >= 4

        # The breaker is open now: the next caller is told "unavailable" at once, without a Freshdesk call.
        calls_before = len(freshdesk_sim.requests())
        second = str(uuid.uuid4())
        assert installed.ring(second, "+12125550172", token=token).status_code == 202
        fast = installed.wait_for(second, {"unavailable"}, timeout=5)
        assert "unavailable" in fast["detail"]
        assert len(freshdesk_sim.requests()) == calls_before

        # After the cool-down one probe goes through; Freshdesk is back, so the breaker closes.
        freshdesk_sim.configure(outage=False)
        time.sleep(1.6)
        third = str(uuid.uuid4())
        assert installed.ring(third, "+12125550172", token=token).status_code == 202
        assert installed.wait_for(third, {"matched"})["contact"]["name"] == demo_contact("us_digits_international").name


def test_pop_accepted_by_a_killed_process_is_finished_once_after_restart(screenpop_server, freshdesk_sim) -> None:
    conversation = str(uuid.uuid4())
    with screenpop_server.run(SCREENPOP_RUN_WORKERS="0", SCREENPOP_LEASE_SECONDS="1") as doomed:
        installed = Installed(screenpop_server, freshdesk_sim)
        reply = installed.ring(conversation, "+81312345678", token=installed.token())
        assert reply.status_code == 202, "acknowledged: durably recorded"
        screenpop_server.kill(doomed)  # SIGKILL between the ack and the lookup
    assert freshdesk_sim.requests() == [], "the killed process never looked the caller up"
    with screenpop_server.run():
        state = installed.wait_for(conversation, {"matched"})
    assert state["contact"]["name"] == demo_contact("jp_national").name
    ticket_lists = lookups_of(freshdesk_sim, "tickets.list")
    assert len(ticket_lists) == 1, "exactly one lookup after the restart"


def test_event_accepted_by_one_process_reaches_a_socket_held_by_another(
    screenpop_server, freshdesk_sim, postgres_url, redis_url
) -> None:
    if "DATABASE_URL" not in screenpop_server.env:
        pytest.skip("runs in the production configuration (CI's second pass: DATABASE_URL and REDIS_URL set)")
    with screenpop_server.run(REDIS_URL=redis_url):
        first_url = screenpop_server.base_url
        second = type(screenpop_server)(directory=screenpop_server.directory, env=dict(screenpop_server.env))
        with second.run(REDIS_URL=redis_url):
            installed = Installed(screenpop_server, freshdesk_sim)
            conversation = str(uuid.uuid4())
            with installed.socket(conversation, base_url=first_url) as socket:
                assert json.loads(socket.recv(timeout=10))["state"] == "pending"
                reply = installed.ring(conversation, "+12015550123", token=installed.token(), base_url=second.base_url)
                assert reply.status_code == 202
                matched = receive_until(socket, "matched")[-1]
    assert matched["contact"]["name"] == demo_contact("us_e164").name


def metric_values(base_url: str, token: str, name: str) -> dict[str, float]:
    """The samples of one metric from /metrics: label text (`writer="thread"`) -> value."""
    text = requests.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10).text
    prefix = name + "{"
    return {
        line[len(prefix) : line.index("}")]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def test_a_sqlite_write_lock_held_elsewhere_does_not_stall_the_event_loop(screenpop_server, freshdesk_sim) -> None:
    """SQLite: the event loop records a batch itself only when the write lock is free at once. While another
    process holds it, the webhook waits in the database thread: the server keeps answering, and the call is
    accepted when the lock is released."""
    import sqlite3
    import threading

    if "SQLITE_PATH" not in screenpop_server.env:
        pytest.skip("SQLite's write lock: the embedded configuration")
    with screenpop_server.run(METRICS_TOKEN="scrape-e2e", SCREENPOP_RUN_WORKERS="0"):
        installed = Installed(screenpop_server, freshdesk_sim)
        token = installed.token()
        # With the lock free the event loop writes (a moment of SQLite's own WAL housekeeping can still answer
        # BUSY to a lock taken without waiting, and send one batch to the thread: that is allowed, and rare).
        for number in range(5):
            assert installed.ring(f"lock-free-{number}", "+15550199999", token=token).status_code == 202
        before = metric_values(screenpop_server.base_url, "scrape-e2e", "screenpop_webhook_batches_total")
        assert before['writer="event_loop"'] >= 4

        other_writer = sqlite3.connect(screenpop_server.env["SQLITE_PATH"], isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")  # what a management command or an admin save in another process does
        try:
            replies: list[requests.Response] = []
            ringing = threading.Thread(
                target=lambda: replies.append(installed.ring("lock-held", "+15550199999", token=token))
            )
            ringing.start()
            time.sleep(0.5)
            assert not replies, "the call waits for the lock"
            assert requests.get(f"{screenpop_server.base_url}/healthz", timeout=5).status_code == 200
            assert not replies, "the event loop answered while the call still waits: the loop is not the one waiting"
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        ringing.join(timeout=20)
        assert [reply.status_code for reply in replies] == [202]
        after = metric_values(screenpop_server.base_url, "scrape-e2e", "screenpop_webhook_batches_total")
        assert after['writer="thread"'] == before['writer="thread"'] + 1, "the held call went to the thread"
        assert after['writer="event_loop"'] == before['writer="event_loop"']
    rows = screenpop_server.sql(
        "SELECT p.conversation_id, e.outcome FROM screenpop_pop p JOIN screenpop_eventlog e "
        "ON e.conversation_id = p.conversation_id ORDER BY p.id"
    )
    assert rows == [*((f"lock-free-{number}", "accepted") for number in range(5)), ("lock-held", "accepted")]
