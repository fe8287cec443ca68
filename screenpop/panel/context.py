"""What Genesys interpolates into the Interaction Widget URL, validated before anything is sent anywhere.

The URL the install wizard provisions on the widget (one per tenant; `clientId` is the tenant's panel OAuth client):

    https://<host>/widget/?gcConversationId={{gcConversationId}}&gcHostOrigin={{gcHostOrigin}}
        &gcTargetEnv={{gcTargetEnv}}&gcLangTag={{gcLangTag}}&clientId=<panel client id>&grant=pkce

Genesys substitutes `gcTargetEnv` with an environment *name* of its service discovery (`prod`, `prod-euw1`, ...) and
`gcHostOrigin` with the desktop's origin (`https://apps.mypurecloud.ie`); both are attacker-controlled. Only the 17
environments (and, with `SCREENPOP_ALLOW_SIMULATORS`, a loopback simulator `127.0.0.1:PORT`) pass, and the origin
must belong to the environment. Legacy and hand-written URLs may use `conversationId`, `langTag`, a domain as
`gcTargetEnv`, `theme=dark|light` or `gcUseDarkTheme=true|false`. Without `grant=pkce` the panel signs in with the
implicit grant, which only widget URLs of installs made before Genesys retired it lack (a re-run of the install
replaces their client and URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import get_supported_language_variant

from screenpop.errors import ScreenpopError
from screenpop.regions import GENESYS_ENVIRONMENTS
from screenpop.validation import genesys_environment, is_simulator_environment, simulators_allowed

# Environment names of Genesys's service discovery (npm `genesys-cloud-service-discovery-web`, which the Client App
# SDK uses to read `gcTargetEnv`) -> the environment, i.e. the API host without `api.`.
ENVIRONMENT_NAMES: dict[str, str] = {
    "prod": "mypurecloud.com",
    "prod-apne1": "mypurecloud.jp",
    "prod-apne2": "apne2.pure.cloud",
    "prod-apne3": "apne3.pure.cloud",
    "prod-aps1": "aps1.pure.cloud",
    "prod-apse1": "apse1.pure.cloud",
    "prod-apse2": "mypurecloud.com.au",
    "prod-cac1": "cac1.pure.cloud",
    "prod-euc1": "mypurecloud.de",
    "prod-euc2": "euc2.pure.cloud",
    "prod-euw1": "mypurecloud.ie",
    "prod-euw2": "euw2.pure.cloud",
    "prod-mec1": "mec1.pure.cloud",
    "prod-mxc1": "mxc1.pure.cloud",
    "prod-sae1": "sae1.pure.cloud",
    "prod-usw2": "usw2.pure.cloud",
    "fedramp-use2-core": "use2.us-gov-pure.cloud",
}
assert set(ENVIRONMENT_NAMES.values()) == set(GENESYS_ENVIRONMENTS), "every region needs its discovery name"

# The routing's conversation-id pattern (screenpop.routing), so a page never names a socket it cannot open.
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")
LOOPBACK_ORIGIN = re.compile(r"^http://(127\.0\.0\.1|localhost):\d{2,5}$")

Theme = Literal["light", "dark", "auto"]
Grant = Literal["implicit", "pkce"]


class UnsupportedEnvironment(ScreenpopError):
    status_code = 400
    code = "unsupported_environment"


class WidgetUrlInvalid(ScreenpopError):
    status_code = 400
    code = "widget_url_invalid"


@dataclass(frozen=True)
class WidgetContext:
    """A validated widget request. `environment` is the Genesys environment (`mypurecloud.ie`, or a simulator's
    `127.0.0.1:PORT`); `host_origin` the desktop origin the Client App SDK posts to (None when not given)."""

    conversation_id: str
    environment: str
    host_origin: str | None
    target_env_name: str | None
    client_id: str
    language: str
    theme: Theme
    grant: Grant

    @property
    def simulated(self) -> bool:
        return is_simulator_environment(self.environment)


def _first(query: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = (query.get(name) or "").strip()
        if value:
            return value
    return ""


def panel_environment(*, target_env: str | None, host_origin: str | None = None) -> str:
    """The Genesys environment named by `target_env` (a discovery name, a domain, or an allowed simulator host),
    checked against `host_origin` when one is given. Raises `UnsupportedEnvironment`; never sends anything."""
    target = (target_env or "").strip()
    origin = (host_origin or "").strip()
    environment = ENVIRONMENT_NAMES.get(target.lower()) or genesys_environment(target)
    if environment is None and not target and origin:
        environment = genesys_environment(origin)
    if environment is None or (is_simulator_environment(environment) and not simulators_allowed()):
        shown = target or origin or "(none)"
        raise UnsupportedEnvironment(
            f"{shown[:100]!r} is not a Genesys Cloud environment this app serves. The widget URL must carry "
            "gcTargetEnv={{gcTargetEnv}} and gcHostOrigin={{gcHostOrigin}} as Genesys interpolates them.",
            field="gcTargetEnv",
        )
    if origin:
        if is_simulator_environment(environment):
            # The simulated desktop (the demo page) is served from the loopback, on any port.
            belongs = bool(LOOPBACK_ORIGIN.match(origin))
        else:
            belongs = genesys_environment(origin) == environment and origin.lower().startswith("https://apps.")
        if not belongs:
            raise UnsupportedEnvironment(
                f"gcHostOrigin {origin[:100]!r} is not the Genesys Cloud desktop of {environment}.",
                field="gcHostOrigin",
            )
    return environment


def panel_language(tag: str | None) -> str:
    """The Django language for a Genesys language tag (`en-us`, `es`, `pt-BR`, `ja`); English when unsupported."""
    value = (tag or "").strip()
    if not LANGUAGE_TAG.match(value):
        return "en"
    try:
        return get_supported_language_variant(value.replace("_", "-").lower())
    except LookupError:
        return "en"


def panel_theme(query: Mapping[str, str]) -> Theme:
    theme = _first(query, "theme").lower()
    if theme in ("light", "dark"):
        return theme  # type: ignore[return-value]
    dark = _first(query, "gcUseDarkTheme").lower()
    if dark in ("true", "false"):
        return "dark" if dark == "true" else "light"
    return "auto"


def widget_context_parse(query: Mapping[str, str]) -> WidgetContext:
    """Validate the widget URL's query. The environment is checked first: an unknown one raises
    `UnsupportedEnvironment` whatever else is wrong. Raises `WidgetUrlInvalid` for a missing conversation or client."""
    target_env = _first(query, "gcTargetEnv", "pcEnvironment")
    host_origin = _first(query, "gcHostOrigin") or None
    environment = panel_environment(target_env=target_env, host_origin=host_origin)
    conversation_id = _first(query, "gcConversationId", "conversationId", "pcConversationId")
    if not CONVERSATION_ID.match(conversation_id):
        raise WidgetUrlInvalid(
            "The widget URL has no valid conversation id: it must carry gcConversationId={{gcConversationId}}.",
            field="gcConversationId",
        )
    client_id = _first(query, "clientId")
    if not CLIENT_ID.match(client_id):
        raise WidgetUrlInvalid(
            "The widget URL has no valid clientId: the install wizard adds the panel's OAuth client id to it.",
            field="clientId",
        )
    grant = _first(query, "grant").lower()
    return WidgetContext(
        conversation_id=conversation_id,
        environment=environment,
        host_origin=host_origin,
        target_env_name=target_env if target_env.lower() in ENVIRONMENT_NAMES else None,
        client_id=client_id,
        language=panel_language(_first(query, "gcLangTag", "langTag", "pcLangTag")),
        theme=panel_theme(query),
        grant="pkce" if grant in ("pkce", "code") else "implicit",
    )
