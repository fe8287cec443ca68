"""The DRF edges of the public API: they translate HTTP to services and back, nothing more."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenpop.api.serializers import (
    GENESYS_REQUEST_TEMPLATE,
    GENESYS_WRAPUP_REQUEST_TEMPLATE,
    ErrorSerializer,
    GenesysEventSerializer,
    GenesysWrapUpSerializer,
    PopStateSerializer,
    WebhookReplySerializer,
)
from screenpop.errors import ScreenpopError
from screenpop.lookup.runner import runner
from screenpop.panel_tokens import panel_grant_of
from screenpop.pops.selectors import pop_state_explained, pop_state_for
from screenpop.pops.services import pop_retry_request
from screenpop.process import process_identity
from screenpop.storage.webhook import events_record
from screenpop.text import json_body, logged_text
from screenpop.ticket_updates import (
    freshdesk_webhook_authenticate,
    ticket_id_from_payload,
    ticket_update_apply,
    ticket_update_record,
)
from screenpop.webhook.endpoint import too_large
from screenpop.webhook.intake import submission_from_request


class RawJSONParser(BaseParser):
    """Hands the raw bytes to the service, which validates them itself (the fast path does the same)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:  # type: ignore[no-untyped-def]
        return stream.read(settings.SCREENPOP_WEBHOOK_MAX_BYTES + 1)


def _raw_body(request: Request) -> bytes:
    """The body `RawJSONParser` read; DRF hands an empty body to no parser and gives an empty dict instead."""
    data = request.data
    return data if isinstance(data, bytes) else b""


