"""The panel's WebSocket: `/ws/pops/<conversation_id>/?token=<panel token>`.

A transport adapter: authenticate on connect, join the conversation's group, send the current state, then forward
every `pop.state` group event. `{"type": "refresh"}` re-sends the state. Joining before reading the state means no
push is lost between the two, whichever comes first: the socket or the result.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from screenpop import metrics
from screenpop.errors import ScreenpopError
from screenpop.panel_tokens import PanelGrant, panel_token_verify
from screenpop.pops.selectors import pop_state_for
from screenpop.publishing import pop_group

logger = logging.getLogger("screenpop.consumers")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
MAX_MESSAGE_BYTES = 4096


class PopConsumer(AsyncJsonWebsocketConsumer):
    grant: PanelGrant | None = None
    group: str | None = None

    async def connect(self) -> None:
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        try:
            self.grant = panel_token_verify(token, conversation_id=conversation_id)
        except ScreenpopError as error:
            await self.close(code=CLOSE_FORBIDDEN if error.status_code == 403 else CLOSE_UNAUTHENTICATED)
            return
        self.group = pop_group(self.grant.tenant_id, conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.open_sockets.inc()
        await self.send_state()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            metrics.open_sockets.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
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
        except ValueError:
            return None
