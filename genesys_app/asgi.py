"""The ASGI entry point of a screenpop server process (`uvicorn genesys_app.asgi:application`).

- `lifespan`: starts this process's background work (`screenpop.scheduler`) and stops it on shutdown;
- `POST /api/v1/genesys/events`: the webhook's fast path, straight to its ASGI callable (no Django middleware);
- everything else: Channels' `ProtocolTypeRouter` (Django for HTTP, the consumers for WebSockets).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesys_app.settings")

from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_http = get_asgi_application()  # sets Django up: the imports below need the apps loaded

from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from screenpop.process import process_identity  # noqa: E402
from screenpop.routing import websocket_urlpatterns  # noqa: E402
from screenpop.scheduler import scheduler_start, scheduler_stop  # noqa: E402
from screenpop.webhook import committer, endpoint  # noqa: E402

logger = logging.getLogger("screenpop.asgi")

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def background_start() -> None:
    """Start this process's background work and connect the lookups to the webhook's commits (idempotent; needs a
    running loop)."""
    if settings.SCREENPOP_RUN_WORKERS:
        webhook = committer.committer()
        lookup_runner = scheduler_start(process_identity())
        webhook.on_accepted = lookup_runner.schedule


def load_before_freeze() -> None:
    """Load what the first requests would load anyway, so that start-up's `gc.freeze()` takes it out of the
    collector's sight too: every view module of the URL conf and the channel layer. Left to the first requests, they
    would sit in the oldest generation, walked by every full collection (pauses in the pops' tail latency)."""
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
            if self._started_on is not loop:  # once per loop, not per request: this is the ack's hot path
                background_start()
                self._started_on = loop
            await endpoint.webhook_app(scope, receive, send)
        else:
            await self.router(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    background_start()
                except Exception as error:
                    logger.exception("Start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                # What start-up loaded lives as long as the process: out of the collector's sight, so its full
                # collections stop walking it (they were pauses in the ack's tail under a storm).
                load_before_freeze()
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await scheduler_stop(drain_seconds=settings.SCREENPOP_SHUTDOWN_DRAIN_SECONDS)
                await send({"type": "lifespan.shutdown.complete"})
                return


application = ScreenpopASGI(
    ProtocolTypeRouter(
        {
            "http": django_http,
            "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
        }
    )
)
