"""Why a pop is in its state, as a machine code the panel translates into the agent's language.

A pop's `detail` is an English sentence for the admin and the logs (it may name a URL or a status code); its
`reason` is one of the codes below, which the panel turns into words (static/screenpop/panel/words.js). A code is
stored with the state it explains, in the same write; the codes of a conversation without a pop come from the event
log (`call_event_reason`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from screenpop.freshdesk.errors import (
    FreshdeskAuthError,
    FreshdeskError,
    FreshdeskNotFound,
    FreshdeskRateLimited,
)

# Freshdesk did not answer in time, answered 5xx, or could not be reached.
FRESHDESK_NOT_ANSWERING = "freshdesk_not_answering"
# The account's per-minute budget is spent (Freshdesk's 429 or our own budget).
FRESHDESK_RATE_LIMITED = "freshdesk_rate_limited"
# The account's circuit breaker is open after several failures in a row.
FRESHDESK_PAUSED = "freshdesk_paused"
# Errors that need an admin.
FRESHDESK_NOT_CONNECTED = "freshdesk_not_connected"
FRESHDESK_KEY_REFUSED = "freshdesk_key_refused"
FRESHDESK_NOT_FOUND = "freshdesk_not_found"
FRESHDESK_REFUSED = "freshdesk_refused"
# No lookup: the network hid the number, or what arrived is not a number.
NUMBER_ANONYMOUS = "number_anonymous"
NUMBER_WITHHELD = "number_withheld"
NUMBER_UNUSABLE = "number_unusable"
NO_CONTACT = "no_contact"
# A conversation without a pop.
WAITING_FOR_CALL_EVENT = "waiting_for_call_event"
CALL_QUEUE_NOT_WATCHED = "call_queue_not_watched"
CALL_NOT_INBOUND_VOICE = "call_not_inbound_voice"
# The webhook refused the event: the tenant is inactive (the app uninstalled) or its webhook client was revoked.
CALL_REFUSED = "call_refused"

# An "unavailable" pop is looked up again while Freshdesk answers and it has had fewer attempts than this: a Freshdesk
# that fails one call in two cannot keep a pop going round for the whole call.
UNAVAILABLE_MAX_ATTEMPTS = 10

# Reasons after which the lookup is tried again without anyone asking.
RETRIED = frozenset({FRESHDESK_NOT_ANSWERING, FRESHDESK_RATE_LIMITED, FRESHDESK_PAUSED})


def reason_of_error(error: FreshdeskError) -> str:
    """The reason code of a lookup that failed with `error`."""
    if isinstance(error, FreshdeskRateLimited):
        return FRESHDESK_RATE_LIMITED
    if isinstance(error, FreshdeskAuthError):
        return FRESHDESK_KEY_REFUSED
    if isinstance(error, FreshdeskNotFound):
        return FRESHDESK_NOT_CONNECTED if error.code == "freshdesk_not_configured" else FRESHDESK_NOT_FOUND
    if error.status_code == 503:  # FreshdeskTransientError and kin: worth trying again
        return FRESHDESK_NOT_ANSWERING
    return FRESHDESK_REFUSED


def reason_of_number(outcome: str) -> str:
    """The reason code of a caller number that cannot be looked up (`phones.CallerNumber.outcome`)."""
    return {"anonymous": NUMBER_ANONYMOUS, "withheld": NUMBER_WITHHELD}.get(outcome, NUMBER_UNUSABLE)


def call_event_reason(outcome: str, field: str) -> str:
    """The reason code of a call whose event the webhook turned away: the event log's `outcome` (ignored because
    of `field`, or forbidden)."""
    if outcome == "forbidden":
        return CALL_REFUSED
    return CALL_QUEUE_NOT_WATCHED if field == "queue_id" else CALL_NOT_INBOUND_VOICE


def unavailable_retry_until(received_at: datetime, attempts: int) -> datetime | None:
    """Until when an "unavailable" pop is looked up again by the sweep (`pops.services.pop_requeue_unavailable`),
    or None when it no longer is."""
    window = settings.SCREENPOP_UNAVAILABLE_RETRY_SECONDS
    if window <= 0 or attempts >= UNAVAILABLE_MAX_ATTEMPTS:
        return None
    return received_at + timedelta(seconds=window)
