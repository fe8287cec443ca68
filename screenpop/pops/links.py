"""Which ticket a call is about, and what each agent typed about it: set from the panel, read at wrap-up.

The panel writes through `call_link_set` and `agent_note_set`; the write-back reads `call_link_of` and
`agent_note_of`; a new call from a number reads `number_last_link` to offer that number's newest choice first.
"""

from __future__ import annotations

from django.utils import timezone

from screenpop.models import AgentNote, CallLink


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
