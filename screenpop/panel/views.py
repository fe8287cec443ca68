"""The panel's edges: the widget page Genesys frames, the login callback, the JavaScript catalogue, and the panel
API (`POST /api/v1/panel/session`, `POST /api/v1/pops/<conversation_id>/tickets`).

The pages carry no inline script: configuration travels in a `<script type="application/json">` block, which CSP
does not execute. They may be framed by Genesys's `apps.<env>` origins only (`FRAME_ANCESTORS`; plus the demo page
in development); every other page keeps `frame-ancestors 'none'`. The browser talks to this origin only.
"""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE, SELF
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenpop.api.serializers import ErrorSerializer
from screenpop.errors import ScreenpopError, ValidationFailed
from screenpop.panel.context import (
    LANGUAGE_TAG,
    WidgetContext,
    panel_language,
    widget_context_parse,
)
from screenpop.panel.history import panel_tickets_page
from screenpop.panel.linking import panel_link_created
from screenpop.panel.serializers import (
    PanelSessionRequestSerializer,
    PanelSessionSerializer,
    TicketCreatedSerializer,
    TicketCreateRequestSerializer,
    TicketsPageRequestSerializer,
    TicketsPageSerializer,
)
from screenpop.panel.services import panel_session_open, panel_ticket_create
from screenpop.panel_tokens import panel_grant_of
from screenpop.pops.selectors import pop_state_for
from screenpop.validation import genesys_base_url

STORAGE_PREFIX = "screenpop.panel."
# What Genesys's login adds to the redirect URI's query (the implicit grant's token comes in the fragment instead,
# which the server never sees).
LOGIN_CALLBACK_PARAMETERS = frozenset({"code", "state", "error", "error_description"})


def panel_redirect_uri() -> str:
    """The OAuth redirect URI of the panel's client: the widget page itself, at the public address, without a query
    (Genesys compares redirect URIs exactly). The install wizard registers the same `PUBLIC_BASE_URL/widget/`."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('panel-widget')}"


def _frameable(response: HttpResponse, request: HttpRequest, *, styles_nonce: bool = False) -> HttpResponse:
    """Let Genesys frame this response, and let it reach nothing but this origin (HTTP and WebSocket)."""
    socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    response._csp_replace = {  # type: ignore[attr-defined]
        "frame-ancestors": list(settings.FRAME_ANCESTORS),
        "connect-src": [SELF, socket_origin],
        "form-action": [SELF],
    }
    if styles_nonce:
        # Spark's Stencil runtime adds a few <style> elements; it reads the nonce from <meta name="csp-nonce">.
        response._csp_update = {"style-src": [NONCE]}  # type: ignore[attr-defined]
    return response


def _sdk_options(context: WidgetContext, request: HttpRequest) -> dict[str, str]:
    """The Client App SDK's constructor options: Genesys's own parameters when both are known to it; a fixed origin
    for the simulated desktop (which the SDK's environment list does not know)."""
    if context.simulated:
        return {"pcOrigin": context.host_origin or f"{request.scheme}://{request.get_host()}"}
    if context.host_origin and context.target_env_name:
        return {"gcHostOrigin": context.host_origin, "gcTargetEnv": context.target_env_name}
    return {"pcEnvironment": context.environment}


def _widget_config(context: WidgetContext, request: HttpRequest) -> dict[str, Any]:
    conversation = context.conversation_id
    return {
        "conversationId": conversation,
        "environment": context.environment,
        "clientId": context.client_id,
        "grant": context.grant,
        "language": context.language,
        "theme": context.theme,
        "authorizeUrl": f"{genesys_base_url(context.environment, service='login')}/oauth/authorize",
        "redirectUri": panel_redirect_uri(),
        "sdk": _sdk_options(context, request),
        "storagePrefix": STORAGE_PREFIX,
        "urls": {
            "session": reverse("panel-session"),
            "state": reverse("pop-state", args=[conversation]),
            "retry": reverse("pop-retry", args=[conversation]),
            "tickets": reverse("pop-tickets", args=[conversation]),
            "link": reverse("pop-link", args=[conversation]),
            "linkedTicket": reverse("pop-linked-ticket", args=[conversation]),
            "search": reverse("pop-search", args=[conversation]),
            "note": reverse("pop-note", args=[conversation]),
            "dial": reverse("pop-dial", args=[conversation]),
            "socket": f"/ws/pops/{conversation}/",
        },
    }


@xframe_options_exempt
@require_GET
def widget(request: HttpRequest) -> HttpResponse:
    """`/widget/`: the Interaction Widget, and the OAuth redirect URI of its login.

    With the widget URL's query: the panel, or, for an environment outside the allow-list (or a URL without a
    conversation or client id), a 400 page without script, so nothing is sent anywhere (not even a login redirect).
    With only what Genesys's login returns (or nothing: an implicit grant's token is in the fragment): the small
    page that hands the login back to the widget URL named in `state`.
    """
    if set(request.GET) <= LOGIN_CALLBACK_PARAMETERS:
        response = render(request, "screenpop/panel/auth.html", {"widget_path": reverse("panel-widget")})
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        return _frameable(response, request)
    try:
        context = widget_context_parse(request.GET)
    except ScreenpopError as error:
        language = panel_language(request.GET.get("gcLangTag") or request.GET.get("langTag"))
        with translation.override(language):
            response = render(
                request,
                "screenpop/panel/refused.html",
                {"error": error, "language": language},
                status=error.status_code,
            )
        return _frameable(response, request)
    with translation.override(context.language):
        response = render(
            request,
            "screenpop/panel/widget.html",
            {"context": context, "config": _widget_config(context, request), "language": context.language},
        )
    response["Cache-Control"] = "no-store"
    return _frameable(response, request, styles_nonce=True)


_catalog = JavaScriptCatalog.as_view(domain="djangojs", packages=["screenpop"])


@cache_control(max_age=600, public=True)
@require_GET
def javascript_catalog(request: HttpRequest, language: str) -> HttpResponse:
    """`/widget/jsi18n/<language>.js`: the panel's JavaScript strings in the language the widget URL asked for
    (the iframe has no say in Accept-Language or cookies)."""
    chosen = panel_language(language) if LANGUAGE_TAG.match(language) else "en"
    with translation.override(chosen):
        return _catalog(request)


# -- the panel API ------------------------------------------------------------------------------------------------


def validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data if isinstance(data, dict) else {})
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        raise ValidationFailed(f"{field}: {' '.join(str(m) for m in messages)}", field=field)
    return serializer.validated_data


