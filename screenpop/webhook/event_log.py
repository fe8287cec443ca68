"""What the event log keeps of each webhook request: its outcome, why, and the event as received.

Every submission leaves one row, so the admin can see every event and why it was accepted, ignored or refused.
"""

from __future__ import annotations

import json
from typing import Any

from screenpop.models import EventLog
from screenpop.text import logged_text, storable
from screenpop.webhook.intake import Submission
from screenpop.webhook.rules import Reply, outcome_of

MAX_LOGGED_BODY = 8 * 1024
_GENESYS = EventLog.Source.GENESYS.value


def event_values(submission: Submission, reply: Reply | None, tenant_id: int | None) -> dict[str, Any]:
    """The event-log row of a submission, by field attribute name. `reply` None: a pop candidate, whose outcome and
    status the batch writer fills in once it knows whether the pop is new (`rules.CANDIDATE_OUTCOMES`)."""
    event = submission.event
    if reply is None:
        outcome = status = None
        reason = field_name = ""
    else:
        body = reply.body
        outcome, status = outcome_of(reply), reply.status
        reason, field_name = body.get("reason") or body.get("detail") or "", body.get("field") or ""
    if submission.wrapup is not None:
        wrapup = submission.wrapup
        conversation_id, phone, event_type = wrapup.conversation_id, wrapup.phone_number[:255], wrapup.event_type[:64]
    elif event is None:
        conversation_id = phone = event_type = ""
    else:
        conversation_id, phone, event_type = event.conversation_id, event.phone_number[:255], event.event_type[:64]
    return {
        "tenant_id": tenant_id,
        "source": _GENESYS,
        "received_at": submission.received_at,
        "outcome": outcome,
        "status_code": status,
        "reason": reason,
        "field": field_name,
        "conversation_id": conversation_id[:64],
        "phone": phone,
        "event_type": event_type,
        "payload": logged_payload(submission),
    }


def logged_payload(submission: Submission) -> dict[str, Any]:
    if submission.event is not None:
        return submission.event.as_record()
    if submission.wrapup is not None:
        return submission.wrapup.as_record()
    # A refused body is logged as received, as text a database can store, parsed only when every value is storable.
    text = logged_text(submission.body[:MAX_LOGGED_BODY])
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return {"raw": text}
    if not storable(parsed):
        return {"raw": text}
    return parsed if isinstance(parsed, dict) else {"body": parsed}
