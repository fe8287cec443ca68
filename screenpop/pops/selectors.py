"""Reads: the state a conversation's panel shows."""

from __future__ import annotations

from typing import Any

from screenpop.models import Pop
from screenpop.pops.links import pops_with_links
from screenpop.pops.result import panel_state


def pop_state_for(*, tenant_id: int, conversation_id: str) -> dict[str, Any]:
    """The panel state, with the call's `link` and the number's `suggested_link` (one query)."""
    pop = pops_with_links(Pop.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id)).first()
    state = panel_state(pop, conversation_id=conversation_id)
    state.setdefault("link", None)
    state.setdefault("suggested_link", None)
    return state
