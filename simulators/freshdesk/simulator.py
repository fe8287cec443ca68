"""One simulated Freshdesk account: its data, knobs, clock, rate limiter, request log and webhooks."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from simulators.freshdesk.clock import SimClock
from simulators.freshdesk.config import Knobs
from simulators.freshdesk.limits import PLANS, Plan, RateLimiter
from simulators.freshdesk.records import Ticket
from simulators.freshdesk.requestlog import RequestLog
from simulators.freshdesk.seed import build_store
from simulators.freshdesk.webhooks import WebhookDispatcher, ticket_placeholders

__all__ = ["Simulator"]


class Simulator:
    """The state every handler works on. Handlers hold `lock` while they read or change it.

    `epoch` changes on every reset, so a request that was sleeping (latency knob) across a reset can tell that the
    account it started on is gone and drop its answer instead of leaking into the next test.
    """

    def __init__(self, *, api_key: str, plan: str = "growth", seed: str = "demo") -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; use one of {', '.join(PLANS)}")
        self.api_key = api_key
        self.seed = seed
        self.startup_knobs = Knobs(plan=plan)
        self.lock = threading.RLock()
        self.clock = SimClock()
        self.limiter = RateLimiter()
        self.log = RequestLog()
        self.webhooks = WebhookDispatcher(now=self.clock.now)
        self.epoch = 0
        self.reset()

    def reset(self) -> None:
        """Reseed the data and forget knobs, clock changes, spent credits, the request log and webhooks."""
        with self.lock:
            self.epoch += 1
            self.knobs = self.startup_knobs
            self.clock.reset()
            self.limiter.clear()
            self.log.clear()
            self.webhooks.reset()
            self.faults = random.Random(f"{self.seed}-faults")
            self.store = build_store(self.seed, now=self.clock.now(), index_lag=self.knobs.index_lag_seconds)

    def now(self) -> float:
        return self.clock.now()

    @property
    def plan(self) -> Plan:
        return PLANS[self.knobs.plan]

    @property
    def index_lag(self) -> float:
        return self.knobs.index_lag_seconds

    def configure(self, changes: Mapping[str, Any]) -> Knobs:
        """Apply knob changes (raises `KnobError`); clock knobs take effect at once."""
        with self.lock:
            knobs = self.knobs.updated(changes)
            if "clock_speed" in changes:
                self.clock.set_speed(knobs.clock_speed)
            if "clock_offset_seconds" in changes:
                self.clock.set_offset(knobs.clock_offset_seconds)
            self.knobs = knobs
            return knobs

    def ticket_changed(
        self, ticket: Ticket, *, base_url: str, changes: Mapping[str, tuple[Any, Any]] | None = None
    ) -> None:
        """Run the "Trigger webhook" automation for a created (`changes` None) or updated ticket."""
        rule = self.knobs.webhook
        event = "ticket_created" if changes is None else "ticket_updated"
        if rule is None or event not in rule.events:
            return
        requester = self.store.contacts[ticket.requester_id]
        placeholders = ticket_placeholders(
            ticket,
            requester=requester,
            company=self.store.companies.get(ticket.company_id or 0),
            base_url=base_url,
            changes=changes,
        )
        self.webhooks.enqueue(rule, event=event, ticket_id=ticket.id, placeholders=placeholders)
