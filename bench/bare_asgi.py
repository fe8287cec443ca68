"""The anchor of the benchmarks: the least an ASGI app can do on the same server stack as screenpop.

Served by uvicorn with the same flags as the server under test (`bench.common.UVICORN_FLAGS`):

    .venv/bin/python -m uvicorn bench.bare_asgi:application --port 8199 --loop uvloop --http httptools ...

- `POST <any path>`: reads the body, answers 202 `{"status":"accepted","pop_id":N}` (the webhook's answer, with no
  authentication, validation or database). When panels are connected, the body's `conversation_id` is read and
  `{"type":"pop.state","state":"matched",...}` is pushed to that conversation's sockets: the time-to-pop anchor.
- `GET /healthz`, `GET /readyz`: 200 `{"status":"ok"}` (the start-up anchor).
- WebSocket `/ws/pops/<conversation_id>/`: accepts, sends `{"state":"pending"}`, then pushes as above
  (the memory and time-to-pop anchor).

No imports beyond the standard library, so its start-up and memory are the interpreter's plus uvicorn's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_OK = b'{"status":"ok"}'
_counter = 0
# conversation id -> the send callables of its open sockets
_sockets: dict[str, list[Send]] = {}


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    global _counter
    if scope["method"] != "POST":
        await _answer(send, 200, _OK)
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    _counter += 1
    await _answer(send, 202, b'{"status":"accepted","pop_id":%d}' % _counter)
    if _sockets:
        conversation_id = json.loads(b"".join(chunks)).get("conversation_id", "")
        state = json.dumps({"type": "pop.state", "conversation_id": conversation_id, "state": "matched"})
        for socket_send in _sockets.get(conversation_id, []):
            await socket_send({"type": "websocket.send", "text": state})


async def _websocket(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    conversation_id = scope["path"].strip("/").split("/")[-1]
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps({"type": "pop.state", "state": "pending"})})
    _sockets.setdefault(conversation_id, []).append(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        _sockets[conversation_id].remove(send)
        if not _sockets[conversation_id]:
            del _sockets[conversation_id]


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
