"""The wizard's two deployment settings (see `genesys_app/settings.py` and the README's configuration table)."""

from __future__ import annotations

from django.conf import settings


def install_client_id() -> str:
    return settings.SCREENPOP_INSTALL_CLIENT_ID


def premium_type_id() -> str:
    return settings.SCREENPOP_PREMIUM_INTEGRATION_TYPE
