"""Validation of what admins and browsers hand us: Genesys environments, phone regions, Freshdesk domains.

Genesys environments and Freshdesk hosts are allow-lists (DESIGN.md §6): a value outside them is refused before any
request carries a token. Simulator hosts on the loopback pass only when `SCREENPOP_ALLOW_SIMULATORS` is on.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

from screenpop.errors import ValidationFailed
from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.regions import GENESYS_ENVIRONMENTS

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
_LOOPBACK_ENV = re.compile(r"^(127\.0\.0\.1|localhost):\d{2,5}$")


def simulators_allowed() -> bool:
    return bool(getattr(settings, "SCREENPOP_ALLOW_SIMULATORS", False))


def is_simulator_environment(environment: str) -> bool:
    return bool(_LOOPBACK_ENV.match(environment))


def genesys_environment(value: str | None) -> str | None:
    """The Genesys environment named by `value` (e.g. a `gcTargetEnv`), or None when it is not allowed.

    Accepts `mypurecloud.com`, `https://apps.mypurecloud.com` and the like for the 17 regions; a loopback
    `host:port` only when simulators are allowed.
    """
    if not value:
        return None
    candidate = value.strip().lower()
    if "://" in candidate:
        parts = urlsplit(candidate)
        if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
            return None
        if parts.scheme == "https" and parts.port is None:
            candidate = parts.hostname or ""
            for prefix in ("apps.", "api.", "login."):
                if candidate.startswith(prefix):
                    candidate = candidate[len(prefix) :]
                    break
        elif (
            parts.scheme == "http" and simulators_allowed() and parts.netloc and is_simulator_environment(parts.netloc)
        ):
            return parts.netloc
        else:
            return None
    if candidate in GENESYS_ENVIRONMENTS:
        return candidate
    if simulators_allowed() and is_simulator_environment(candidate):
        return candidate
    return None


def genesys_base_url(environment: str, *, service: str = "api") -> str:
    """`https://<service>.<env>`, or the simulator's `http://host:port` (one port serves API and login)."""
    if is_simulator_environment(environment):
        if not simulators_allowed():
            raise ValueError(f"Simulator environment {environment} is not allowed in this deployment.")
        return f"http://{environment}"
    if environment not in GENESYS_ENVIRONMENTS:
        raise ValueError(f"{environment!r} is not a Genesys Cloud environment.")
    return f"https://{service}.{environment}"


def validate_genesys_region(value: str) -> None:
    if genesys_environment(value) != value:
        raise ValidationError(
            "%(value)s is not a Genesys Cloud environment. Use the host without 'api.', e.g. mypurecloud.com, "
            "mypurecloud.ie or usw2.pure.cloud.",
            params={"value": value},
            code="invalid_region",
        )


def validate_phone_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            "%(value)s is not a country code phone numbers know. Use a two-letter ISO code such as US, GB or DE.",
            params={"value": value},
            code="invalid_phone_region",
        )


def validate_freshdesk_domain(value: str) -> None:
    try:
        freshdesk_base_url(value)
    except ValidationFailed as error:
        raise ValidationError(error.detail, code="invalid_domain") from error


def validate_status_map(value: object) -> None:
    """A wrap-up code -> Freshdesk status mapping: an object of whole-number statuses from 2 (Open) up."""
    if not isinstance(value, dict):
        raise ValidationError('Enter an object such as {"Resolved": 4}.')
    for code, status in value.items():
        if not isinstance(status, int) or isinstance(status, bool) or status < 2:
            raise ValidationError(
                f"The status of {code!r} must be a Freshdesk status number: 2 Open, 3 Pending, 4 Resolved, 5 Closed, "
                "6 and up custom."
            )


PARTICIPANT_ATTRIBUTE_KEYS = (
    "ticket_id",
    "ticket_status",
    "ticket_subject",
    "ticket_url",
    "contact_name",
    "match_count",
)


def validate_participant_attributes(value: object) -> None:
    """Participant attribute names by what they hold (`PARTICIPANT_ATTRIBUTE_KEYS`), and `enabled`."""
    if not isinstance(value, dict):
        raise ValidationError('Enter an object such as {"ticket_id": "fd_ticket_id"}.')
    for key, name in value.items():
        if key == "enabled":
            if not isinstance(name, bool):
                raise ValidationError('"enabled" is true or false.')
        elif key not in PARTICIPANT_ATTRIBUTE_KEYS:
            raise ValidationError(f"{key!r} is not one of {', '.join(PARTICIPANT_ATTRIBUTE_KEYS)}.")
        elif not isinstance(name, str) or len(name) > 100:
            raise ValidationError(f"The attribute name of {key!r} is text of at most 100 characters.")
