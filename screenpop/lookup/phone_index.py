"""The per-tenant phone index: E.164 number -> Freshdesk contact ids, kept fresh by an incremental contacts sync.

Freshdesk can only find a contact by the exact string stored in its `phone`/`mobile` (reference/freshdesk.md §9),
and its search lags behind changes by minutes (§4). So, as §9 suggests, we keep our own index of every contact's
normalised numbers, refreshed with `updated_since` polling of the contacts list, and the lookup asks it first.

- `phone_index_sync` reads the contacts updated since the tenant's watermark (`index_synced_until`), a bounded
  number of pages within the account's rate budget, and upserts/removes entries.
- `phone_index_apply` writes given contacts into the index; the lookup uses it for contacts it found by search.
- `phone_index_sync_due` lists the tenants whose index is older than `SCREENPOP_INDEX_SYNC_SECONDS`.

Known limit: Freshdesk's contacts list leaves deleted contacts out, so a deleted contact's entries stay until the
contact is restored and changed; a lookup through such an entry finds no tickets (Freshdesk's unknown-requester 400).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone

from screenpop.freshdesk.accounts import counting_freshdesk_calls, freshdesk_client_for
from screenpop.freshdesk.client import FreshdeskClient
from screenpop.freshdesk.errors import FreshdeskError
from screenpop.freshdesk.times import freshdesk_time
from screenpop.mirror.records import mirror_contacts_write
from screenpop.models import FreshdeskConnection, PhoneIndexEntry, Tenant
from screenpop.phones import stored_numbers
from screenpop.storage.transactions import write_transaction

__all__ = [
    "IndexChanges",
    "SyncReport",
    "phone_index_apply",
    "phone_index_sync",
    "phone_index_sync_due",
    "stored_value",
]

logger = logging.getLogger("screenpop.lookup.phone_index")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CONTACTS_PER_PAGE = 100  # Freshdesk's maximum: the fewest contacts-list calls, the scarcest budget (20/min on Growth)
SYNC_ERROR_PREFIX = "Phone index sync failed: "
_MAX_STORED_CHARS = 255


@dataclass
class IndexChanges:
    """Entries added, updated and removed by one write to the index."""

    added: int = 0
    updated: int = 0
    removed: int = 0

    def __iadd__(self, other: IndexChanges) -> IndexChanges:
        self.added += other.added
        self.updated += other.updated
        self.removed += other.removed
        return self


@dataclass(frozen=True)
class SyncReport:
    """What one `phone_index_sync` did.

    `complete` is False when `max_pages` stopped it before the last page; `synced_until` is then advanced only if
    the pages came in `updated_at` order (otherwise unseen older contacts could be skipped for good).
    """

    tenant_id: int
    contacts_seen: int
    added: int
    updated: int
    removed: int
    freshdesk_calls: int
    synced_from: datetime
    synced_until: datetime
    complete: bool


def phone_index_apply(
    *, tenant: Tenant, contacts: Iterable[dict[str, Any]], fields: list[str], generation: int | None = None
) -> IndexChanges:
    """Make the index hold exactly the normalisable numbers of `contacts` (Freshdesk contact objects) in `fields`
    (a field holding several numbers gives an entry for each), and the mirror their contact rows.

    A number is read with `tenant.phone_region`; a field that is empty, unreadable, no longer matched, or a contact
    marked `deleted` loses its entries. A contact whose `updated_at` is older than what the index already holds for
    it is skipped: search results lag behind the contacts list, and an old version must not undo a newer one.
    `generation`: the reconciliation pass listing these contacts (`mirror.sync`), or None for any other writer.
    """
    latest: dict[int, dict[str, Any]] = {}
    for contact in contacts:
        if isinstance(contact.get("id"), int):
            latest[contact["id"]] = contact
    if not latest:
        return IndexChanges()
    existing: dict[int, dict[tuple[str, str], PhoneIndexEntry]] = {}
    for entry in PhoneIndexEntry.objects.filter(tenant=tenant, contact_id__in=list(latest)):
        existing.setdefault(entry.contact_id, {})[(entry.field, entry.e164)] = entry

    to_create: list[PhoneIndexEntry] = []
    to_update: list[PhoneIndexEntry] = []
    to_delete: list[int] = []
    for contact_id, contact in latest.items():
        held = existing.get(contact_id, {})
        updated_at = freshdesk_time(contact.get("updated_at"))
        held_times = [entry.contact_updated_at for entry in held.values() if entry.contact_updated_at is not None]
        if updated_at is not None and held_times and updated_at < max(held_times):
            continue
        wanted = {} if contact.get("deleted") else _numbers(contact, fields, tenant.phone_region)
        name = str(contact.get("name") or "")[:_MAX_STORED_CHARS]
        for (field_name, e164), stored in wanted.items():
            entry = held.get((field_name, e164))
            values = {"stored_value": stored, "contact_name": name, "contact_updated_at": updated_at}
            if entry is None:
                to_create.append(
                    PhoneIndexEntry(tenant=tenant, contact_id=contact_id, field=field_name, e164=e164, **values)
                )
            elif any(getattr(entry, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(entry, key, value)
                to_update.append(entry)
        to_delete += [entry.pk for number, entry in held.items() if number not in wanted]

    updated_fields = ["stored_value", "contact_name", "contact_updated_at"]
    with write_transaction():
        if to_delete:
            PhoneIndexEntry.objects.filter(pk__in=to_delete).delete()
        if to_create:
            # A lookup and a sync may add the same contact at once; the later write wins instead of failing.
            PhoneIndexEntry.objects.bulk_create(
                to_create,
                update_conflicts=True,
                unique_fields=["tenant", "e164", "contact_id", "field"],
                update_fields=updated_fields,
            )
        if to_update:
            PhoneIndexEntry.objects.bulk_update(to_update, updated_fields)
        mirror_contacts_write(tenant=tenant, contacts=list(latest.values()), fields=fields, generation=generation)
    return IndexChanges(added=len(to_create), updated=len(to_update), removed=len(to_delete))


def phone_index_sync(*, tenant: Tenant, client: FreshdeskClient | None = None, max_pages: int = 10) -> SyncReport:
    """Bring `tenant`'s phone index up to date with the contacts Freshdesk changed since the last sync.

    Reads at most `max_pages` pages of 100 contacts updated at or after `index_synced_until` (the epoch the first
    time), each page one contacts-list call under the account's rate budget. Then advances `index_synced_until` to
    the newest `updated_at` seen (Freshdesk's clock, so ours may drift freely) and sets `index_synced_at`.
    On a `FreshdeskError` the connection's `last_error`/`last_error_at` say why (the admin shows them), progress
    already written is kept, and the error is re-raised. Raises `FreshdeskConnection.DoesNotExist` for a tenant
    without Freshdesk.
    """
    connection = FreshdeskConnection.objects.get(tenant=tenant)
    client = client or freshdesk_client_for(connection)
    fields = connection.match_fields
    since = connection.index_synced_until or EPOCH
    newest = since
    in_order = True
    previous: datetime | None = None
    seen = 0
    changes = IndexChanges()
    batch: list[dict[str, Any]] = []
    failure: FreshdeskError | None = None
    with counting_freshdesk_calls(client) as calls:
        try:
            for contact in client.iter_contacts_updated_since(since, max_pages=max_pages, per_page=CONTACTS_PER_PAGE):
                seen += 1
                updated_at = freshdesk_time(contact.get("updated_at"))
                if updated_at is not None:
                    in_order = in_order and (previous is None or updated_at >= previous)
                    previous = updated_at
                    newest = max(newest, updated_at)
                batch.append(contact)
                if len(batch) >= CONTACTS_PER_PAGE:
                    changes += phone_index_apply(tenant=tenant, contacts=batch, fields=fields)
                    batch = []
        except FreshdeskError as error:
            failure = error
        if batch:
            changes += phone_index_apply(tenant=tenant, contacts=batch, fields=fields)
    pages = calls[0]
    # A short page, or fewer calls than allowed, means Freshdesk had no next page.
    complete = failure is None and (pages < max_pages or seen < pages * CONTACTS_PER_PAGE)
    synced_until = newest if complete or in_order else since
    now = timezone.now()
    if failure is not None:
        # Keep "never synced" (None) when nothing was read, so the admin does not see a sync up to 1970.
        kept = synced_until if synced_until > since else connection.index_synced_until
        _record_sync_failure(connection, failure, synced_until=kept, now=now)
        raise failure
    if not complete:
        logger.warning(
            "Phone index sync of %s stopped after %d pages; %s",
            tenant,
            pages,
            "it resumes from the newest contact seen"
            if in_order
            else "contacts are not listed in update order, so the next sync starts over",
        )
    _record_sync_success(connection, synced_until=synced_until, now=now)
    return SyncReport(
        tenant_id=tenant.pk,
        contacts_seen=seen,
        added=changes.added,
        updated=changes.updated,
        removed=changes.removed,
        freshdesk_calls=pages,
        synced_from=since,
        synced_until=synced_until,
        complete=complete,
    )


def phone_index_sync_due(now: datetime) -> list[Tenant]:
    """Active tenants with a Freshdesk connection whose index was last synced over `SCREENPOP_INDEX_SYNC_SECONDS`
    ago (or never), least recently synced first. A connection whose last error is more recent than that waits the
    interval out too, so a broken account is retried once per interval rather than on every tick."""
    cutoff = now - timedelta(seconds=settings.SCREENPOP_INDEX_SYNC_SECONDS)
    return list(
        Tenant.objects.filter(active=True, freshdesk__isnull=False)
        .filter(Q(freshdesk__index_synced_at__isnull=True) | Q(freshdesk__index_synced_at__lt=cutoff))
        .filter(Q(freshdesk__last_error_at__isnull=True) | Q(freshdesk__last_error_at__lt=cutoff))
        .select_related("freshdesk")
        .order_by(F("freshdesk__index_synced_at").asc(nulls_first=True), "pk")
    )


def _record_sync_success(connection: FreshdeskConnection, *, synced_until: datetime, now: datetime) -> None:
    updates: dict[str, Any] = {"index_synced_until": synced_until, "index_synced_at": now}
    # Clear only our own earlier failure: another component's error is still news to the admin.
    if connection.last_error.startswith(SYNC_ERROR_PREFIX):
        updates.update(last_error="", last_error_at=None)
    _update_connection(connection, updates)


def _record_sync_failure(
    connection: FreshdeskConnection, error: FreshdeskError, *, synced_until: datetime | None, now: datetime
) -> None:
    logger.warning("Phone index sync of %s failed: %s", connection, error.detail)
    _update_connection(
        connection,
        {"index_synced_until": synced_until, "last_error": f"{SYNC_ERROR_PREFIX}{error.detail}", "last_error_at": now},
    )


def _update_connection(connection: FreshdeskConnection, updates: dict[str, Any]) -> None:
    # A column update, not save(): the admin may be editing the connection (key, plan) at the same moment.
    FreshdeskConnection.objects.filter(pk=connection.pk).update(**updates)
    for name, value in updates.items():
        setattr(connection, name, value)


def _numbers(contact: dict[str, Any], fields: list[str], region: str) -> dict[tuple[str, str], str]:
    """(field, E.164) -> stored value, for each readable number of each match field (a field may hold several)."""
    numbers: dict[tuple[str, str], str] = {}
    for field_name in fields:
        value = stored_value(contact, field_name)
        if value is None:
            continue
        for e164 in stored_numbers(value, default_region=region):
            numbers[(field_name, e164)] = value[:_MAX_STORED_CHARS]
    return numbers


def stored_value(contact: dict[str, Any], field_name: str) -> str | None:
    """A Freshdesk contact's value of match field `field_name`: `phone`/`mobile`, else the custom field of that
    name; None when empty or not text."""
    if field_name in ("phone", "mobile"):
        value = contact.get(field_name)
    else:
        value = (contact.get("custom_fields") or {}).get(field_name)
    return value if isinstance(value, str) and value else None


def phone_index_refresh_due(*, owner: str, now: datetime | None = None) -> list[SyncReport]:
    """Sync every tenant whose index is due, each by one process only (a lock in the shared cache), for the
    periodic refresh inside the server. A tenant's failure is recorded on its connection and does not stop others."""
    reports = []
    for tenant in phone_index_sync_due(now or timezone.now()):
        lock = f"phone-index-sync:{tenant.pk}"
        if not cache.add(lock, owner, timeout=max(30, settings.SCREENPOP_INDEX_SYNC_SECONDS)):
            continue  # another process has it (or had it within the interval)
        try:
            reports.append(phone_index_sync(tenant=tenant))
        except FreshdeskError:
            logger.warning("Phone index sync of tenant %s failed; retried next interval", tenant.pk)
    return reports
