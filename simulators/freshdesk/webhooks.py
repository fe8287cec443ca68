"""The automation action "Trigger Webhook" on ticket creation and ticket updates (reference §8).

Configured through the `webhook` knob, e.g.

    {"url": "http://127.0.0.1:8000/api/v1/freshdesk/events/TOKEN", "events": ["ticket_created", "ticket_updated"],
     "content": "simple", "username": "...", "password": "...", "duplicate_rate": 0.0, "max_delay_seconds": 0}

- `content: "simple"` posts `{"freshdesk_webhook": {"ticket_id": ..., "ticket_subject": ..., ...}}` with the
  `fields` ticked (placeholder names, `ticket.status` becoming `ticket_status`); `content: "advanced"` posts the
  `template` with each `{{placeholder}}` replaced by its text (inserted as is, not JSON-escaped: (uncertain)).
- Placeholders render labels, not codes (`"Waiting on Customer"`, `"Low"`), empty values as `""`, and
  `{{triggered_event}}` as non-JSON text such as `{ticket_action:created}` or `{status:{from:4,to:6}}` (first change
  only, status before priority before agent before group).
- Basic auth with `username`/`password`, or `api_key` (password `X`); no signature; `User-Agent: Freshdesk`.
- Delivery is asynchronous with a 10 s timeout. 2xx is success, 3xx is not retried, anything else (or a timeout) is
  retried 3 times, 5, 30 and 60 minutes later on the simulator clock. `duplicate_rate` sends a share of deliveries
  twice and `max_delay_seconds` delays each by a random time, so deliveries arrive duplicated and out of order.

Only JSON over POST/PUT/PATCH is simulated (not XML or form encoding), and webhooks do not spend API credits.
`GET /_sim/webhooks` lists every attempt.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from simulators.freshdesk.catalog import AGENTS, API_AGENT_EMAIL, API_AGENT_ID, GROUPS, PRIORITIES, SOURCES, STATUSES
from simulators.freshdesk.clock import format_timestamp
from simulators.freshdesk.records import Company, Contact, Ticket, html_to_text

__all__ = ["DEFAULT_FIELDS", "WebhookDispatcher", "WebhookRule", "ticket_placeholders"]

EVENTS = ("ticket_created", "ticket_updated")
DEFAULT_FIELDS = (
    "ticket.id",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.url",
    "ticket.contact.email",
    "ticket.contact.phone",
    "ticket.contact.mobile",
    "triggered_event",
)
RETRY_DELAYS_SECONDS = (300, 1800, 3600)
TIMEOUT_SECONDS = 10
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")


@dataclass(frozen=True)
class WebhookRule:
    url: str
    events: tuple[str, ...] = EVENTS
    method: str = "POST"
    content: str = "simple"
    fields: tuple[str, ...] = DEFAULT_FIELDS
    template: str | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    duplicate_rate: float = 0.0
    max_delay_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Any) -> WebhookRule:
        """The rule described by a knob value; ValueError says what is wrong with it."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ValueError('expected an object with at least "url"')
        unknown = set(data) - {name for name in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
        rule = cls(**{**data, **{name: tuple(data[name]) for name in ("events", "fields") if name in data}})
        if not set(rule.events) <= set(EVENTS):
            raise ValueError(f"events must be among {EVENTS}")
        if rule.method not in ("POST", "PUT", "PATCH") or rule.content not in ("simple", "advanced"):
            raise ValueError('method must be POST, PUT or PATCH; content "simple" or "advanced"')
        if rule.content == "advanced" and not rule.template:
            raise ValueError('content "advanced" needs a "template"')
        if not (0 <= rule.duplicate_rate <= 1 and rule.max_delay_seconds >= 0):
            raise ValueError("duplicate_rate must be 0-1 and max_delay_seconds >= 0")
        return rule

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "events": list(self.events), "fields": list(self.fields)}

    def render_body(self, placeholders: Mapping[str, str]) -> bytes:
        if self.content == "advanced":
            text = _PLACEHOLDER_RE.sub(lambda match: placeholders.get(match[1], ""), self.template or "")
            return text.encode("utf-8")
        ticked = {name.replace(".", "_"): placeholders.get(name, "") for name in self.fields}
        return json.dumps({"freshdesk_webhook": ticked}, ensure_ascii=False).encode("utf-8")

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "Freshdesk"}
        user, password = (self.api_key, "X") if self.api_key else (self.username, self.password or "")
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers


@dataclass
class _Delivery:
    id: int
    event: str
    ticket_id: int
    rule: WebhookRule
    body: bytes
    due_at: float
    state: str = "waiting"  # "waiting" for due_at, "sending", or "done"
    attempts: list[dict[str, Any]] = field(default_factory=list)


