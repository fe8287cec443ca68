"""The simulator's whole world, in memory: the seed's organisations and users, everything created through the API,
the knobs set through `/_sim/config`, and the request log. One re-entrant lock guards it; outgoing HTTP calls
(data action execution) are made without holding it."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SECRET_KEYS = {
    "client_secret",
    "clientsecret",
    "secret",
    "password",
    "access_token",
    "refresh_token",
    "code_verifier",
    "apikey",
    "api_key",
}
LOG_CAPACITY = 5000
RESOURCE_FIELDS = (
    "orgs",
    "users",
    "divisions",
    "queues",
    "roles",
    "oauth_clients",
    "tokens",
    "auth_codes",
    "refresh_tokens",
    "integrations",
    "credentials",
    "actions",
    "auth_cache",
    "triggers",
    "flows",
    "flow_jobs",
    "conversations",
    "wrapup_codes",
    "round_robin",
    "trigger_invocations",
    "rate_windows",
)

DEFAULT_CONFIG: dict[str, Any] = {
    # Milliseconds slept before answering any /oauth or /api request.
    "latency_ms": 0,
    # Requests per minute per token subject (OAuth client, or client + user); reference §5: 300 by default.
    "rate_limit_per_minute": 300,
    # Forced responses: [{"path": "/api/v2/users/me", "method": "GET", "count": 2, "status": 429, "retry_after": 1}];
    # a path ending in `*` is a prefix. Each matching request consumes one from `count`.
    "faults": [],
    # The premium app's integration type id; None removes it from the types list ("product not available").
    "premium_type_id": "premium-widget-example",
    # User id or email that /oauth/authorize logs in when no `login_hint` is given; None = first agent.
    "default_login_user": None,
    # registeredRedirectUri of the seeded browser clients (implicit and code/PKCE).
    "redirect_uris": ["http://127.0.0.1:8000/", "http://localhost:8000/"],
    # Check the permissions of reference §4 against the token's roles.
    "enforce_permissions": True,
    # How long a User Defined (OAuth) auth response is reused; 0 = fetch a token before every execution.
    "auth_cache_seconds": 0,
    # The implicit grant's retirement (reference §12), as UTC dates (YYYY-MM-DD); None = never. From the first date,
    # no OAuth client can be created with (or switched to) authorizedGrantType TOKEN; from the second, existing
    # implicit-grant clients can no longer log anyone in and their tokens stop working.
    "implicit_grant_new_clients_until": "2026-03-01",
    "implicit_grant_until": "2027-03-01",
    # Process-automation delivery limits per organisation (reference §12), and a delivery lag that ages events.
    "trigger_quota_per_minute": 6000,
    "trigger_quota_per_hour": 36000,
    "trigger_workflow_share": 0.8,
    "trigger_delivery_lag_seconds": 0,
    # Reads of an Architect publish job that still answer `Started` after the upload (clients must poll).
    "flow_job_polls": 1,
}


@dataclass
class Token:
    value: str
    org_id: str
    client_id: str
    user_id: str | None
    scopes: list[str]
    grant: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class State:
    """Resources are stored in their wire shape; keys starting with `_` are internal (see web.public)."""

    defaults: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_CONFIG))
    seed_name: str = "demo"
    lock: threading.RLock = field(default_factory=threading.RLock)
    config: dict[str, Any] = field(default_factory=dict)
    orgs: dict[str, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    divisions: dict[str, dict] = field(default_factory=dict)
    queues: dict[str, dict] = field(default_factory=dict)
    roles: dict[str, dict] = field(default_factory=dict)
    oauth_clients: dict[str, dict] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    auth_codes: dict[str, dict] = field(default_factory=dict)
    refresh_tokens: dict[str, dict] = field(default_factory=dict)
    integrations: dict[str, dict] = field(default_factory=dict)
    credentials: dict[str, dict] = field(default_factory=dict)
    actions: dict[str, dict] = field(default_factory=dict)
    auth_cache: dict[str, tuple[float, dict]] = field(default_factory=dict)
    triggers: dict[str, dict] = field(default_factory=dict)
    flows: dict[str, dict] = field(default_factory=dict)
    flow_jobs: dict[str, dict] = field(default_factory=dict)
    conversations: dict[str, dict] = field(default_factory=dict)
    wrapup_codes: dict[str, dict] = field(default_factory=dict)
    round_robin: dict[str, int] = field(default_factory=dict)
    trigger_invocations: dict[str, deque] = field(default_factory=dict)
    rate_windows: dict[str, list[float]] = field(default_factory=dict)
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_CAPACITY))
    log_sequence: itertools.count = field(default_factory=lambda: itertools.count(1))
    creation_order: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_order(self) -> int:
        """An increasing number for resources listed with cursors (triggers, credentials)."""
        return next(self.creation_order)

    def clear(self) -> None:
        """Nothing left but the start-up knobs: no resource, an empty request log (`seed.reset` then seeds it)."""
        with self.lock:
            for name in RESOURCE_FIELDS:
                getattr(self, name).clear()
            self.config = copy.deepcopy(self.defaults)
            self.log.clear()
            self.log_sequence = itertools.count(1)

    def record(self, entry: dict) -> None:
        """Append to the request log, with secrets masked."""
        with self.lock:
            self.log.append({"seq": next(self.log_sequence), "time": time.time(), **mask_secrets(entry)})

    def org_for(self, reference: str | None) -> dict | None:
        """An organisation by id, `thirdPartyOrgName` or name; the first seeded one when `reference` is empty."""
        with self.lock:
            if not reference:
                return next(iter(self.orgs.values()), None)
            for org in self.orgs.values():
                if reference in (org["id"], org["thirdPartyOrgName"]) or reference.lower() == org["name"].lower():
                    return org
        return None

    def user_for(self, reference: str, org_id: str | None = None) -> dict | None:
        """A user by id, email, name or first name (case-insensitive), optionally within one organisation."""
        lowered = reference.lower()
        with self.lock:
            for user in self.users.values():
                if org_id and user["_org_id"] != org_id:
                    continue
                names = (user["email"].lower(), user["name"].lower(), user["name"].split()[0].lower())
                if reference == user["id"] or lowered in names:
                    return user
        return None


def past(cutoff: str | None) -> bool:
    """Whether today (UTC) is on or after `cutoff` (YYYY-MM-DD); never for None."""
    return cutoff is not None and datetime.now(UTC).date().isoformat() >= cutoff


def mask_secrets(value: Any) -> Any:
    """A copy of a log entry with secret values replaced; Authorization headers keep their scheme only."""
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            lowered = key.lower()
            if lowered in SECRET_KEYS and isinstance(item, str | int):
                masked[key] = "***"
            elif lowered == "authorization" and isinstance(item, str):
                masked[key] = item.split(" ", 1)[0] + " ***"
            else:
                masked[key] = mask_secrets(item)
        return masked
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value
