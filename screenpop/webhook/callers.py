"""What the webhook knows about its callers, remembered for a moment.

Every batch of webhook requests needs each bearer token's client and tenant, and each tenant's queue filters. Under a
storm that is two queries per batch on the path to the ack (on PostgreSQL, two round trips more than the batch's
one). They change rarely, so each process keeps what it read for `SCREENPOP_AUTH_CACHE_SECONDS` (1 s by default;
0 turns it off):

- a token's expiry is kept, not its validity, so a token is refused the moment it expires;
- in the process where a change is made (the admin, the wizard, `/oauth/token/`), saving or deleting an access
  token, webhook client, OAuth application, tenant or queue filter forgets everything at once (signals, and
  `forget()` after bulk writes, which send none); other processes see the change within the TTL;
- tokens that are not found are never remembered: a token issued by another process a moment ago works at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import AccessToken, Application

from screenpop.models import FreshdeskConnection, QueueFilter, Tenant, WebhookClient

K = TypeVar("K")
V = TypeVar("V")


class _Remembered:
    """A dictionary whose entries expire; shared by the webhook's database threads."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[K], load: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """The values of `keys`: remembered ones as they are, the others from `load` (which may omit keys that have
        no value: those are not remembered)."""
        found, missing = self.known(keys)
        if missing:
            found.update(self.remember(load(missing)))
        return found

    def known(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """(the remembered values of `keys`, the keys to load)."""
        now = time.monotonic()
        found: dict[K, V] = {}
        missing: list[K] = []
        entries = self._entries
        for key in keys:
            entry = entries.get(key)
            if entry is not None and entry[0] > now:
                found[key] = entry[1]
            else:
                missing.append(key)
        return found, missing

    def remember(self, loaded: dict[K, V]) -> dict[K, V]:
        ttl = settings.SCREENPOP_AUTH_CACHE_SECONDS
        if ttl > 0 and loaded:
            until = time.monotonic() + ttl
            with self._lock:
                if len(self._entries) > 10_000:  # many tenants or a flood of tokens: start over
                    self._entries = {}
                self._entries.update((key, (until, value)) for key, value in loaded.items())
        return loaded

    def forget(self) -> None:
        with self._lock:
            self._entries = {}


tokens = _Remembered()  # token checksum -> (expires, tenant id, client active, tenant active)
queue_filters = _Remembered()  # tenant id -> frozenset of queue ids (empty: all queues)
# tenant id -> the Tenant with its Freshdesk connection loaded, read-only, for the lookups (`pops.services`): loading
# them is a three-table query, a large share of a lookup whose result is cached.
tenants = _Remembered()


def forget(**_: Any) -> None:
    """Forget every caller this process remembers (a change to who may call, to queue filters, to a tenant or its
    Freshdesk connection)."""
    tokens.forget()
    queue_filters.forget()
    tenants.forget()


def connect_signals() -> None:
    for model in (AccessToken, Application, WebhookClient, Tenant, QueueFilter, FreshdeskConnection):
        post_save.connect(forget, sender=model, dispatch_uid=f"screenpop-callers-save-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"screenpop-callers-delete-{model.__name__}")
