"""The OAuth server Genesys's data action authenticates with (django-oauth-toolkit, client-credentials grant).

Genesys's "User Defined (OAuth)" credential POSTs the client id and secret to `/oauth/token/` (form body, Basic auth
or body fields); django-oauth-toolkit does the grant. This validator adds one rule of ours: a revoked webhook client
gets no token, whatever secret it shows.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class WebhookOAuth2Validator(OAuth2Validator):
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        webhook_client = getattr(request.client, "webhook_client", None)
        return webhook_client is None or webhook_client.active

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        # Public clients (no secret) are never webhook clients: refuse them outright.
        return False