class GenesysEventsView(APIView):
    """The webhook where Django itself serves the URL (`manage.py runserver`, Django's test client), and its schema.

    Under screenpop's ASGI server the fast path (`screenpop.webhook.endpoint`) answers this URL before Django sees
    it; both take the same submission (`intake`), the same rules and the same storage, one request at a time here.
    """

    parser_classes = [RawJSONParser]

    @extend_schema(
        operation_id="genesys_event",
        summary="Receive an inbound-call start or a wrap-up from the Genesys data actions",
        description=(
            "Authenticate with `Authorization: Bearer <token>` from `/oauth/token/` (client credentials; in Genesys "
            "a *User Defined (OAuth)* credential), or sign with HMAC-SHA256 (`X-Screenpop-Org`, "
            "`X-Screenpop-Timestamp`, `X-Screenpop-Signature: v1=<hex>` over `timestamp + '.' + body`). "
            "The body is at most 64 KB. Request template to paste into the data action:\n\n"
            f"```\n{GENESYS_REQUEST_TEMPLATE}\n```\n\n"
            "A wrap-up (the second data action, on the `acw` trigger) has `event_type` CALL_WRAPUP:\n\n"
            f"```\n{GENESYS_WRAPUP_REQUEST_TEMPLATE}\n```"
        ),
        request=PolymorphicProxySerializer(
            component_name="GenesysWebhookRequest",
            serializers=[GenesysEventSerializer, GenesysWrapUpSerializer],
            resource_type_field_name=None,
        ),
        responses={
            202: OpenApiResponse(WebhookReplySerializer, description="Accepted: the lookup runs in the background."),
            200: OpenApiResponse(WebhookReplySerializer, description="Duplicate or ignored (with the reason)."),
            401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
            403: OpenApiResponse(ErrorSerializer, description="The client was revoked or the tenant is inactive."),
            413: OpenApiResponse(ErrorSerializer, description="Body over 64 KB."),
            415: OpenApiResponse(ErrorSerializer, description="Not JSON."),
            422: OpenApiResponse(ErrorSerializer, description="A field is missing or was not resolved by Genesys."),
        },
        examples=[
            OpenApiExample(
                "Inbound call",
                value={
                    "conversation_id": "6f0d8a3e-2b6c-4a53-9d7e-1c2b3a4d5e6f",
                    "phone_number": "tel:+15550199999",
                    "event_type": "INBOUND_CALL_START",
                    "timestamp": "2026-11-28T12:00:00Z",
                    "queue_id": "b1c2d3e4-0000-4000-8000-000000000001",
                    "media_type": "VOICE",
                    "direction": "INBOUND",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Wrap-up",
                value={
                    "event_type": "CALL_WRAPUP",
                    "conversation_id": "6f0d8a3e-2b6c-4a53-9d7e-1c2b3a4d5e6f",
                    "user_id": "0b000000-0000-4000-8000-000000000001",
                    "queue_id": "b1c2d3e4-0000-4000-8000-000000000001",
                    "wrapup_code": "0d000000-0000-4000-8000-000000000011",
                    "wrapup_notes": "Reset the router",
                    "wrapup_duration_ms": "12000",
                    "media_type": "VOICE",
                    "direction": "INBOUND",
                    "phone_number": "tel:+15550199999",
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = _raw_body(request)
        limit = settings.SCREENPOP_WEBHOOK_MAX_BYTES
        if len(body) > limit:
            return Response(too_large(limit), status=413)
        headers = {name.lower(): value for name, value in request.headers.items()}
        submission = submission_from_request(body=body, headers=headers)
        (reply,) = events_record([submission], lease_owner=process_identity())
        lookup_runner = runner()
        if reply.new_pop_id is not None and lookup_runner is not None:
            lookup_runner.schedule_threadsafe([(reply.new_pop_id, reply.tenant_id)])
        return Response(reply.body, status=reply.status, headers=reply.headers)


class PopStateView(APIView):
    @extend_schema(
        operation_id="pop_state",
        summary="The panel state of a conversation (the WebSocket's fallback)",
        description=(
            "`Authorization: Bearer <panel token>`; the token is bound to this conversation. For a conversation "
            "without a pop, `reason` says why from the event log: `call_queue_not_watched` or "
            "`call_not_inbound_voice` (its call event was ignored), `call_refused` (the tenant is inactive or its "
            "webhook client revoked), else `waiting_for_call_event`."
        ),
        responses={200: PopStateSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        grant = panel_grant_of(request.headers.get("Authorization", ""), conversation_id=conversation_id)
        return Response(pop_state_explained(tenant_id=grant.tenant_id, conversation_id=conversation_id))


class PopRetryView(APIView):
    @extend_schema(
        operation_id="pop_retry",
        summary="Look the caller up again after 'unavailable' or 'error'",
        request=None,
        responses={202: PopStateSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        grant = panel_grant_of(request.headers.get("Authorization", ""), conversation_id=conversation_id)
        claimed = pop_retry_request(
            tenant_id=grant.tenant_id, conversation_id=conversation_id, owner=process_identity()
        )
        if claimed is None:
            raise ScreenpopError(
                "Only a pop that is 'unavailable' or in 'error' can be retried.", code="not_retryable"
            ).with_status(409)
        lookup_runner = runner()
        if lookup_runner is not None:
            lookup_runner.schedule_threadsafe([claimed])
        return Response(pop_state_for(tenant_id=grant.tenant_id, conversation_id=conversation_id), status=202)


def _basic_password(request: Request) -> str | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


class FreshdeskEventsView(APIView):
    parser_classes = [RawJSONParser]

    @extend_schema(
        operation_id="freshdesk_ticket_event",
        summary="Receive Freshdesk's 'Trigger webhook' for a created or updated ticket",
        description=(
            "Point a Freshdesk automation rule (ticket creation and ticket updates) at the URL shown on the tenant in "
            "the admin. Authenticate with Basic auth (any user name, the tenant's webhook secret as password) or the "
            "`X-Screenpop-Secret` header. Simple mode (`freshdesk_webhook.ticket_id` ticked) or an advanced JSON "
            'body with `"ticket_id": "{{ticket.id}}"`. Safe to deliver more than once, in any order.'
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: None, 401: ErrorSerializer, 413: ErrorSerializer, 415: ErrorSerializer, 422: ErrorSerializer},
    )
    def post(self, request: Request, url_token: str) -> Response:
        try:
            tenant = freshdesk_webhook_authenticate(
                url_token=url_token,
                basic_password=_basic_password(request),
                header_secret=request.headers.get("X-Screenpop-Secret"),
            )
        except ScreenpopError as error:
            ticket_update_record(tenant=None, status_code=401, outcome="unauthorized", reason=error.detail, payload={})
            raise
        raw = _raw_body(request)
        try:
            limit = settings.SCREENPOP_WEBHOOK_MAX_BYTES
            if len(raw) > limit:
                raise ScreenpopError(too_large(limit)["detail"], code="too_large").with_status(413)
            payload = json_body(raw)
            outcome = ticket_update_apply(tenant=tenant, ticket_id=ticket_id_from_payload(payload))
        except ScreenpopError as error:
            ticket_update_record(
                tenant=tenant, status_code=error.status_code, outcome="rejected" if error.status_code < 500 else
                "failed", reason=error.detail, payload={"raw": logged_text(raw[:2000])},
            )  # fmt: skip
            raise
        ticket_update_record(
            tenant=tenant,
            status_code=200,
            outcome="accepted" if outcome.status == "updated" else "ignored",
            reason=f"ticket {outcome.ticket_id}: {outcome.status} ({outcome.panels_updated} panel(s) updated)",
            payload=payload,
        )
        return Response({"status": outcome.status, "ticket_id": outcome.ticket_id, "panels": outcome.panels_updated})
