"""Request and response shapes of the public API, for validation docs and the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

GENESYS_REQUEST_TEMPLATE = (
    '{"conversation_id": "$esc.jsonString(${input.conversationId})", '
    '"phone_number": "$esc.jsonString(${input.ani})", '
    '"event_type": "INBOUND_CALL_START", '
    '"timestamp": "$esc.jsonString(${input.eventTime})", '
    '"queue_id": "$esc.jsonString(${input.queueId})", '
    '"media_type": "$esc.jsonString(${input.mediaType})", '
    '"direction": "$esc.jsonString(${input.direction})", '
    '"participant_id": "$esc.jsonString($!{input.participantId})"}'
)

# The wrap-up's data action (the acw trigger's workflow): every optional field with `$!{}`, which prints nothing for
# a value Genesys does not have, so only the two ids can be unresolved (and are refused with 422 naming them).
GENESYS_WRAPUP_REQUEST_TEMPLATE = (
    '{"event_type": "CALL_WRAPUP", '
    '"conversation_id": "$esc.jsonString(${input.conversationId})", '
    '"user_id": "$esc.jsonString(${input.userId})", '
    '"participant_id": "$esc.jsonString($!{input.participantId})", '
    '"queue_id": "$esc.jsonString($!{input.queueId})", '
    '"wrapup_code": "$esc.jsonString($!{input.wrapupCode})", '
    '"wrapup_notes": "$esc.jsonString($!{input.wrapupNotes})", '
    '"wrapup_duration_ms": "$esc.jsonString($!{input.wrapupDurationMs})", '
    '"media_type": "$esc.jsonString($!{input.mediaType})", '
    '"direction": "$esc.jsonString($!{input.direction})", '
    '"phone_number": "$esc.jsonString($!{input.ani})", '
    '"timestamp": "$esc.jsonString($!{input.eventTime})"}'
)


class GenesysEventSerializer(serializers.Serializer):
    conversation_id = serializers.CharField(help_text="The Genesys conversation id (required).")
    phone_number = serializers.CharField(help_text="The caller's ANI, e.g. tel:+15551234567 (required).")
    event_type = serializers.CharField(required=False, help_text="INBOUND_CALL_START; anything else is ignored.")
    timestamp = serializers.CharField(required=False, help_text="ISO 8601.")
    queue_id = serializers.CharField(required=False, help_text="Checked against the tenant's queue filters.")
    media_type = serializers.CharField(required=False, help_text="VOICE; other media are ignored.")
    direction = serializers.CharField(required=False, help_text="INBOUND; outbound calls are ignored.")
    call_id = serializers.CharField(required=False)
    participant_id = serializers.CharField(required=False)
    contact_name = serializers.CharField(required=False)


class GenesysWrapUpSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=["CALL_WRAPUP"], help_text="CALL_WRAPUP: an agent's wrap-up.")
    conversation_id = serializers.CharField(help_text="The Genesys conversation id (required).")
    user_id = serializers.CharField(help_text="The Genesys id of the agent who wrapped up (required).")
    participant_id = serializers.CharField(required=False)
    queue_id = serializers.CharField(required=False, help_text="Checked against the tenant's queue filters.")
    wrapup_code = serializers.CharField(required=False, help_text="The wrap-up code's id (or name).")
    wrapup_notes = serializers.CharField(required=False, help_text="At most 4,000 characters are kept.")
    wrapup_duration_ms = serializers.CharField(required=False, help_text="Whole milliseconds, as a number or text.")
    media_type = serializers.CharField(required=False, help_text="VOICE; other media are ignored.")
    direction = serializers.CharField(required=False, help_text="INBOUND or OUTBOUND.")
    phone_number = serializers.CharField(required=False, help_text="The caller's ANI.")
    timestamp = serializers.CharField(required=False, help_text="ISO 8601 or epoch milliseconds.")


class WebhookReplySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "ignored"])
    pop_id = serializers.IntegerField(required=False)
    wrapup_id = serializers.IntegerField(required=False, help_text="For a wrap-up: the wrap-up recorded.")
    reason = serializers.CharField(required=False)
    field = serializers.CharField(required=False, help_text="Ignored: the field that made the event start no pop.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    value = serializers.JSONField(required=False)


class TicketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    status = serializers.IntegerField()
    status_label = serializers.CharField()
    priority = serializers.IntegerField()
    priority_label = serializers.CharField()
    updated_at = serializers.CharField()
    url = serializers.URLField()


class PopStateSerializer(serializers.Serializer):
    type = serializers.CharField(default="pop.state")
    conversation_id = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "matched", "no_match", "unavailable", "error"])
    phone = serializers.DictField()
    contact = serializers.DictField(allow_null=True)
    contacts = serializers.ListField(child=serializers.DictField())
    tickets = TicketSerializer(many=True)
    updated_at = serializers.CharField(allow_null=True)
    detail = serializers.CharField(help_text="For the admin, in English.")
    reason = serializers.CharField(
        help_text="Why the pop is in its state, a code the panel translates: freshdesk_not_answering, "
        "freshdesk_rate_limited, freshdesk_paused, freshdesk_not_connected, freshdesk_key_refused, "
        "freshdesk_not_found, freshdesk_refused, number_anonymous, number_withheld, number_unusable, no_contact, "
        "waiting_for_call_event, call_queue_not_watched, call_not_inbound_voice, call_refused; empty otherwise."
    )
    retrying = serializers.BooleanField(help_text="The lookup is tried again without anyone asking.")
    retry_until = serializers.CharField(allow_null=True, help_text="Until when `retrying` holds.")
    link = serializers.DictField(
        allow_null=True, required=False, help_text="The ticket an agent linked the call to: ticket_id, subject, ..."
    )
    suggested_link = serializers.DictField(
        allow_null=True, required=False, help_text="The number's newest link on another call, offered first."
    )
