"""The outermost ASGI layer of a screenpop server process.

- `lifespan`: starts this process's background work (the lookup runner) and stops it on shutdown;
- `POST /api/v1/genesys/events`: the webhook's fast path, straight to its ASGI callable (no Django middleware);
- everything else: the Channels `ProtocolTypeRouter` (Django for HTTP, the consumers for WebSockets).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from screenpop.lookup.runner import runner_start, runner_stop
from screenpop.webhook import endpoint

logger = logging.getLogger("screenpop.asgi")

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def pipeline_start() -> None:
    """Start the lookups of this process and connect them to the webhook (idempotent; needs a running loop)."""
    owner = endpoint.process_identity()
    if settings.SCREENPOP_RUN_WORKERS:
        committer = endpoint.committer()
        lookup_runner = runner_start(owner, storm=committer.in_storm)
        committer.on_accepted = lookup_runner.schedule


def load_before_freeze() -> None:
    """Load what the first requests would load anyway, so that start-up's `gc.freeze()` takes it out of the
    collector's sight too: every view module of the URL conf (DRF, drf-spectacular, django-oauth-toolkit; these
    bring `unittest` through DRF's test helpers), the channel layer (channels-redis and `redis.asyncio` in
    production) and the lookup service. Left to the first requests, they sat in the oldest generation, walked by every
    full collection: in bench/time_to_pop (production, 50 pops/s) the full collection in the middle of a phase walked
    57,000 objects in 17-31 ms and the pops' p99 was 81-106 ms; with this, 24,000 objects, 6-7 ms and a p99 of 17 ms
    (two alternating pairs of runs; memory with 1,000 sockets and start-up unchanged)."""
    from channels.layers import get_channel_layer
    from django.urls import get_resolver

    import screenpop.lookup.service  # noqa: F401 (imported lazily by pops and ticket updates)

    get_resolver().url_patterns  # noqa: B018 (loading the URL conf imports every view)
    get_channel_layer()


class ScreenpopASGI:
    def __init__(self, router: ASGIApp) -> None:
        self.router = router
        self._started_on: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"] == endpoint.PATH:
            loop = asyncio.get_running_loop()
            if self._started_on is not loop:  # once per loop, not per request (it cost ~2% of the ack)
                pipeline_start()
                self._started_on = loop
            await endpoint.webhook_app(scope, receive, send)
        else:
            await self.router(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    pipeline_start()
                except Exception as error:
                    logger.exception("Start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                # What start-up loaded (Django, the apps, the SDK-free clients) lives as long as the process: out of
                # the collector's sight, so its full collections stop walking it (they were the ack's p99 tail under
                # a storm: ~50 ms pauses; 19 ms p99 with this).
                load_before_freeze()
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await runner_stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
