"""The webhook's rules: who sent each request, and whether it is accepted, a duplicate, ignored or refused, and why.

Pure decisions over what the database said; both backends' batch writers use them (`screenpop.storage`). For each
submission, in order: authenticate (bearer token, or HMAC signature) -> 401/403; validation error -> 422; not an
inbound voice call start, or a queue outside the tenant's filters -> 200 ignored; otherwise it is a pop candidate:
the first submission that creates the pop of its (tenant, conversation) is accepted (202), every other one is a
duplicate (200) naming the pop (`CANDIDATE_OUTCOMES`, which PostgreSQL's one-statement batch applies too).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from screenpop.models import EventLog, Tenant
from screenpop.webhook.intake import Submission
from screenpop.webhook.signing import signature_problem


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    new_pop_id: int | None = None
    tenant_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class TokenOwner(NamedTuple):
    """What a bearer token's row says about who holds it."""

    expires: datetime
    tenant_id: int | None
    client_active: bool
    tenant_active: bool


@dataclass
class Principal:
    tenant_id: int | None = None
    problem: Reply | None = None


# A pop candidate's outcome, by whether this submission created the pop (the first of its batch for a new pop).
CANDIDATE_OUTCOMES: dict[bool, tuple[str, int]] = {
    True: (EventLog.Outcome.ACCEPTED.value, 202),
    False: (EventLog.Outcome.DUPLICATE.value, 200),
}


def unauthorized(detail: str) -> Reply:
    return Reply(
        401,
        {"error": "not_authenticated", "detail": detail},
        headers={"www-authenticate": 'Bearer realm="screenpop", error="invalid_token"'},
    )


def _forbidden(detail: str, tenant_id: int | None) -> Reply:
    return Reply(403, {"error": "permission_denied", "detail": detail}, tenant_id=tenant_id)


def token_checksum(token: str) -> str:
    """How a bearer token is stored and looked up (django-oauth-toolkit's `token_checksum`)."""
    return hashlib.sha256(token.encode()).hexdigest()


def checksums(submissions: list[Submission]) -> dict[str, str]:
    """Bearer token -> its checksum; a batch's requests mostly share one token."""
    return {bearer: token_checksum(bearer) for bearer in {s.bearer for s in submissions if s.bearer}}


def signer_org_ids(submissions: list[Submission]) -> set[str]:
    return {s.signed.org_id for s in submissions if s.signed and not s.bearer}


def principals_resolve(
    submissions: list[Submission],
    now: datetime,
    checksum_of: dict[str, str],
    tokens: dict[str, TokenOwner],
    signers: dict[str, Tenant],
) -> list[Principal]:
    """Who sent each submission, from the token owners and signing tenants the database gave."""
    principals = []
    wall_clock = time.time()
    for submission in submissions:
        if submission.bearer:
            owner = tokens.get(checksum_of[submission.bearer])
            if owner is None or owner.tenant_id is None:
                principals.append(Principal(problem=unauthorized("The bearer token is not valid.")))
            elif not owner.expires > now:
                principals.append(Principal(problem=unauthorized("The bearer token has expired; get a new one.")))
            else:
                problem = None
                if not owner.client_active:
                    problem = _forbidden(
                        "This webhook client was revoked. Issue a new one in the admin.", owner.tenant_id
                    )
                elif not owner.tenant_active:
                    problem = _forbidden("This tenant is inactive.", owner.tenant_id)
                principals.append(Principal(tenant_id=owner.tenant_id, problem=problem))
        elif submission.signed:
            tenant = signers.get(submission.signed.org_id)
            if tenant is None or not tenant.webhook_signing_secret:
                principals.append(Principal(problem=unauthorized("No signing key for this organisation.")))
                continue
            problem = signature_problem(
                submission.signed, key=tenant.webhook_signing_secret, body=submission.body, now=wall_clock
            )
            if problem:
                principals.append(Principal(problem=unauthorized(problem)))
            elif not tenant.active:
                principals.append(
                    Principal(tenant_id=tenant.pk, problem=_forbidden("This tenant is inactive.", tenant.pk))
                )
            else:
                principals.append(Principal(tenant_id=tenant.pk))
        else:
            principals.append(
                Principal(problem=unauthorized("Send 'Authorization: Bearer <token>' from /oauth/token/."))
            )
    return principals


