"""Reads: the pop a panel shows."""

from __future__ import annotations

from typing import Any

from screenpop.models import Pop
from screenpop.publishing import pop_state


def pop_state_for(*, tenant_id: int, conversation_id: str) -> dict[str, Any]:
    pop = Pop.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id).first()
    return pop_state(pop, conversation_id=conversation_id)
