"""What a pop reads from the tenant's mirror: the contacts with the caller's number, their open tickets, the
labels, and how old the copy is. No Freshdesk call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from screenpop.mirror.records import CLOSED
from screenpop.models import FreshdeskConnection, MirrorContact, MirrorSync, MirrorTicket, PhoneIndexEntry, Tenant

__all__ = ["MirrorView", "mirror_match", "mirror_tickets_of", "mirror_view"]


@dataclass(frozen=True)
class MirrorView:
    """A live mirror as a pop sees it: its labels (`{"status": {code: label}, "priority": {...}}`) and the moment up
    to which it is known complete (the older of its contacts' and its tickets' last catch-up)."""

    labels: dict[str, dict[int, str]]
    as_of: datetime | None


def mirror_view(tenant: Tenant, connection: FreshdeskConnection) -> MirrorView | None:
    """The tenant's mirror if it is live (its first sync done), else None (the pop asks Freshdesk)."""
    state = (
        MirrorSync.objects.filter(tenant=tenant, phase=MirrorSync.Phase.LIVE)
        .values("labels", "tickets_current_at")
        .first()
    )
    if state is None:
        return None
    labels = {
        kind: {int(code): label for code, label in (state["labels"] or {}).get(kind, {}).items()}
        for kind in ("status", "priority")
    }
    moments = [moment for moment in (connection.index_synced_at, state["tickets_current_at"]) if moment]
    return MirrorView(labels, min(moments) if moments else None)


def mirror_match(*, tenant: Tenant, e164: str, fields: list[str]) -> list[MirrorContact]:
    """The mirrored contacts with `e164` in one of `fields`, most recently updated first: one query, on the phone
    index's (tenant, e164) index and the contacts' (tenant, contact_id) key."""
    numbers = PhoneIndexEntry.objects.filter(tenant=tenant, e164=e164, field__in=fields).values("contact_id")
    return list(
        MirrorContact.objects.filter(tenant=tenant, contact_id__in=numbers, deleted=False).order_by(
            "-updated_at", "contact_id"
        )
    )


def mirror_tickets_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, list[MirrorTicket]]:
    """The mirrored tickets (not closed) of each contact in `contact_ids`: one query, on (tenant, requester_id)."""
    found: dict[int, list[MirrorTicket]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return found
    for row in MirrorTicket.objects.filter(tenant=tenant, requester_id__in=contact_ids).exclude(status=CLOSED):
        found[row.requester_id].append(row)
    return found
