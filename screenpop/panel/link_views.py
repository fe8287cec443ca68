"""The panel API of linking the call and the agent's notes (`screenpop.panel.linking`), each authenticated by the
panel token (`Authorization: Bearer`), which binds the request to one tenant, conversation and agent:

- `PUT /api/v1/pops/<conversation_id>/link` `{"ticket_id"}`: link the call; every panel on it receives the state.
- `POST /api/v1/pops/<conversation_id>/search` `{"query"}`: tickets by number, email or name (a POST: emails and
  names stay out of URLs, which end up in logs).
- `POST /api/v1/pops/<conversation_id>/link/ticket` `{"subject", "contact_id"?}`: create a ticket and link to it.
- `GET|PUT /api/v1/pops/<conversation_id>/note` `{"text"}`: the agent's own note about the call.
- `POST /api/v1/pops/<conversation_id>/dial` `{"number", "genesys_token"}`: call a number from the agent's phone;
  the new call pops like an inbound one (`screenpop.panel.dial`).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenpop.api.serializers import ErrorSerializer, PopStateSerializer
from screenpop.panel.dial import panel_dial
from screenpop.panel.linking import (
    panel_link_set,
    panel_linked_ticket_create,
    panel_note_of,
    panel_note_set,
    panel_ticket_search,
)
from screenpop.panel.serializers import (
    DialRequestSerializer,
    DialSerializer,
    LinkedTicketCreateRequestSerializer,
    LinkRequestSerializer,
    NoteSerializer,
    SearchRequestSerializer,
    SearchResultSerializer,
    TicketCreatedSerializer,
)
from screenpop.panel.views import validated
from screenpop.panel_tokens import PanelGrant, panel_grant_of
from screenpop.pops.selectors import pop_state_for

ERRORS = {status: ErrorSerializer for status in (401, 403, 404, 409, 422, 424, 429)}
NO_STORE = {"Cache-Control": "no-store"}


def _grant(request: Request, conversation_id: str) -> PanelGrant:
    return panel_grant_of(request.headers.get("Authorization", ""), conversation_id=conversation_id)


class PopLinkView(APIView):
    @extend_schema(
        operation_id="pop_link",
        summary="Link the call to the Freshdesk ticket it is about",
        description=(
            "A ticket the panel shows, the number's last choice or a search result is linked at once; any other id "
            "is checked with Freshdesk first (404 `ticket_not_found`). Every panel of the conversation receives the "
            "state with its `link`. Freshdesk failures: 429 `freshdesk_busy`, 424 `freshdesk_unavailable`."
        ),
        request=LinkRequestSerializer,
        responses={200: PopStateSerializer, **ERRORS},
    )
    def put(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        data = validated(LinkRequestSerializer, request.data)
        panel_link_set(grant=grant, ticket_id=data["ticket_id"])
        return Response(pop_state_for(tenant_id=grant.tenant_id, conversation_id=conversation_id), headers=NO_STORE)


class PopSearchView(APIView):
    @extend_schema(
        operation_id="pop_search",
        summary="Search Freshdesk tickets from the panel",
        description=(
            "`query`: a ticket number (`1234`, `#1234`), a requester's email, or the start of a requester's or a "
            "company's name. Budgeted with the account's other calls: 429 `freshdesk_busy` with Retry-After when "
            "the minute's budget is spent."
        ),
        request=SearchRequestSerializer,
        responses={200: SearchResultSerializer, **ERRORS},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        data = validated(SearchRequestSerializer, request.data)
        outcome = panel_ticket_search(grant=grant, query=data["query"])
        return Response({"kind": outcome.kind, "tickets": outcome.tickets}, headers=NO_STORE)


class PopLinkedTicketView(APIView):
    @extend_schema(
        operation_id="pop_linked_ticket_create",
        summary="Create a phone ticket for the caller and link the call to it",
        request=LinkedTicketCreateRequestSerializer,
        responses={201: TicketCreatedSerializer, **ERRORS},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        data = validated(LinkedTicketCreateRequestSerializer, request.data)
        ticket = panel_linked_ticket_create(grant=grant, subject=data["subject"], contact_id=data.get("contact_id"))
        state = pop_state_for(tenant_id=grant.tenant_id, conversation_id=conversation_id)
        return Response({**state, "ticket": ticket}, status=201, headers=NO_STORE)


class PopNoteView(APIView):
    @extend_schema(
        operation_id="pop_note",
        summary="The agent's own note about the call",
        responses={200: NoteSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        return Response({"text": panel_note_of(grant=grant)}, headers=NO_STORE)

    @extend_schema(
        operation_id="pop_note_save",
        summary="Save the agent's note about the call (wrap-up writes it on the linked ticket)",
        request=NoteSerializer,
        responses={200: NoteSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 422: ErrorSerializer},
    )
    def put(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        data = validated(NoteSerializer, request.data)
        panel_note_set(grant=grant, text=data["text"])
        return Response({"text": data["text"]}, headers=NO_STORE)


class PopDialView(APIView):
    @extend_schema(
        operation_id="pop_dial",
        summary="Call a number from the agent's phone (click-to-dial); the call pops like an inbound one",
        request=DialRequestSerializer,
        responses={201: DialSerializer, **ERRORS},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        grant = _grant(request, conversation_id)
        data = validated(DialRequestSerializer, request.data)
        placed = panel_dial(grant=grant, number=data["number"], genesys_token=data["genesys_token"])
        return Response({"conversation_id": placed}, status=201, headers=NO_STORE)
