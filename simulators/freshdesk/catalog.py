"""The simulated account's configuration: ticket codes and labels, types, groups, agents, and `ticket_fields`.

Codes come from reference §5 (DOCS `#ticket_properties`): statuses 2-5 plus the DOCS sample's custom statuses
6 "Waiting on Customer" and 7 "Waiting on Third Party"; priorities 1-4; the documented sources. The `ticket_fields`
payload has both `choices` shapes: status code -> [agent label, customer label]; priority and source label -> code.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AGENTS",
    "API_AGENT_EMAIL",
    "API_AGENT_ID",
    "GROUPS",
    "PRIORITIES",
    "SOURCES",
    "STATUSES",
    "TICKET_TYPES",
    "ticket_fields_payload",
]

OPEN, PENDING, RESOLVED, CLOSED, WAITING_ON_CUSTOMER, WAITING_ON_THIRD_PARTY = 2, 3, 4, 5, 6, 7

# status code -> (label agents see, label customers see)
STATUSES: dict[int, tuple[str, str]] = {
    OPEN: ("Open", "Being Processed"),
    PENDING: ("Pending", "Awaiting your Reply"),
    RESOLVED: ("Resolved", "This ticket has been Resolved"),
    CLOSED: ("Closed", "This ticket has been Closed"),
    WAITING_ON_CUSTOMER: ("Waiting on Customer", "Awaiting your Reply"),
    WAITING_ON_THIRD_PARTY: ("Waiting on Third Party", "Being Processed"),
}
PRIORITIES: dict[int, str] = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
SOURCES: dict[int, str] = {1: "Email", 2: "Portal", 3: "Phone", 7: "Chat", 9: "Feedback Widget", 10: "Outbound Email"}
TICKET_TYPES: tuple[str, ...] = ("Question", "Incident", "Problem", "Feature Request", "Refund")

GROUPS: dict[str, int] = {"Billing": 43000004001, "Technical Support": 43000004002}
# The API key belongs to the first agent (`GET /api/v2/agents/me`).
AGENTS: dict[str, int] = {"Sam Rivera": 43000003001, "Riley Chen": 43000003002}
API_AGENT_ID = AGENTS["Sam Rivera"]
API_AGENT_EMAIL = "sam.rivera@support.example.com"

# First-response and resolution targets in hours by priority, for `fr_due_by` and `due_by`.
SLA_HOURS: dict[int, tuple[int, int]] = {1: (24, 72), 2: (8, 48), 3: (4, 24), 4: (1, 4)}

_FIELD_DEFAULTS: dict[str, Any] = {
    "description": None,
    "required_for_closure": False,
    "required_for_agents": False,
    "default": True,
    "customers_can_edit": False,
    "required_for_customers": False,
    "displayed_to_customers": False,
    "portal_cc": False,
    "portal_cc_to": "company",
}


def ticket_fields_payload(*, timestamp: str) -> list[dict[str, Any]]:
    """The body of `GET /api/v2/ticket_fields`: the default fields of a fresh account, in form order."""
    specs: list[dict[str, Any]] = [
        {"name": "requester", "label": "Search a requester", "type": "default_requester", "required_for_agents": True},
        {"name": "subject", "label": "Subject", "type": "default_subject", "required_for_agents": True},
        {"name": "ticket_type", "label": "Type", "type": "default_ticket_type", "choices": list(TICKET_TYPES)},
        {
            "name": "source",
            "label": "Source",
            "type": "default_source",
            "choices": {label: code for code, label in SOURCES.items()},
        },
        {
            "name": "status",
            "label": "Status",
            "type": "default_status",
            "required_for_agents": True,
            "choices": {str(code): list(labels) for code, labels in STATUSES.items()},
        },
        {
            "name": "priority",
            "label": "Priority",
            "type": "default_priority",
            "required_for_agents": True,
            "choices": {label: code for code, label in PRIORITIES.items()},
        },
        {"name": "group", "label": "Group", "type": "default_group", "choices": dict(GROUPS)},
        {"name": "agent", "label": "Agent", "type": "default_agent", "choices": dict(AGENTS)},
        {"name": "description", "label": "Description", "type": "default_description", "required_for_agents": True},
        {"name": "company", "label": "Company", "type": "default_company", "required_for_agents": False},
    ]
    fields = []
    for position, spec in enumerate(specs, start=1):
        choices = spec.pop("choices", None)
        field = {"id": 43000006000 + position, **_FIELD_DEFAULTS, **spec, "position": position}
        field.update(label_for_customers=spec["label"], created_at=timestamp, updated_at=timestamp)
        if choices is not None:
            field["choices"] = choices
        fields.append(field)
    return fields