def filtered_tenants(principals: list[Principal]) -> list[int]:
    """The tenants whose queue filters the batch needs (those of the authenticated submissions)."""
    return sorted({p.tenant_id for p in principals if p.tenant_id and not p.problem})


@dataclass
class Decisions:
    """A reply for every submission that has one before the pops are written (None for a pop candidate), and the
    first submission of each (tenant, conversation) candidate: the one that creates its pop if it is new."""

    principals: list[Principal]
    replies: list[Reply | None]
    candidates: dict[tuple[int, str], int]

    def creates(self, index: int, key: tuple[int, str]) -> bool:
        """Is submission `index` the one that creates the pop of `key` (when the pop is new)?"""
        return self.replies[index] is None and self.candidates.get(key) == index


def ignored_reply(event: Any, tenant_id: int, filters: dict[int, frozenset[str]]) -> Reply | None:
    """200 ignored, with why, for an event (a call start or a wrap-up) that is not a voice call of this kind, or whose
    queue is outside the tenant's filters (none: every queue); None when it counts."""
    ignored = event.ignore_reason()
    queues = filters.get(tenant_id)
    if ignored is None and queues and event.queue_id not in queues:
        ignored = "queue_id", f"queue {event.queue_id or '(none sent)'} is not among this tenant's queue filters"
    if ignored is None:
        return None
    # The field goes to the event log with the reason: the panel of an ignored call explains it from there.
    field, reason = ignored
    return Reply(200, {"status": "ignored", "reason": reason, "field": field}, tenant_id=tenant_id)


def decide(submissions: list[Submission], principals: list[Principal], filters: dict[int, frozenset[str]]) -> Decisions:
    """Every submission's reply that does not depend on the pops already there, and the pop candidates."""
    replies: list[Reply | None] = []
    candidates: dict[tuple[int, str], int] = {}
    for index, (submission, principal) in enumerate(zip(submissions, principals, strict=True)):
        if principal.problem:
            replies.append(principal.problem)
            continue
        if submission.error is not None:
            replies.append(Reply(422, submission.error.as_body(), tenant_id=principal.tenant_id))
            continue
        event = submission.event
        assert event is not None
        ignored = ignored_reply(event, principal.tenant_id, filters)
        if ignored is not None:
            replies.append(ignored)
            continue
        replies.append(None)
        candidates.setdefault((principal.tenant_id, event.conversation_id), index)
    return Decisions(principals, replies, candidates)


def final_replies(
    decisions: Decisions,
    submissions: list[Submission],
    created: dict[tuple[int, str], int],
    existing: dict[tuple[int, str], int],
) -> list[Reply]:
    """Every submission's reply once the pops are written: `created` and `existing` map (tenant, conversation) to
    the pop this batch created and to the one that was already there."""
    final: list[Reply] = []
    for index, (submission, principal, reply) in enumerate(
        zip(submissions, decisions.principals, decisions.replies, strict=True)
    ):
        if reply is None:
            key = (principal.tenant_id, submission.event.conversation_id)
            created_here = key in created and decisions.candidates[key] == index
            _, status = CANDIDATE_OUTCOMES[created_here]
            if created_here:
                reply = Reply(status, {"status": "accepted", "pop_id": created[key]}, created[key], principal.tenant_id)
            else:
                pop_id = created.get(key) or existing[key]
                reply = Reply(status, {"status": "duplicate", "pop_id": pop_id}, tenant_id=principal.tenant_id)
        final.append(reply)
    return final


def outcome_of(reply: Reply) -> str:
    """The event log's outcome of a reply."""
    if reply.status == 401:
        return EventLog.Outcome.UNAUTHORIZED
    if reply.status == 403:
        return EventLog.Outcome.FORBIDDEN
    if reply.status >= 400:
        return EventLog.Outcome.REJECTED
    if reply.body.get("status") == "ignored":
        return EventLog.Outcome.IGNORED
    return CANDIDATE_OUTCOMES[reply.status == 202][0]
