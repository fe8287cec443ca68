"""Which ticket a call is about, and what each agent typed about it: set from the panel, read at wrap-up.

The panel writes through `call_link_set` and `agent_note_set`; the write-back reads `call_link_of` and
`agent_note_of`; a new call from a number reads `number_last_link` to offer that number's newest choice first.
The panel's state carries the conversation's link and the number's newest one (`pops_with_links`, `link_view`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from screenpop.models import AgentNote, CallLink, Pop


def call_link_of(*, tenant_id: int, conversation_id: str) -> CallLink | None:
    return CallLink.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id).first()


def call_link_set(
    *,
    tenant_id: int,
    conversation_id: str,
    ticket_id: int,
    chosen_by: str,
    phone_e164: str = "",
    contact_id: int | None = None,
    subject: str = "",
) -> CallLink:
    link, _ = CallLink.objects.update_or_create(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        defaults={
            "ticket_id": ticket_id,
            "chosen_by": chosen_by,
            "phone_e164": phone_e164,
            "contact_id": contact_id,
            "subject": subject[:255],
            "chosen_at": timezone.now(),
        },
    )
    return link


def number_last_link(*, tenant_id: int, phone_e164: str) -> CallLink | None:
    """The newest ticket chosen for a call from this number, on any conversation."""
    if not phone_e164:
        return None
    return CallLink.objects.filter(tenant_id=tenant_id, phone_e164=phone_e164).order_by("-chosen_at").first()


def agent_note_of(*, tenant_id: int, conversation_id: str, user_id: str) -> str:
    note = AgentNote.objects.filter(tenant_id=tenant_id, conversation_id=conversation_id, user_id=user_id).first()
    return note.text if note else ""


def agent_note_set(*, tenant_id: int, conversation_id: str, user_id: str, text: str) -> AgentNote:
    note, _ = AgentNote.objects.update_or_create(
        tenant_id=tenant_id, conversation_id=conversation_id, user_id=user_id, defaults={"text": text}
    )
    return note


# -- in the panel's state -----------------------------------------------------------------------------------------

_LINK_FIELDS = ("ticket_id", "subject", "contact_id", "chosen_by", "chosen_at")
_SUGGESTION_FIELDS = ("ticket_id", "subject", "contact_id", "chosen_at")


def pops_with_links(pops: QuerySet[Pop]) -> QuerySet[Pop]:
    """`pops` annotated, in the same query, with their conversation's link (`link_<field>`) and their number's newest
    link on any conversation (`number_link_<field>`), so that the pop read stays one query (see `panel_state`).

    Scalar subqueries rather than one JSON object each: the JSON function would make SQLite probe for it once per
    connection, a query of its own on every new thread's first read."""
    links = CallLink.objects.filter(tenant_id=OuterRef("tenant_id"))
    own = links.filter(conversation_id=OuterRef("conversation_id"))
    newest = links.filter(phone_e164=OuterRef("phone_e164")).exclude(phone_e164="").order_by("-chosen_at")
    return pops.annotate(
        **{f"link_{name}": Subquery(own.values(name)[:1]) for name in _LINK_FIELDS},
        **{f"number_link_{name}": Subquery(newest.values(name)[:1]) for name in _SUGGESTION_FIELDS},
    )


def links_of_pop(pop: Pop) -> tuple[dict[str, Any] | None, dict[str, Any] | None] | None:
    """The (link, number's newest link) of a pop read through `pops_with_links`, in the panel's shape; None for a
    pop read otherwise."""
    if not hasattr(pop, "link_ticket_id"):
        return None
    link = {name: getattr(pop, f"link_{name}") for name in _LINK_FIELDS}
    number_link = {name: getattr(pop, f"number_link_{name}") for name in _SUGGESTION_FIELDS}
    return (
        link_view(link) if link["ticket_id"] is not None else None,
        link_view(number_link) if number_link["ticket_id"] is not None else None,
    )


def link_view(link: CallLink | dict[str, Any] | None) -> dict[str, Any] | None:
    """The panel's link: `{"ticket_id", "subject", "contact_id", "chosen_by", "chosen_at"}` (ISO 8601, UTC)."""
    if link is None:
        return None
    values = {name: getattr(link, name) for name in _LINK_FIELDS} if isinstance(link, CallLink) else dict(link)
    chosen_at = values.get("chosen_at")
    if isinstance(chosen_at, datetime):
        values["chosen_at"] = chosen_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "ticket_id": int(values["ticket_id"]),
        "subject": str(values.get("subject") or ""),
        "contact_id": values.get("contact_id"),
        "chosen_by": str(values.get("chosen_by") or ""),
        "chosen_at": values.get("chosen_at"),
    }
