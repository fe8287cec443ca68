"""The one module that owns channel-group names and the panel-state shape (DESIGN.md §3 "Panel state").

A pop's state goes to the group of its (tenant, conversation); consumers of that conversation's panels are members.
Publishing happens after the database commit (`db.on_commit_unlocked`), never from inside a transaction that may
still roll back, nor while holding SQLite's writer lock.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from screenpop.db import on_commit_unlocked
from screenpop.models import Pop

logger = logging.getLogger("screenpop.publishing")

POP_STATE = "pop.state"


def pop_group(tenant_id: int, conversation_id: str) -> str:
    # Group names allow only ASCII letters, digits, '-', '_' and '.', under 100 characters: hash the conversation id.
    return f"pop.{tenant_id}.{hashlib.sha256(conversation_id.encode()).hexdigest()[:40]}"


def phone_shape(pop: Pop | None, fallback: str = "") -> dict[str, str]:
    if pop is None:
        return {"e164": "", "display": fallback}
    display = pop.result.get("phone_display") or pop.phone_e164 or pop.phone_raw
    return {"e164": pop.phone_e164, "display": display}


def pop_state(pop: Pop | None, *, conversation_id: str) -> dict[str, Any]:
    """The panel state of a pop, or of a conversation whose call event has not arrived yet (pending)."""
    if pop is None:
        return {
            "type": POP_STATE,
            "conversation_id": conversation_id,
            "state": Pop.State.PENDING,
            "phone": phone_shape(None),
            "contact": None,
            "contacts": [],
            "tickets": [],
            "updated_at": None,
            "detail": "Waiting for the call event from Genesys.",
        }
    result = pop.result or {}
    return {
        "type": POP_STATE,
        "conversation_id": pop.conversation_id,
        "state": pop.state,
        "phone": phone_shape(pop),
        "contact": result.get("contact"),
        "contacts": result.get("contacts", []),
        "tickets": result.get("tickets", []),
        "updated_at": pop.updated_at.isoformat().replace("+00:00", "Z") if pop.updated_at else None,
        "detail": pop.detail,
        "attempts": pop.attempts,
    }


def group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A panel that misses a push re-reads the state (REST poll or reconnect); the pop itself is stored.
        logger.exception("Publishing to %s failed", group)


def pop_publish_on_commit(pop: Pop) -> None:
    """Push the pop's current state to its panels once the surrounding transaction commits."""
    state = pop_state(pop, conversation_id=pop.conversation_id)
    group = pop_group(pop.tenant_id, pop.conversation_id)
    on_commit_unlocked(lambda: group_send(group, {"type": "pop.state", "state": state}))
