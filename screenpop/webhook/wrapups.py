"""The webhook's wrap-ups (`event_type` CALL_WRAPUP): authenticated and validated like a call start, then recorded as
a `CallWrapUp` of their own, one per (tenant, conversation, agent), with their event-log rows, in one transaction.

Wrap-ups come once per call, like call starts, but never in a storm of their own at ring time, so they take the
database thread (Django's connection) instead of the call starts' tuned one-statement batch writers: the call starts
of a batch still take those. Replies: 202 `{"status": "accepted", "wrapup_id"}` for a new wrap-up, 200
`{"status": "duplicate", "wrapup_id"}` for a re-delivery, 200 ignored (not a voice call, or a queue outside the
tenant's filters: such a call never popped), 401/403/422 as for a call start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from screenpop.models import CallWrapUp, EventLog, Tenant
from screenpop.storage.transactions import write_transaction
from screenpop.storage.webhook_reads import answer
from screenpop.storage.wrapups import webhook_read, wrapups_insert
from screenpop.webhook.batch import Read, callers_resolve, plan_run
from screenpop.webhook.event_log import event_values
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply, ignored_reply, signer_org_ids


def _read(read: Read) -> dict[Any, Any]:
    return answer(read, webhook_read(read.kind, read.keys))


def _event_time(timestamp: str, fallback: datetime) -> datetime:
    if not timestamp:
        return fallback
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def wrapups_record(submissions: list[Submission]) -> list[Reply]:
    """Decide and durably record wrap-up submissions (each has `wrapup`); one reply per submission, in order.
    Runs in a database thread; raises only on a database failure."""
    org_ids = signer_org_ids(submissions)
    signers = {t.genesys_org_id: t for t in Tenant.objects.filter(genesys_org_id__in=org_ids)} if org_ids else {}
    now = submissions[0].received_at
    principals, filters = plan_run(callers_resolve(submissions, signers=signers), _read)
    replies: list[Reply | None] = []
    rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    for submission, principal in zip(submissions, principals, strict=True):
        wrapup = submission.wrapup
        assert wrapup is not None
        if principal.problem:
            replies.append(principal.problem)
            continue
        ignored = ignored_reply(wrapup, principal.tenant_id, filters)
        if ignored is not None:
            replies.append(ignored)
            continue
        replies.append(None)
        key = (principal.tenant_id, wrapup.conversation_id, wrapup.user_id)
        rows.setdefault(
            key,
            {
                "tenant_id": principal.tenant_id,
                "conversation_id": wrapup.conversation_id,
                "user_id": wrapup.user_id,
                "participant_id": wrapup.participant_id[:64],
                "queue_id": wrapup.queue_id[:64],
                "wrapup_code": wrapup.wrapup_code[:255],
                "wrapup_notes": wrapup.wrapup_notes,
                "wrapup_duration_ms": wrapup.wrapup_duration_ms,
                "direction": wrapup.direction[:16],
                "phone_raw": wrapup.phone_number[:255],
                "event_time": _event_time(wrapup.timestamp, submission.received_at),
                "received_at": submission.received_at,
                "state": CallWrapUp.State.PENDING.value,
                "updated_at": now,
            },
        )
    with write_transaction():
        ids = wrapups_insert(list(rows.values()))
        first_seen: set[tuple[int, str, str]] = set()
        final: list[Reply] = []
        for submission, principal, reply in zip(submissions, principals, replies, strict=True):
            if reply is None:
                key = (principal.tenant_id, submission.wrapup.conversation_id, submission.wrapup.user_id)
                wrapup_id, created = ids[key]
                if created and key not in first_seen:
                    first_seen.add(key)
                    reply = Reply(202, {"status": "accepted", "wrapup_id": wrapup_id}, tenant_id=principal.tenant_id)
                else:
                    reply = Reply(200, {"status": "duplicate", "wrapup_id": wrapup_id}, tenant_id=principal.tenant_id)
            final.append(reply)
        EventLog.objects.bulk_create(
            EventLog(**event_values(submission, reply, reply.tenant_id))
            for submission, reply in zip(submissions, final, strict=True)
        )
    return final