class PanelSessionView(APIView):
    @extend_schema(
        operation_id="panel_session",
        summary="Exchange the agent's Genesys login for a panel token",
        description=(
            "The panel sends the agent's Genesys token (implicit grant), or a PKCE code with its verifier, with the "
            "conversation and environment from the widget URL. The server checks the environment against the "
            "allow-list (400 before any request), asks Genesys who the agent is (`users/me?expand=organization,"
            "token`), maps the organisation to its tenant, and checks the agent is a participant of the "
            "conversation. Errors: 401 `login_required`; 403 `not_installed`, `wrong_client`, "
            "`not_your_conversation`, `genesys_permission`; 503 `genesys_unavailable`."
        ),
        request=PanelSessionRequestSerializer,
        responses={
            200: PanelSessionSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Unsupported environment."),
            401: ErrorSerializer,
            403: ErrorSerializer,
            422: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(PanelSessionRequestSerializer, request.data)
        session = panel_session_open(
            environment=data["environment"],
            conversation_id=data["conversation_id"],
            genesys_token=data.get("genesys_token"),
            code=data.get("code"),
            code_verifier=data.get("code_verifier"),
            client_id=data.get("client_id"),
            redirect_uri=panel_redirect_uri(),
        )
        return Response(session.as_body(), headers={"Cache-Control": "no-store"})


class PopTicketsView(APIView):
    @extend_schema(
        operation_id="pop_tickets_page",
        summary="More of a caller's tickets ('load more' in the panel)",
        description=(
            "`Authorization: Bearer <panel token>`. `contact` must be a contact the conversation's pop shows. "
            "Tickets `offset` to `offset + limit` of the contact's ranked page (unresolved first, newest first; one "
            "Freshdesk call per contact, kept for a minute, under the account's rate budget). Errors: 404 "
            "`pop_not_found`, `contact_not_shown`; 422 naming the field; 503 `freshdesk_unavailable`, "
            "`freshdesk_rate_limited`."
        ),
        parameters=[TicketsPageRequestSerializer],
        responses={
            200: TicketsPageSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
            502: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        grant = panel_grant_of(request.headers.get("Authorization", ""), conversation_id=conversation_id)
        query = validated(TicketsPageRequestSerializer, request.query_params.dict())
        page = panel_tickets_page(
            grant=grant, contact_id=query["contact"], offset=query["offset"], limit=query["limit"]
        )
        return Response(page.as_body(), headers={"Cache-Control": "no-store"})

    @extend_schema(
        operation_id="pop_ticket_create",
        summary="Create a Freshdesk ticket for a caller with no match",
        description=(
            "`Authorization: Bearer <panel token>`. Creates a phone ticket (source 3) for the caller's number, "
            'subject "Call from <number>" unless given, requester "Caller <number>" when Freshdesk does not know '
            "the number; then looks the caller up again. The pop becomes `matched`, the call is linked to the "
            "ticket, and every panel of the conversation receives it."
        ),
        request=TicketCreateRequestSerializer,
        responses={
            201: TicketCreatedSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            502: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        grant = panel_grant_of(request.headers.get("Authorization", ""), conversation_id=conversation_id)
        data = validated(TicketCreateRequestSerializer, request.data or {})
        pop, ticket = panel_ticket_create(grant=grant, subject=data.get("subject"))
        panel_link_created(grant=grant, pop=pop, ticket=ticket)
        state = pop_state_for(tenant_id=grant.tenant_id, conversation_id=conversation_id)
        return Response({**state, "ticket": ticket}, status=201)
