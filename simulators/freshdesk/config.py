"""The simulator's knobs, as `GET/POST /_sim/config` shows and changes them.

Each knob's meaning and default are in `simulators/README.md` (Freshdesk simulator, Control API). Changes are
validated here, so a typo in a test (`latency=5`) is a 400 naming the known knobs rather than a silent no-op.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulators.freshdesk.limits import PLANS
from simulators.freshdesk.webhooks import WebhookRule

__all__ = ["KnobError", "Knobs"]

FAULT_STATUSES = (500, 502, 503, 504)
SINCE_PARAMETERS = ("both", "updated_since", "_updated_since")


class KnobError(ValueError):
    """A knob name or value the control API refuses; the message says which and why."""


@dataclass(frozen=True)
class Knobs:
    plan: str = "growth"
    latency_ms: Mapping[str, int] = field(default_factory=dict)
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    outage: bool = False
    hang: bool = False
    index_lag_seconds: float = 120.0
    clock_offset_seconds: float = 0.0
    clock_speed: float = 1.0
    thirty_day_window_always: bool = False
    # Which spelling of the "changed since" filter the contacts and tickets lists honour: DOCS says
    # `updated_since`, FC's contact code `_updated_since` (reference §4, uncertain). "both" accepts either; naming
    # one makes the other an unknown parameter (400 invalid_field), as a real account would answer.
    since_parameter: str = "both"
    webhook: WebhookRule | None = None

    def latency_seconds(self, endpoint: str) -> float:
        return self.latency_ms.get(endpoint, self.latency_ms.get("default", 0)) / 1000

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["latency_ms"] = dict(self.latency_ms)
        body["error_statuses"] = list(self.error_statuses)
        body["webhook"] = self.webhook.to_json() if self.webhook else None
        return body

    def updated(self, changes: Mapping[str, Any]) -> Knobs:
        """A copy with `changes` applied; raises KnobError for an unknown knob or a bad value."""
        known = {knob.name for knob in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise KnobError(f"unknown knob(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **{name: _checked(name, value) for name, value in changes.items()})


def _checked(name: str, value: Any) -> Any:
    if name == "plan":
        if value not in PLANS:
            raise KnobError(f"plan must be one of {', '.join(PLANS)}")
        return value
    if name == "latency_ms":
        if not isinstance(value, dict) or not all(_is_number(ms) and ms >= 0 for ms in value.values()):
            raise KnobError('latency_ms must map endpoint names (or "default") to milliseconds >= 0')
        return {str(endpoint): int(ms) for endpoint, ms in value.items()}
    if name == "error_rate":
        if not _is_number(value) or not 0 <= value <= 1:
            raise KnobError("error_rate must be a number from 0 to 1")
        return float(value)
    if name == "error_statuses":
        if not isinstance(value, list) or not value or any(status not in FAULT_STATUSES for status in value):
            raise KnobError(f"error_statuses must be a non-empty list of {FAULT_STATUSES}")
        return tuple(value)
    if name == "since_parameter":
        if value not in SINCE_PARAMETERS:
            raise KnobError(f"since_parameter must be one of {', '.join(SINCE_PARAMETERS)}")
        return value
    if name in ("outage", "hang", "thirty_day_window_always"):
        if not isinstance(value, bool):
            raise KnobError(f"{name} must be true or false")
        return value
    if name == "clock_speed":
        if not _is_number(value) or value <= 0:
            raise KnobError("clock_speed must be a number > 0")
        return float(value)
    if name in ("index_lag_seconds", "clock_offset_seconds"):
        if not _is_number(value) or (name == "index_lag_seconds" and value < 0):
            raise KnobError(f"{name} must be a number" + (" >= 0" if name == "index_lag_seconds" else ""))
        return float(value)
    if name == "webhook":
        try:
            return None if value is None else WebhookRule.from_json(value)
        except ValueError as error:
            raise KnobError(f"webhook: {error}") from None
    raise KnobError(f"unknown knob {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
