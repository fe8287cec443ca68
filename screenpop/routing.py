"""WebSocket routes."""

from django.urls import re_path

from screenpop.consumers import PopConsumer

websocket_urlpatterns = [
    re_path(r"^ws/pops/(?P<conversation_id>[A-Za-z0-9][A-Za-z0-9._:-]{0,63})/$", PopConsumer.as_asgi()),
]
