"""Genesys Cloud regions: the only hosts this app sends a Genesys token to.

The list is `PureCloudRegionHosts` of the Python SDK (17 regions). An environment is the API host without `api.`;
logins go to `login.<env>` and client apps are served from `apps.<env>`. Pure data: settings import it too.
"""

from __future__ import annotations

GENESYS_ENVIRONMENTS: dict[str, str] = {
    "mypurecloud.com": "us_east_1",
    "mypurecloud.ie": "eu_west_1",
    "mypurecloud.com.au": "ap_southeast_2",
    "mypurecloud.jp": "ap_northeast_1",
    "mypurecloud.de": "eu_central_1",
    "usw2.pure.cloud": "us_west_2",
    "cac1.pure.cloud": "ca_central_1",
    "apne2.pure.cloud": "ap_northeast_2",
    "euw2.pure.cloud": "eu_west_2",
    "aps1.pure.cloud": "ap_south_1",
    "use2.us-gov-pure.cloud": "us_east_2",
    "sae1.pure.cloud": "sa_east_1",
    "mec1.pure.cloud": "me_central_1",
    "apne3.pure.cloud": "ap_northeast_3",
    "euc2.pure.cloud": "eu_central_2",
    "mxc1.pure.cloud": "mx_central_1",
    "apse1.pure.cloud": "ap_southeast_1",
}

REGION_CHOICES: list[tuple[str, str]] = [(env, f"{env} ({name})") for env, name in GENESYS_ENVIRONMENTS.items()]

APPS_ORIGINS: list[str] = [f"https://apps.{env}" for env in GENESYS_ENVIRONMENTS]


def api_base_url(environment: str) -> str:
    return f"https://api.{environment}"


def login_base_url(environment: str) -> str:
    return f"https://login.{environment}"
