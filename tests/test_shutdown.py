"""A server stopped with SIGTERM (a rolling restart, a scale-down) loses nothing: the webhooks in flight are answered,
the lookups running finish, the panels' sockets close with 1012 so they reconnect elsewhere, and the pops it still
held are taken at once by another process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

from genesys_app.serving import uvicorn_args
from tests.fault_rig import search_repeats
from tests.fixtures.processes import free_port, running_process
from tests.test_pipeline import Installed

pytestmark = [pytest.mark.slow]

FINAL = {"matched", "no_match", "unavailable", "error"}


def _unknown_number(index: int) -> str:
    return f"+1555{7000000 + index:07d}"


def _close_frame(socket) -> int | None:
    """Read until the server closes the socket; the close code it sent."""
    try:
        while True:
            socket.recv(timeout=30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def test_sigterm_answers_finishes_and_hands_over(screenpop_server, freshdesk_sim) -> None:
    freshdesk_sim.configure(latency_ms={"default": 600})  # each lookup's searches still running at SIGTERM
    other_port = free_port()
    other_url = f"http://127.0.0.1:{other_port}"
    with screenpop_server.run() as stopping:
        installed = Installed(screenpop_server, freshdesk_sim)
        token = installed.token()
        with running_process(
            uvicorn_args(host="127.0.0.1", port=other_port), ready_url=f"{other_url}/healthz", env=screenpop_server.env
        ):
            conversations = [str(uuid.uuid4()) for _ in range(40)]
            with installed.socket(conversations[0]) as socket:
                assert socket.recv(timeout=10)  # the state on connect
                replies = [
                    installed.ring(conversation, _unknown_number(index), token=token)
                    for index, conversation in enumerate(conversations)
                ]
                assert [reply.status_code for reply in replies] == [202] * len(conversations)
                signalled = time.monotonic()
                os.killpg(stopping.pid, signal.SIGTERM)
                close = _close_frame(socket)
                assert close == 1012, "the panel's socket is told the server restarts, so it reconnects"
            try:
                stopping.wait(timeout=45)  # the termination grace period of compose and the manifests
            except subprocess.TimeoutExpired:
                pytest.fail("the server did not exit within the grace period")
            assert time.monotonic() - signalled < 45
            log = stopping.log_path.read_text(errors="replace")
            # uvicorn re-raises the signal once shut down (returncode -15): the log tells a drain from a kill.
            assert "Application shutdown complete" in log, log[-2000:]
            assert "released" in log, log[-2000:]
            # Every accepted call gets its pop: those the stopped process finished, and the rest from the other one.
            for conversation in conversations:
                assert installed.wait_for(conversation, FINAL, timeout=30, base_url=other_url)["state"] == "no_match"
    repeats = search_repeats([r for r in freshdesk_sim.requests() if "search/contacts" in r.get("path", "")])
    assert len(repeats) == len(conversations), "every caller was looked up"
    assert sum(repeats.values()) <= 2, "a hand-over repeats at most a call the stopped process left"
