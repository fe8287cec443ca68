"""The ASGI entry point: one ProtocolTypeRouter for HTTP and WebSockets, served by uvicorn, behind screenpop's
outer layer (lifespan for the background lookups, and the webhook's fast path)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesys_app.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from screenpop.asgi import ScreenpopASGI  # noqa: E402  (needs the apps loaded)
from screenpop.routing import websocket_urlpatterns  # noqa: E402

application = ScreenpopASGI(
    ProtocolTypeRouter(
        {
            "http": django_http,
            "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
        }
    )
)
