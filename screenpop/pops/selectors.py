"""Reads: the state a conversation's panel shows."""

from __future__ import annotations

from typing import Any

from screenpop.models import Pop
from screenpop.pops.result import panel_state


def pop_state_for(*, tenant_id: int, conversation_id: str) -> dict[str, Any]:
    pop = Pop.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id).first()
    return panel_state(pop, conversation_id=conversation_id)
