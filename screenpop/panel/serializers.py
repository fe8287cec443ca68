"""Request and response shapes of the panel's API (validation and the OpenAPI schema)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

from screenpop.api.serializers import PopStateSerializer, TicketSerializer

# RFC 6750's b64token: what an `Authorization: Bearer` header can carry (anything else cannot be sent to Genesys).
BEARER_TOKEN = RegexValidator(
    r"^[A-Za-z0-9\-._~+/]+=*\Z", "Not a Genesys access token: sign in with Genesys Cloud again.", "invalid"
)


class PanelSessionRequestSerializer(serializers.Serializer):
    conversation_id = serializers.CharField(max_length=64, help_text="The Genesys conversation the panel shows.")
    environment = serializers.CharField(
        max_length=200, help_text="The Genesys environment: `mypurecloud.ie`, or a discovery name such as `prod-euw1`."
    )
    genesys_token = serializers.CharField(
        required=False,
        max_length=4096,
        validators=[BEARER_TOKEN],
        help_text="The agent's Genesys access token (implicit grant).",
    )
    code = serializers.CharField(required=False, max_length=2048, help_text="PKCE: the authorization code.")
    code_verifier = serializers.CharField(required=False, min_length=43, max_length=128, help_text="PKCE verifier.")
    client_id = serializers.CharField(required=False, max_length=64, help_text="PKCE: the panel's OAuth client id.")


class PanelSessionSerializer(serializers.Serializer):
    panel_token = serializers.CharField(
        help_text="`Authorization: Bearer` for the pop API; the socket's `screenpop.token.<panel token>` subprotocol."
    )
    expires_in = serializers.IntegerField(help_text="Seconds; the panel renews the session before then.")
    tenant = serializers.DictField()
    agent = serializers.DictField()
    freshdesk_origin = serializers.CharField(allow_null=True, help_text="Ticket links must be on this origin.")
    genesys_token = serializers.CharField(required=False, help_text="Only after a PKCE exchange.")
    genesys_expires_in = serializers.IntegerField(required=False)


class TicketCreateRequestSerializer(serializers.Serializer):
    subject = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text='Default "Call from <number>".'
    )


class TicketCreatedSerializer(PopStateSerializer):
    ticket = TicketSerializer()


class LinkRequestSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField(min_value=1, help_text="The Freshdesk ticket this call is about.")


class SearchRequestSerializer(serializers.Serializer):
    query = serializers.CharField(
        max_length=200, trim_whitespace=True, help_text="A ticket number, a requester's email, or a name's start."
    )


class SearchResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["number", "email", "name"])
    tickets = TicketSerializer(many=True)


class LinkedTicketCreateRequestSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255, trim_whitespace=True)
    contact_id = serializers.IntegerField(
        required=False, min_value=1, help_text="The requester, among the contacts shown; default the first."
    )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=5000)


class DialRequestSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The number to call, as the contact has it.")
    genesys_token = serializers.CharField(
        max_length=4096, validators=[BEARER_TOKEN], help_text="The agent's Genesys access token (the panel's login)."
    )


class DialSerializer(serializers.Serializer):
    conversation_id = serializers.CharField(help_text="The new outbound call's conversation; its pop is started.")


class TicketsPageRequestSerializer(serializers.Serializer):
    contact = serializers.IntegerField(min_value=1, help_text="A Freshdesk contact the call's panel shows.")
    offset = serializers.IntegerField(min_value=0, max_value=1000, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class TicketsPageSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    tickets = TicketSerializer(many=True)
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True, help_text="null: the page is exhausted.")
    count = serializers.IntegerField(help_text="Tickets in the contact's ranked page.")
    beyond = serializers.BooleanField(help_text="Freshdesk holds more than the page: the rest is in Freshdesk.")
