"""The one module that owns channel-group names and what is sent to them.

A pop's state goes to the group of its (tenant, conversation); consumers of that conversation's panels are members.
Publishing happens after the database commit (`transactions.on_commit_unlocked`), never from inside a transaction that
may still roll back, nor while holding SQLite's writer lock.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from screenpop.cpu import waiting
from screenpop.models import Pop
from screenpop.pops.result import POP_STATE, panel_state
from screenpop.pops.selectors import pop_state_for
from screenpop.storage.transactions import on_commit_unlocked

logger = logging.getLogger("screenpop.publishing")


def pop_group(tenant_id: int, conversation_id: str) -> str:
    # Group names allow only ASCII letters, digits, '-', '_' and '.', under 100 characters: hash the conversation id.
    return f"pop.{tenant_id}.{hashlib.sha256(conversation_id.encode()).hexdigest()[:40]}"


def group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        with waiting():  # for the event loop (or Redis) to take the message
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A panel that misses a push re-reads the state (REST poll or reconnect); the pop itself is stored.
        logger.exception("Publishing to %s failed", group)


def pop_publish_on_commit(pop: Pop) -> None:
    """Push the pop's current state to its panels once the surrounding transaction commits."""
    state = panel_state(pop, conversation_id=pop.conversation_id)
    group = pop_group(pop.tenant_id, pop.conversation_id)
    on_commit_unlocked(lambda: group_send(group, {"type": POP_STATE, "state": state}))


def link_publish_on_commit(*, tenant_id: int, conversation_id: str) -> None:
    """Push the conversation's state with its new link to its panels once the surrounding transaction commits."""

    def send() -> None:
        state = pop_state_for(tenant_id=tenant_id, conversation_id=conversation_id)
        group_send(pop_group(tenant_id, conversation_id), {"type": POP_STATE, "state": state})

    on_commit_unlocked(send)
