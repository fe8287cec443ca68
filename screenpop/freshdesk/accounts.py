"""One pooled `FreshdeskClient` per Freshdesk account in this process, and the count of the calls a piece of work
makes through it (a lookup, a sync)."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from screenpop.freshdesk.budget import RateBudget
from screenpop.freshdesk.client import FreshdeskClient, freshdesk_base_url
from screenpop.models import FreshdeskConnection

# How long a lookup may wait for the account's rate budget before FreshdeskRateLimited: a pop is worth little
# after the call is answered, and a blocked worker would delay every other tenant's pops.
LOOKUP_BUDGET_WAIT_SECONDS = 1.5

# Connect and first-byte deadlines (seconds) of work that is not a screen pop: syncs, ticket creation (a POST that
# timed out may still have created the ticket, so it waits longer before giving up).
UNHURRIED_TIMEOUTS = (3.05, 10.0)


def lookup_timeouts() -> tuple[float, float]:
    """The connect and first-byte deadlines of a screen pop's calls: a hung Freshdesk shows "unavailable" within
    about two seconds instead of the agent waiting out a 10-s read timeout."""
    return (settings.SCREENPOP_FRESHDESK_CONNECT_SECONDS, settings.SCREENPOP_FRESHDESK_READ_SECONDS)


_clients: dict[tuple[str, str, str, float, tuple[float, float]], FreshdeskClient] = {}
_clients_lock = threading.Lock()


def freshdesk_client_for(
    connection: FreshdeskConnection,
    *,
    budget_wait: float = LOOKUP_BUDGET_WAIT_SECONDS,
    timeouts: tuple[float, float] = UNHURRIED_TIMEOUTS,
) -> FreshdeskClient:
    """The process's pooled client of `connection`'s account, with the account's `RateBudget` and `timeouts`
    (connect, first byte; `lookup_timeouts()` for a screen pop's calls).

    Cached per (base URL, API key fingerprint, plan, budget_wait, timeouts): a changed key or plan gets a new client,
    and every tenant on the same account shares one connection pool. The budget's counters live in the Django cache,
    so clients in other processes draw from the same per-minute budget. A spent budget holds a call at most
    `budget_wait` seconds, then raises `FreshdeskRateLimited`. Raises `ValidationFailed` for a domain outside the
    allow-list.
    """
    base_url = freshdesk_base_url(connection.domain)
    fingerprint = hashlib.sha256(connection.api_key.encode()).hexdigest()[:16]
    key = (base_url, fingerprint, connection.plan, budget_wait, timeouts)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            budget = RateBudget(base_url, connection.plan)
            connect_timeout, read_timeout = timeouts
            client = FreshdeskClient(
                base_url,
                connection.api_key,
                budget=budget,
                budget_wait=budget_wait,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
            _install_call_counter(client)
            _clients[key] = client
        return client


# The counters of the lookups (or syncs) running in this thread/context. A pooled client is shared by threads, so
# the count cannot live on the client; a response hook adds to whatever counters the calling context holds.
_active_counters: contextvars.ContextVar[tuple[list[int], ...]] = contextvars.ContextVar(
    "freshdesk_call_counters", default=()
)


def _count_response(response: Any, *args: Any, **kwargs: Any) -> Any:
    for counter in _active_counters.get():
        counter[0] += 1
    return response


def _install_call_counter(client: FreshdeskClient) -> None:
    hooks = client.session.hooks.setdefault("response", [])
    if _count_response not in hooks:
        hooks.append(_count_response)


@contextlib.contextmanager
def counting_freshdesk_calls(client: FreshdeskClient) -> Iterator[list[int]]:
    """Count the responses `client` receives in this context: `with counting_freshdesk_calls(c) as calls:` then
    `calls[0]`. A request that got no response at all (connection refused, timeout) is not counted; one refused
    by our own rate budget was never sent."""
    _install_call_counter(client)
    counter = [0]
    token = _active_counters.set((*_active_counters.get(), counter))
    try:
        yield counter
    finally:
        _active_counters.reset(token)
