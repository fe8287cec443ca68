"""The panel's WebSocket: `/ws/pops/<conversation_id>/`, subprotocols `screenpop.v1` and
`screenpop.token.<panel token>`.

The token travels in the `Sec-WebSocket-Protocol` header, never in the URL: servers and proxies log request lines
(uvicorn logs every handshake's path and query), not that header. The server accepts with `screenpop.v1` only, so
the token is not even echoed back.

A transport adapter: authenticate on connect, join the conversation's group, send the current state, then forward
every `pop.state` group event. `{"type": "refresh"}` re-sends the state; anything else is answered with an error
message. Joining before reading the state means no push is lost between the two, whichever comes first: the socket
or the result.

When Redis (the channel layer) or the database cannot be reached, the socket is closed with 1013 "Try Again Later",
never dropped without a close frame nor refused with a 500: the panel reconnects with backoff (polling meanwhile) and
gets the state on connect. Joining the group is tried twice, since the first command after a Redis restart may
meet a pooled connection that died with the old server.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from screenpop import metrics
from screenpop.errors import ScreenpopError
from screenpop.panel_tokens import PanelGrant, panel_token_verify
from screenpop.pops.selectors import pop_state_for
from screenpop.publishing import pop_group
from screenpop.storage.connections import is_unreachable

logger = logging.getLogger("screenpop.consumers")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013  # RFC 6455's "Try Again Later": a service this socket needs is down for a moment
MAX_MESSAGE_BYTES = 4096
PROTOCOL = "screenpop.v1"
TOKEN_PROTOCOL_PREFIX = "screenpop.token."


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    """The panel token offered as `screenpop.token.<token>` next to `screenpop.v1`; None without both."""
    if PROTOCOL not in subprotocols:
        return None
    offered = [name[len(TOKEN_PROTOCOL_PREFIX) :] for name in subprotocols if name.startswith(TOKEN_PROTOCOL_PREFIX)]
    return offered[0] if len(offered) == 1 else None


def _service_down(error: BaseException) -> bool:
    """Is `error` the channel layer (Redis) or the database being unreachable, rather than a bug?"""
    return isinstance(error, RedisError | OSError | TimeoutError) or is_unreachable(error)


class PopConsumer(AsyncJsonWebsocketConsumer):
    grant: PanelGrant | None = None
    group: str | None = None
    counted = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as error:
            if not _service_down(error):
                raise
            logger.warning("Closing a panel socket (1013): %s: %s", type(error).__name__, error)
            self._uncount()
            try:
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
            except Exception as closing:  # the client went away meanwhile: nothing left to tell it
                logger.debug("The panel socket was gone before its close frame: %s", closing)

    async def connect(self) -> None:
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        token = token_from_subprotocols(list(self.scope.get("subprotocols") or []))
        try:
            self.grant = panel_token_verify(token, conversation_id=conversation_id)
        except ScreenpopError as error:
            await self.close(code=CLOSE_FORBIDDEN if error.status_code == 403 else CLOSE_UNAUTHENTICATED)
            return
        joined = await self._group_join(pop_group(self.grant.tenant_id, conversation_id))
        await self.accept(subprotocol=PROTOCOL)
        self.counted = True
        metrics.open_sockets.inc()
        await self.send_state()
        if not joined:  # the state is shown; the panel reconnects for the pushes
            await self.close(code=CLOSE_TRY_AGAIN)

    async def _group_join(self, group: str) -> bool:
        for attempt in (1, 2):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception as error:
                if not _service_down(error):
                    raise
                logger.warning("Joining %s failed (attempt %d): %s: %s", group, attempt, type(error).__name__, error)
                continue
            self.group = group
            return True
        return False

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            metrics.open_sockets.dec()

    async def disconnect(self, code: int) -> None:
        self._uncount()
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as error:
                if not _service_down(error):
                    raise
                # The membership expires in Redis by itself (the layer's group expiry).
                logger.warning("Leaving %s failed: %s: %s", self.group, type(error).__name__, error)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # Channels' JSON consumer raises on an empty text frame (a crash, the socket closed 1011): refused here too.
        if not text_data or len(text_data) > MAX_MESSAGE_BYTES:
            await self.send_json({"type": "error", "detail": "Send small JSON text messages only."})
            return
        await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_state()
        else:
            await self.send_json({"type": "error", "detail": 'Unknown message; the panel sends {"type": "refresh"}.'})

    async def send_state(self) -> None:
        assert self.grant is not None
        state = await database_sync_to_async(pop_state_for)(
            tenant_id=self.grant.tenant_id, conversation_id=self.grant.conversation_id
        )
        await self.send_json(state)

    async def pop_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth (4 KB of "[" is)
            return None
