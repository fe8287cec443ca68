"""The labels a Freshdesk account gives its ticket statuses and priorities (custom statuses included)."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from django.core.cache import cache

from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError

LABELS_CACHE_SECONDS = 3600
# After ticket_fields fails, standard labels are used and the next try waits this long (cheap, but not free).
LABELS_RETRY_SECONDS = 60

STANDARD_STATUS_LABELS: dict[int, str] = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
STANDARD_PRIORITY_LABELS: dict[int, str] = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}


def ticket_labels(client: FreshdeskClient) -> dict[str, dict[int, str]]:
    """`{"status": {code: agent label}, "priority": {code: label}}` of the client's account.

    Read from `ticket_fields` (status choices `{"2": ["Open", "Being Processed"]}`, priority choices
    `{"Low": 1}`) and cached for an hour per account; when the call fails, the standard labels are returned
    (custom statuses then read "Status 6") and the call is retried after a minute. Never raises `FreshdeskError`.
    """
    key = f"screenpop:ticket-labels:{hashlib.sha256(client.base_url.encode()).hexdigest()[:24]}"
    labels = cache.get(key)
    if labels is not None:
        return labels
    try:
        fields = client.ticket_fields()
    except FreshdeskError:
        # Labels are decoration: a pop with "Status 6" beats no pop.
        labels = standard_labels()
        cache.set(key, labels, timeout=LABELS_RETRY_SECONDS)
        return labels
    labels = _labels_from_fields(fields)
    cache.set(key, labels, timeout=LABELS_CACHE_SECONDS)
    return labels


def _labels_from_fields(fields: Any) -> dict[str, dict[int, str]]:
    labels = standard_labels()
    for definition in fields if isinstance(fields, list) else []:
        choices = definition.get("choices") if isinstance(definition, dict) else None
        if not isinstance(choices, dict):
            continue
        if definition.get("name") == "status":
            for code, names in choices.items():
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    labels["status"][int(code)] = str(names[0] if isinstance(names, list) else names)
        elif definition.get("name") == "priority":
            for name, code in choices.items():
                with contextlib.suppress(TypeError, ValueError):
                    labels["priority"][int(code)] = str(name)
    return labels


def standard_labels() -> dict[str, dict[int, str]]:
    return {"status": dict(STANDARD_STATUS_LABELS), "priority": dict(STANDARD_PRIORITY_LABELS)}
