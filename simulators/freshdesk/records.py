"""The account's records (contacts, companies, tickets, conversations) and their API representations.

Times are epoch seconds on the simulator clock, whole seconds, rendered as `YYYY-MM-DDTHH:MM:SSZ`. Every field of
the documented objects is present, `null` when empty (reference §2, §4, §5).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from simulators.freshdesk.clock import format_timestamp

__all__ = ["Company", "Contact", "Conversation", "Ticket", "html_to_text"]


def html_to_text(markup: str | None) -> str | None:
    """`description_text` from `description`: tags dropped, entities decoded, whitespace collapsed."""
    if markup is None:
        return None
    text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", markup, flags=re.IGNORECASE)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[ \t]+", " ", text).strip()


@dataclass
class Company:
    id: int
    name: str

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass
class Contact:
    id: int
    name: str
    created_at: int
    updated_at: int
    email: str | None = None
    other_emails: list[str] = field(default_factory=list)
    phone: str | None = None
    mobile: str | None = None
    company_id: int | None = None
    twitter_id: str | None = None
    facebook_id: str | None = None  # accepted on ticket creation; not part of the contact representation
    unique_external_id: str | None = None
    job_title: str | None = None
    language: str = "en"
    time_zone: str = "Eastern Time (US & Canada)"
    address: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    active: bool = True
    blocked: bool = False
    deleted: bool = False

    def all_emails(self) -> list[str]:
        return [email for email in [self.email, *self.other_emails] if email]

    def state_matches(self, state: str | None) -> bool:
        """The list endpoint's `state` filter; without one, blocked and deleted contacts are left out."""
        if state is None:
            return not self.blocked and not self.deleted
        if state == "deleted":
            return self.deleted
        if state == "blocked":
            return self.blocked and not self.deleted
        usable = not self.blocked and not self.deleted
        return usable and (self.active if state == "verified" else not self.active)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": self.active,
            "address": self.address,
            "avatar": None,
            "company_id": self.company_id,
            "custom_fields": {},
            "description": self.description,
            "email": self.email,
            "id": self.id,
            "job_title": self.job_title,
            "language": self.language,
            "mobile": self.mobile,
            "name": self.name,
            "other_companies": [],
            "other_emails": list(self.other_emails),
            "phone": self.phone,
            "social_handler": [],
            "tags": list(self.tags),
            "time_zone": self.time_zone,
            "twitter_id": self.twitter_id,
            "unique_external_id": self.unique_external_id,
            "view_all_tickets": False,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }
        if self.deleted:  # DOCS: `deleted` is only present on deleted contacts
            body["deleted"] = True
        return body

    def requester_summary(self) -> dict[str, Any]:
        """What `include=requester` embeds in a ticket."""
        return {"id": self.id, "name": self.name, "email": self.email, "mobile": self.mobile, "phone": self.phone}


@dataclass
class Conversation:
    id: int
    ticket_id: int
    user_id: int
    body: str
    incoming: bool
    created_at: int
    private: bool = False
    source: int = 0  # 0 reply, 2 note (DOCS `#conversations`)
    notify_emails: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "body": self.body,
            "body_text": html_to_text(self.body),
            "incoming": self.incoming,
            "private": self.private,
            "user_id": self.user_id,
            "support_email": None,
            "source": self.source,
            "ticket_id": self.ticket_id,
            "to_emails": list(self.notify_emails),
            "from_email": None,
            "cc_emails": [],
            "bcc_emails": [],
            "attachments": [],
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.created_at),
        }


@dataclass
class Ticket:
    id: int
    subject: str | None
    description: str | None
    requester_id: int
    created_at: int
    updated_at: int
    due_by: int
    fr_due_by: int
    status: int = 2
    priority: int = 1
    source: int = 2
    type: str | None = None
    responder_id: int | None = None
    group_id: int | None = None
    company_id: int | None = None
    product_id: int | None = None
    email_config_id: int | None = None
    cc_emails: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    spam: bool = False
    deleted: bool = False
    first_responded_at: int | None = None
    resolved_at: int | None = None
    closed_at: int | None = None
    status_updated_at: int | None = None
    conversations: list[Conversation] = field(default_factory=list)

    def to_api(self, *, with_description: bool) -> dict[str, Any]:
        """The ticket as list and view endpoints render it; the description only when asked for."""
        body: dict[str, Any] = {
            "cc_emails": list(self.cc_emails),
            "fwd_emails": [],
            "reply_cc_emails": list(self.cc_emails),
            "fr_escalated": False,
            "spam": self.spam,
            "email_config_id": self.email_config_id,
            "group_id": self.group_id,
            "priority": self.priority,
            "requester_id": self.requester_id,
            "responder_id": self.responder_id,
            "source": self.source,
            "company_id": self.company_id,
            "status": self.status,
            "subject": self.subject,
            "association_type": None,
            "to_emails": None,
            "product_id": self.product_id,
            "id": self.id,
            "type": self.type,
            "due_by": format_timestamp(self.due_by),
            "fr_due_by": format_timestamp(self.fr_due_by),
            "is_escalated": False,
            "custom_fields": dict(self.custom_fields),
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "nr_due_by": None,
            "nr_escalated": False,
            "tags": list(self.tags),
        }
        if with_description:
            body["description"] = self.description
            body["description_text"] = html_to_text(self.description)
        if self.deleted:
            body["deleted"] = True
        return body

    def stats(self) -> dict[str, Any]:
        """What `include=stats` embeds."""
        return {
            "first_responded_at": format_timestamp(self.first_responded_at),
            "resolved_at": format_timestamp(self.resolved_at),
            "closed_at": format_timestamp(self.closed_at),
            "status_updated_at": format_timestamp(self.status_updated_at),
            "pending_since": format_timestamp(self.status_updated_at) if self.status == 3 else None,
        }