class WebhookDispatcher:
    """Queues deliveries and sends each when the simulator clock reaches its due time, from daemon threads."""

    def __init__(self, *, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._deliveries: list[_Delivery] = []
        self._generation = 0
        self._random = random.Random("webhooks")
        threading.Thread(target=self._run, name="freshdesk-sim-webhooks", daemon=True).start()

    def enqueue(self, rule: WebhookRule, *, event: str, ticket_id: int, placeholders: Mapping[str, str]) -> None:
        body = rule.render_body(placeholders)
        with self._lock:
            copies = 2 if self._random.random() < rule.duplicate_rate else 1
            for _ in range(copies):
                due_at = self._now() + self._random.uniform(0, rule.max_delay_seconds)
                self._deliveries.append(_Delivery(len(self._deliveries) + 1, event, ticket_id, rule, body, due_at))
        self._wake.set()

    def attempts(self) -> list[dict[str, Any]]:
        """Every delivery, oldest first, with its attempts so far and when the next one is due (if any)."""
        with self._lock:
            return [
                {
                    "delivery": delivery.id,
                    "event": delivery.event,
                    "ticket_id": delivery.ticket_id,
                    "url": delivery.rule.url,
                    "body": delivery.body.decode("utf-8"),
                    "attempts": list(delivery.attempts),
                    "next_attempt_at": format_timestamp(delivery.due_at) if delivery.state == "waiting" else None,
                }
                for delivery in self._deliveries
            ]

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._deliveries = []
            self._random = random.Random("webhooks")

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=0.05)
            self._wake.clear()
            with self._lock:
                now = self._now()
                due = [d for d in self._deliveries if d.state == "waiting" and d.due_at <= now]
                for delivery in due:
                    delivery.state = "sending"
                generation = self._generation
            for delivery in due:
                threading.Thread(target=self._send, args=(delivery, generation), daemon=True).start()

    def _send(self, delivery: _Delivery, generation: int) -> None:
        request = urllib.request.Request(
            delivery.rule.url, data=delivery.body, method=delivery.rule.method, headers=delivery.rule.headers()
        )
        status: int | None = None
        error: str | None = None
        try:
            with _NO_REDIRECTS.open(request, timeout=TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as http_error:
            status = http_error.code
        except (OSError, ValueError) as failure:
            error = str(failure)
        with self._lock:
            if generation != self._generation:
                return
            attempt = len(delivery.attempts) + 1
            delivery.attempts.append(
                {"attempt": attempt, "at": format_timestamp(self._now()), "status": status, "error": error}
            )
            # 2xx is success and 3xx is not retried; anything else is retried after 5, 30 and 60 minutes.
            if (status is None or not 200 <= status < 400) and attempt <= len(RETRY_DELAYS_SECONDS):
                delivery.due_at = self._now() + RETRY_DELAYS_SECONDS[attempt - 1]
                delivery.state = "waiting"
            else:
                delivery.state = "done"


def ticket_placeholders(
    ticket: Ticket,
    *,
    requester: Contact,
    company: Company | None,
    base_url: str,
    changes: Mapping[str, tuple[Any, Any]] | None,
) -> dict[str, str]:
    """The text of every supported `{{placeholder}}` for `ticket`; `changes` is None for a new ticket."""
    agent_name = next((name for name, agent_id in AGENTS.items() if agent_id == ticket.responder_id), "")
    group_name = next((name for name, group_id in GROUPS.items() if group_id == ticket.group_id), "")
    values: dict[str, Any] = {
        "ticket.id": ticket.id,
        "ticket.subject": ticket.subject,
        "ticket.description": ticket.description,
        "ticket.description_text": html_to_text(ticket.description),
        "ticket.url": f"{base_url}/helpdesk/tickets/{ticket.id}",
        "ticket.portal_url": f"{base_url}/support/tickets/{ticket.id}",
        "ticket.status": STATUSES[ticket.status][0],
        "ticket.priority": PRIORITIES.get(ticket.priority),
        "ticket.source": SOURCES.get(ticket.source),
        "ticket.ticket_type": ticket.type,
        "ticket.tags": ", ".join(ticket.tags),
        "ticket.due_by_time": format_timestamp(ticket.due_by),
        "ticket.latest_public_comment": ticket.conversations[-1].body if ticket.conversations else "",
        "ticket.group.name": group_name,
        "ticket.agent.name": agent_name,
        "ticket.agent.email": API_AGENT_EMAIL if ticket.responder_id == API_AGENT_ID else "",
        "ticket.requester.name": requester.name,
        "ticket.requester.email": requester.email,
        "ticket.requester.phone": requester.phone,
        "ticket.requester.company_name": company.name if company else "",
        "ticket.contact.phone": requester.phone,
        "ticket.contact.mobile": requester.mobile,
        "ticket.contact.email": requester.email,
        "ticket.contact.unique_external_id": requester.unique_external_id,
        "triggered_event": _triggered_event(changes),
        "helpdesk_name": "Screenpop Simulated Helpdesk",
    }
    return {name: "" if value is None else str(value) for name, value in values.items()}


_TRACKED_CHANGES = (("status", "status"), ("priority", "priority"), ("responder_id", "agent"), ("group_id", "group"))


def _triggered_event(changes: Mapping[str, tuple[Any, Any]] | None) -> str:
    if changes is None:
        return "{ticket_action:created}"
    for name, label in _TRACKED_CHANGES:
        if name in changes:
            before, after = changes[name]
            return f"{{{label}:{{from:{'' if before is None else before},to:{'' if after is None else after}}}}}"
    return "{ticket_action:updated}"


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: it is recorded and not followed (nor retried)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)
