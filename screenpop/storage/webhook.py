"""A webhook batch recorded from a database thread, through Django's connection of that thread.

The webhook's committer uses it for batches with HMAC-signed requests (their tenants are read through the ORM, which
decrypts the signing secrets) and, on SQLite, when the event loop could not take the write lock at once; the demo
desktop and the DRF view record single requests with it.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from screenpop.models import Tenant
from screenpop.storage.transactions import write_transaction
from screenpop.storage.webhook_postgres import postgresql_record
from screenpop.storage.webhook_sqlite import sqlite_plan, sqlite_write
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply, signer_org_ids


def events_record(submissions: list[Submission], *, lease_owner: str) -> list[Reply]:
    """Decide and durably record a batch; returns one reply per submission, in order. Raises only on DB failure."""
    if not submissions:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    org_ids = signer_org_ids(submissions)
    signers = (
        {tenant.genesys_org_id: tenant for tenant in Tenant.objects.filter(genesys_org_id__in=org_ids)}
        if org_ids
        else {}
    )
    if conn.vendor == "postgresql":
        return postgresql_record(conn, submissions, lease_owner=lease_owner, signers=signers)
    with write_transaction():
        raw = conn.connection
        return sqlite_write(raw, sqlite_plan(raw, submissions, lease_owner=lease_owner, signers=signers))
