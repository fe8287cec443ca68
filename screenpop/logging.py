"""Log records carry the tenant and the conversation they concern.

Code sets them with `log_context(tenant=..., conversation=...)`; a context variable carries them across awaits and
into the threads `asyncio.to_thread`/`sync_to_async` start, so every line logged while handling a pop names it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_context: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("screenpop_log_context", default=("-", "-"))


@contextlib.contextmanager
def log_context(*, tenant: object = "-", conversation: object = "-") -> Iterator[None]:
    token = _context.set((str(tenant), str(conversation)))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        tenant, conversation = _context.get()
        record.tenant = getattr(record, "tenant", tenant)
        record.conversation = getattr(record, "conversation", conversation)
        return True
