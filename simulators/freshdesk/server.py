"""HTTP plumbing: a threading HTTP/1.1 server with keep-alive that hands requests to the API or the control API."""

from __future__ import annotations

import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from simulators.freshdesk.control import handle_control
from simulators.freshdesk.messages import JSON_CONTENT_TYPE, Request, Response
from simulators.freshdesk.pipeline import handle_api
from simulators.freshdesk.simulator import Simulator

__all__ = ["SimulatorServer"]

logger = logging.getLogger("simulators.freshdesk")


class SimulatorServer(ThreadingHTTPServer):
    """Serves one `Simulator`; each connection gets a daemon thread, so stopping the server never waits on them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], simulator: Simulator, *, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator
        self.verbose = verbose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "FreshdeskSimulator/1.0"
    timeout = 120  # seconds an idle keep-alive connection may stay open
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, delayed ACKs cost ~40 ms
    server: SimulatorServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _handle(self) -> None:
        request = self._read_request()
        simulator = self.server.simulator
        try:
            if request.path == "/_sim" or request.path.startswith("/_sim/"):
                response: Response | None = handle_control(simulator, request)
            elif request.path.startswith("/api/"):
                response = handle_api(simulator, request)
            else:
                response = Response(404)
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            response = Response(500, {"code": "internal_error", "message": "We're sorry, but something went wrong."})
        if response is None:  # the simulator was reset while this request waited, or it hung: drop it
            self.close_connection = True
            return
        self._write(response, head_only=request.method == "HEAD")

    def _read_request(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Request(self.command, parts.path, parts.query, headers, body)

    def _write(self, response: Response, *, head_only: bool) -> None:
        payload = response.encoded()
        headers = dict(response.headers)
        if payload and response.raw_body is None:
            headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        headers["Content-Length"] = str(len(payload))
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head_only:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout beat our latency)
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")
