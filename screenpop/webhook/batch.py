"""A batch of webhook submissions, planned for one durable write: the reads it needs and the pops it creates.

`batch_plan` is a generator so that every writer runs the same steps whatever its I/O (a database thread, SQLite
from the event loop, PostgreSQL's async connection): it yields each read it needs as a `Read`, is sent the answer,
and returns the `BatchPlan`. Who may call and each tenant's queue filters are remembered for a moment
(`callers`), so most batches need no read at all.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings

from screenpop.models import Pop, Tenant
from screenpop.webhook import callers
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import (
    Decisions,
    Principal,
    Reply,
    checksums,
    decide,
    filtered_tenants,
    final_replies,
    principals_resolve,
)


@dataclass(frozen=True)
class Read:
    """A read the batch needs: the owners of these token checksums (`TokenOwner` by checksum), or these tenants'
    queue filters (frozenset of queue ids by tenant id, empty for a tenant without filters)."""

    kind: Literal["tokens", "queue_filters"]
    keys: list[Any]


@dataclass
class BatchPlan:
    submissions: list[Submission]
    decisions: Decisions
    new_pops: list[dict[str, Any]]  # each new pop's values by field attribute name, in candidate order

    def replies(self, created: dict[tuple[int, str], int], existing: dict[tuple[int, str], int]) -> list[Reply]:
        return final_replies(self.decisions, self.submissions, created, existing)

    def unseen(self, created: dict[tuple[int, str], int], existing: dict[tuple[int, str], int]) -> list:
        """Candidates whose pop neither this write made nor its snapshot saw: another transaction made it and
        committed while this one waited on the unique index."""
        return [key for key in self.decisions.candidates if key not in created and key not in existing]


_PENDING = Pop.State.PENDING.value


def callers_resolve(
    submissions: list[Submission], *, signers: dict[str, Tenant]
) -> Generator[Read, dict[Any, Any], tuple[list[Principal], dict[int, frozenset[str]]]]:
    """Who sent each submission, and the queue filters of their tenants: the reads it needs are yielded (as
    `batch_plan`'s are), those remembered a moment are not."""
    checksum_of = checksums(submissions)
    tokens, missing = callers.tokens.known(sorted(set(checksum_of.values())))
    if missing:
        tokens.update(callers.tokens.remember((yield Read("tokens", missing))))
    principals = principals_resolve(submissions, submissions[0].received_at, checksum_of, tokens, signers)
    filters, missing = callers.queue_filters.known(filtered_tenants(principals))
    if missing:
        filters.update(callers.queue_filters.remember((yield Read("queue_filters", missing))))
    return principals, filters


def batch_plan(
    submissions: list[Submission], *, lease_owner: str, signers: dict[str, Tenant]
) -> Generator[Read, dict[Any, Any], BatchPlan]:
    """Plan the batch; `signers` are the tenants of the HMAC-signed submissions, by organisation id."""
    now = submissions[0].received_at
    principals, filters = yield from callers_resolve(submissions, signers=signers)
    decisions = decide(submissions, principals, filters)
    lease_until = now + timedelta(seconds=settings.SCREENPOP_LEASE_SECONDS)
    new_pops = []
    for (tenant_id, conversation_id), index in decisions.candidates.items():
        event = submissions[index].event
        new_pops.append(
            {
                "tenant_id": tenant_id,
                "conversation_id": conversation_id,
                "phone_raw": event.phone_number,
                "queue_id": event.queue_id,
                "state": _PENDING,
                "received_at": submissions[index].received_at,
                "lease_owner": lease_owner,
                "lease_expires_at": lease_until,
                "updated_at": now,
            }
        )
    return BatchPlan(submissions, decisions, new_pops)


def plan_run(steps: Generator[Read, dict[Any, Any], Any], read: Callable[[Read], dict[Any, Any]]) -> Any:
    """Run `batch_plan`'s (or `callers_resolve`'s) steps with a synchronous `read`."""
    try:
        request = next(steps)
        while True:
            request = steps.send(read(request))
    except StopIteration as done:
        return done.value
