"""The Genesys Cloud Platform API for the install wizard, the scripted install and the queue-filter sync.

This package is the only place that imports the Genesys SDK (`PureCloudPlatformClientV2`), and only inside functions
(`transport.sdk()`): importing it costs about 2 s and 200 MB (DESIGN.md §7), so nothing the webhook or the panel loads
may import it. `transport` owns the HTTP pool (timeouts, bounded 429 retries) and the error mapping; `api` the calls.
"""

from screenpop.install.genesys.api import (
    GenesysApi,
    Login,
    api_with_token,
    differs,
    login_with_client_credentials,
    login_with_pkce_code,
    wait_until,
)
from screenpop.install.genesys.transport import authorize_url, error_from, pkce_challenge, pkce_verifier, sdk

__all__ = [
    "GenesysApi",
    "Login",
    "api_with_token",
    "authorize_url",
    "differs",
    "error_from",
    "login_with_client_credentials",
    "login_with_pkce_code",
    "pkce_challenge",
    "pkce_verifier",
    "sdk",
    "wait_until",
]
