"""The Genesys Cloud simulator, over real HTTP against its process, read through the real Python SDK
(`purecloudplatformclientv2`) wherever the product will use it, so every response shape is proven to deserialise.
429s are tested with plain requests because the SDK's urllib3 `Retry` hides them."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from simulators.genesys import control as sim_control
from tests.fixtures.genesys_sim import (
    ADMIN_CLIENT_ID,
    CODE_CLIENT_ID,
    DEMO_ORG_ID,
    EVENT_INPUTS,
    IMPLICIT_CLIENT_ID,
    OTHER_ORG_ID,
    USERS,
    GenesysSim,
)

ACD_START = "v2.detail.events.conversation.{id}.acd.start"
WEBHOOK_TEMPLATE = (
    '{"conversation_id": "$esc.jsonString($input.conversationId)", "phone_number": "$esc.jsonString($input.ani)", '
    '"event_type": "INBOUND_CALL_START", "timestamp": "${input.timestamp}", "queue_id": "${input.queueId}", '
    '"media_type": "${input.mediaType}", "direction": "${input.direction}", '
    '"participant_id": "$!{input.participantId}", "agent_id": "${input.userId}", '
    '"note": "$!esc.jsonString($input.note)"}'
)


# A stand-in for the product: an OAuth token endpoint and a webhook, recording what they receive.


@dataclass
class Receiver:
    base_url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    token_body: dict[str, Any] = field(
        default_factory=lambda: {"access_token": "webhook-token-1", "token_type": "bearer", "expires_in": 3600}
    )
    webhook_status: int = 202

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        url = urlsplit(self.path)
        receiver.received.append(
            {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": dict(self.headers),
                "body": body,
            }
        )
        if url.path == "/oauth/token":
            status, payload = 200, receiver.token_body
        else:
            status, payload = receiver.webhook_status, {"status": "accepted" if receiver.webhook_status < 300 else "no"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
    server.daemon_threads = True
    server.receiver = Receiver(base_url=f"http://127.0.0.1:{server.server_port}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server.receiver  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


# Helpers


def build(sdk: Any, model: str, **fields: Any) -> Any:
    """An SDK model with `fields` set: the generated models' constructors take no arguments."""
    instance = getattr(sdk, model)()
    for name, value in fields.items():
        setattr(instance, name, value)
    return instance


def sdk_client(sdk: Any, sim: GenesysSim, token: str | None = None) -> Any:
    """An SDK ApiClient against the simulator: with `token`, else logged in as the demo org's admin client."""
    client = sdk.ApiClient(host=sim.base_url)
    if token is None:
        client_id, secret = sim.seed["clients"]["demo_admin"]["id"], sim.seed["clients"]["demo_admin"]["secret"]
        return client.get_client_credentials_token(client_id, secret)
    client.access_token = token
    return client


def assert_fully_deserialised(model: Any) -> None:
    """The SDK turns unknown enum values into "outdated_sdk_version"; none may appear."""
    text = json.dumps(model.to_dict() if hasattr(model, "to_dict") else model, default=str)
    assert "outdated_sdk_version" not in text, text


def error_of(exception: Any) -> dict[str, Any]:
    body = json.loads(exception.body)
    assert set(body) >= {"message", "code", "status", "contextId", "details", "errors"}
    assert body["contextId"] == exception.headers["inin-correlation-id"]
    return body


def install_webhook_action(
    sdk: Any,
    api_client: Any,
    receiver: Receiver,
    *,
    name: str = "Screenpop - notify",
    request_type: str = "POST",
    url_path: str = "/webhook",
) -> Any:
    """What the install wizard provisions: a web-services integration with a User Defined (OAuth) credential
    pointing at the product's token endpoint, enabled, and a published data action calling the webhook."""
    integrations = sdk.IntegrationsApi(api_client)
    integration = integrations.post_integrations(
        body=build(
            sdk, "CreateIntegrationRequest", integration_type=build(sdk, "IntegrationType", id="custom-rest-actions")
        )
    )
    credential = integrations.post_integrations_credentials(
        body=build(
            sdk,
            "Credential",
            name="Screenpop webhook",
            type=build(sdk, "CredentialType", name="userDefinedOAuth"),
            credential_fields={
                "loginUrl": receiver.url("/oauth/token"),
                "clientId": "webhook-client",
                "clientSecret": "webhook-secret",
            },
        )
    )
    current = integrations.get_integration_config_current(integration.id)
    integrations.put_integration_config_current(
        integration.id,
        body=build(
            sdk,
            "IntegrationConfiguration",
            name="Screenpop webhook",
            version=current.version,
            properties={},
            advanced={},
            notes="",
            credentials={"basicAuth": build(sdk, "CredentialInfo", id=credential.id)},
        ),
    )
    integrations.patch_integration(integration.id, body=build(sdk, "Integration", intended_state="ENABLED"))
    draft = integrations.post_integrations_actions_drafts(
        body=build(
            sdk,
            "PostActionInput",
            category="Screenpop",
            name=name,
            integration_id=integration.id,
            secure=False,
            config=build(
                sdk,
                "ActionConfig",
                timeout_seconds=10,
                request=build(
                    sdk,
                    "RequestConfig",
                    request_url_template=receiver.url(url_path),
                    request_type=request_type,
                    headers={"Content-Type": "application/json"},
                    request_template=WEBHOOK_TEMPLATE,
                ),
                response=build(
                    sdk,
                    "ResponseConfig",
                    translation_map={"status": "$.status"},
                    translation_map_defaults={},
                    success_template='{"status": ${status}}',
                ),
            ),
            contract=build(
                sdk,
                "ActionContractInput",
                input=build(
                    sdk,
                    "PostInputContract",
                    input_schema=build(
                        sdk,
                        "JsonSchemaDocument",
                        type="object",
                        required=["conversationId", "ani"],
                        properties={name: {"type": "string"} for name in EVENT_INPUTS},
                    ),
                ),
                output=build(
                    sdk,
                    "PostOutputContract",
                    success_schema=build(
                        sdk, "JsonSchemaDocument", type="object", properties={"status": {"type": "string"}}
                    ),
                ),
            ),
        )
    )
    return integrations.post_integrations_action_draft_publish(
        draft.id, body=build(sdk, "PublishDraftInput", version=draft.version)
    )


def create_trigger(sdk: Any, api_client: Any, flow_id: str, queue_ids: list[str], topic: str = ACD_START) -> Any:
    return sdk.ProcessAutomationApi(api_client).post_processautomation_triggers(
        body=build(
            sdk,
            "CreateTriggerRequest",
            name="Screenpop inbound voice",
            topic_name=topic,
            enabled=True,
            target=build(
                sdk,
                "TriggerTarget",
                type="Workflow",
                id=flow_id,
                workflow_target_settings=build(sdk, "WorkflowTargetSettings", data_format="TopLevelPrimitives"),
            ),
            match_criteria=[
                build(sdk, "MatchCriteria", json_path="mediaType", operator="Equal", value="VOICE"),
                build(sdk, "MatchCriteria", json_path="direction", operator="Equal", value="INBOUND"),
                build(sdk, "MatchCriteria", json_path="queueId", operator="In", values=queue_ids),
            ],
            event_ttl_seconds=60,
        )
    )


# OAuth


def test_client_credentials_token_through_the_sdk_and_tokens_me(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim)

    info = genesys_sdk.TokensApi(api_client).get_tokens_me()

    assert info.organization.id == DEMO_ORG_ID
    assert info.o_auth_client.id == ADMIN_CLIENT_ID
    assert info.o_auth_client.authorized_grant_type == "CLIENT-CREDENTIALS"
    assert_fully_deserialised(info)


def test_token_endpoint_refuses_bad_requests(genesys_sim):
    token_url = f"{genesys_sim.base_url}/oauth/token"
    secret = genesys_sim.seed["clients"]["demo_admin"]["secret"]
    session = genesys_sim.session

    as_json = session.post(token_url, json={"grant_type": "client_credentials"}, auth=(ADMIN_CLIENT_ID, secret))
    bad_secret = session.post(token_url, data={"grant_type": "client_credentials"}, auth=(ADMIN_CLIENT_ID, "nope"))
    no_basic = session.post(token_url, data={"grant_type": "client_credentials"})
    bad_grant = session.post(token_url, data={"grant_type": "password"}, auth=(ADMIN_CLIENT_ID, secret))
    wrong_client_kind = session.post(
        token_url, data={"grant_type": "client_credentials"}, auth=(IMPLICIT_CLIENT_ID, "wizard-implicit-secret")
    )
    good = session.post(token_url, data={"grant_type": "client_credentials"}, auth=(ADMIN_CLIENT_ID, secret))

    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (401, "invalid_client")
    assert no_basic.status_code == 401
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "unsupported_grant_type")
    assert (wrong_client_kind.status_code, wrong_client_kind.json()["error"]) == (400, "unauthorized_client")
    assert good.status_code == 200
    assert set(good.json()) == {"access_token", "token_type", "expires_in"}
    assert good.json()["token_type"] == "bearer"


def _authorize(sim: GenesysSim, **params: str) -> Any:
    query = {"client_id": IMPLICIT_CLIENT_ID, "redirect_uri": "http://127.0.0.1:8000/", "response_type": "token"}
    return sim.session.get(f"{sim.base_url}/oauth/authorize", params={**query, **params}, allow_redirects=False)


def test_implicit_grant_redirects_with_the_token_in_the_fragment(genesys_sim, genesys_sdk):
    response = _authorize(genesys_sim, state="wizard step 2", login_hint="blair.agent@demo.example")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    fragment = parse_qs(location.fragment)
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:8000/"
    assert fragment["token_type"] == ["bearer"]
    assert fragment["state"] == ["wizard step 2"]
    assert int(fragment["expires_in"][0]) == 86400
    me = genesys_sdk.UsersApi(sdk_client(genesys_sdk, genesys_sim, fragment["access_token"][0])).get_users_me()
    assert me.id == USERS["blair"]


def test_authorize_logs_in_the_default_user_and_the_knob_changes_it(genesys_sim):
    def logged_in_name() -> str:
        token = parse_qs(urlsplit(_authorize(genesys_sim).headers["Location"]).fragment)["access_token"][0]
        return genesys_sim.api("GET", "/api/v2/users/me", token=token).json()["name"]

    first = logged_in_name()
    genesys_sim.configure(default_login_user="avery.admin@demo.example")

    assert (first, logged_in_name()) == ("Alex Agent", "Avery Admin")


def test_authorize_refuses_unregistered_redirect_uris_and_wrong_response_types(genesys_sim):
    with_query = _authorize(genesys_sim, redirect_uri="http://127.0.0.1:8000/?tenant=1")
    other_host = _authorize(genesys_sim, redirect_uri="http://evil.example/")
    code_on_implicit_client = _authorize(genesys_sim, response_type="code", state="s")
    genesys_sim.configure(redirect_uris=["http://127.0.0.1:8000/?tenant=1"])
    now_registered = _authorize(genesys_sim, redirect_uri="http://127.0.0.1:8000/?tenant=1")

    assert with_query.status_code == 400
    assert "Location" not in with_query.headers
    assert other_host.status_code == 400
    assert code_on_implicit_client.status_code == 302
    assert "error=unsupported_response_type" in code_on_implicit_client.headers["Location"]
    assert now_registered.status_code == 302
    assert now_registered.headers["Location"].startswith("http://127.0.0.1:8000/?tenant=1#access_token=")


def test_pkce_code_grant_checks_the_verifier(genesys_sim, genesys_sdk):
    api_client = genesys_sdk.ApiClient(host=genesys_sim.base_url)
    verifier = api_client.generate_pkce_code_verifier(64)

    def code(challenge: str) -> str:
        response = _authorize(
            genesys_sim,
            client_id=CODE_CLIENT_ID,
            response_type="code",
            state="pkce",
            code_challenge=challenge,
            code_challenge_method="S256",
            login_hint=USERS["avery"],
        )
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["state"] == ["pkce"]
        return query["code"][0]

    good_code = code(api_client.compute_pkce_code_challenge(verifier))
    api_client.get_pkce_token(CODE_CLIENT_ID, verifier, good_code, "http://127.0.0.1:8000/")
    me = genesys_sdk.UsersApi(api_client).get_users_me()
    with pytest.raises(genesys_sdk.rest.ApiException) as reused:
        api_client.get_pkce_token(CODE_CLIENT_ID, verifier, good_code, "http://127.0.0.1:8000/")
    wrong = genesys_sim.session.post(
        f"{genesys_sim.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code(api_client.compute_pkce_code_challenge(verifier)),
            "code_verifier": "x" * 64,
            "client_id": CODE_CLIENT_ID,
            "redirect_uri": "http://127.0.0.1:8000/",
        },
    )

    assert me.id == USERS["avery"]
    assert reused.value.status == 400
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


def test_code_grant_with_basic_auth_and_refresh(genesys_sim, genesys_sdk):
    response = _authorize(genesys_sim, client_id=CODE_CLIENT_ID, response_type="code", login_hint=USERS["alex"])
    auth_code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    api_client = genesys_sdk.ApiClient(host=genesys_sim.base_url)

    _, first = api_client.get_code_authorization_token(
        CODE_CLIENT_ID, "wizard-code-secret", auth_code, "http://127.0.0.1:8000/"
    )
    _, refreshed = api_client.refresh_code_authorization_token(
        CODE_CLIENT_ID, "wizard-code-secret", first["refresh_token"]
    )

    assert refreshed["access_token"] != first["access_token"]
    assert genesys_sdk.UsersApi(api_client).get_users_me().name == "Alex Agent"


def test_api_refuses_missing_expired_and_unknown_tokens(genesys_sim):
    expired = genesys_sim.control("POST", "tokens", {"user": "alex", "expires_in": 0})["access_token"]

    missing = genesys_sim.api("GET", "/api/v2/users/me")
    unknown = genesys_sim.api("GET", "/api/v2/users/me", token="not-a-token")
    too_old = genesys_sim.api("GET", "/api/v2/users/me", token=expired)

    assert (missing.status_code, missing.json()["code"]) == (401, "authentication.required")
    assert (unknown.status_code, unknown.json()["code"]) == (401, "bad.credentials")
    assert too_old.status_code == 401
    assert missing.json()["contextId"] == missing.headers["inin-correlation-id"]


# Identity


def test_users_me_with_organization_and_authorization(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim, genesys_sim.token_for("alex"))

    me = genesys_sdk.UsersApi(api_client).get_users_me(expand=["organization", "authorization"])

    assert (me.id, me.name, me.email, me.state) == (USERS["alex"], "Alex Agent", "alex.agent@demo.example", "active")
    assert (me.organization.id, me.organization.name, me.organization.third_party_org_name) == (
        DEMO_ORG_ID,
        "Demo Org",
        "demo",
    )
    assert {role.name for role in me.authorization.roles} == {"employee", "User"}
    assert "conversation:communication:view" in me.authorization.permissions
    assert_fully_deserialised(me)


def test_users_me_is_invalid_for_client_credentials(genesys_sim, genesys_sdk):
    with pytest.raises(genesys_sdk.rest.ApiException) as raised:
        genesys_sdk.UsersApi(sdk_client(genesys_sdk, genesys_sim)).get_users_me()

    body = error_of(raised.value)
    assert raised.value.status == body["status"] == 400
    assert "requires a user context" in body["message"]


def test_tokens_me_organizations_me_users_and_products(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim, genesys_sim.token_for("alex"))

    token = genesys_sdk.TokensApi(api_client).get_tokens_me()
    org = genesys_sdk.OrganizationApi(api_client).get_organizations_me()
    blair = genesys_sdk.UsersApi(api_client).get_user(USERS["blair"])
    products = genesys_sdk.AuthorizationApi(api_client).get_authorization_products()
    with pytest.raises(genesys_sdk.rest.ApiException) as other_org_user:
        genesys_sdk.UsersApi(api_client).get_user(USERS["casey"])

    assert (token.organization.id, token.o_auth_client.id) == (DEMO_ORG_ID, IMPLICIT_CLIENT_ID)
    assert (org.id, org.name, org.third_party_org_name, org.state) == (DEMO_ORG_ID, "Demo Org", "demo", "active")
    assert blair.name == "Blair Agent"
    assert "byoc" in [product.id for product in products.entities]
    assert other_org_user.value.status == 404
    for model in (token, org, blair, products):
        assert_fully_deserialised(model)


# Routing


def test_queue_listing_pages_and_filters(genesys_sim, genesys_sdk):
    routing = genesys_sdk.RoutingApi(sdk_client(genesys_sdk, genesys_sim))

    first = routing.get_routing_queues()
    last = routing.get_routing_queues(page_number=2)
    billing = routing.get_routing_queues(name="Bill*")
    supports = routing.get_routing_queues(name="*support")
    one = routing.get_routing_queue(billing.entities[0].id)

    assert (first.page_size, first.page_number, first.total, first.page_count) == (25, 1, 30, 2)
    assert len(first.entities) == 25
    assert first.next_uri == "/api/v2/routing/queues?pageSize=25&pageNumber=2"
    assert first.previous_uri is None
    assert (len(last.entities), last.next_uri, last.previous_uri) == (5, None, first.first_uri)
    assert [queue.name for queue in billing.entities] == ["Billing"]
    assert [queue.name for queue in supports.entities] == ["Premium Support", "Support", "Technical Support"]
    assert (one.name, one.division.name) == ("Billing", "Home")
    assert_fully_deserialised(first)


def test_queues_belong_to_their_org(genesys_sim):
    other_queues = genesys_sim.api("GET", "/api/v2/routing/queues", token=genesys_sim.admin_token("other")).json()
    demo_support = genesys_sim.queue_id("Support")

    response = genesys_sim.api("GET", f"/api/v2/routing/queues/{demo_support}", token=genesys_sim.admin_token("other"))

    assert [queue["name"] for queue in other_queues["entities"]] == ["Escalations", "Support"]
    assert response.status_code == 404


def queue_request(sdk: Any, name: str) -> Any:
    body = sdk.QueueRequest()  # the SDK's models take no constructor arguments
    body.name = name
    return body


def test_a_queue_renamed_through_the_sdk_is_listed_under_its_new_name(genesys_sim, genesys_sdk):
    routing = genesys_sdk.RoutingApi(sdk_client(genesys_sdk, genesys_sim))
    support = genesys_sim.queue_id("Support")

    renamed = routing.put_routing_queue(support, queue_request(genesys_sdk, "Customer Support"))
    listed = routing.get_routing_queues(name="Customer S*")
    with pytest.raises(genesys_sdk.rest.ApiException) as clash:
        routing.put_routing_queue(support, queue_request(genesys_sdk, "billing"))
    as_agent = genesys_sim.api(
        "PUT", f"/api/v2/routing/queues/{support}", token=genesys_sim.token_for("alex"), json={"name": "Mine"}
    )

    assert renamed.name == "Customer Support"
    assert [(queue.id, queue.name) for queue in listed.entities] == [(support, "Customer Support")]
    assert clash.value.status == 400
    assert as_agent.status_code == 403


# Conversations


def test_conversation_of_a_placed_call(genesys_sim, genesys_sdk):
    call = genesys_sim.place_call("+15550199", "Support", agent="alex")
    conversations = genesys_sdk.ConversationsApi(sdk_client(genesys_sdk, genesys_sim, genesys_sim.token_for("alex")))

    conversation = conversations.get_conversation(call["conversationId"])

    by_purpose = {participant.purpose: participant for participant in conversation.participants}
    assert list(by_purpose) == ["customer", "acd", "agent"]
    assert by_purpose["customer"].ani == "tel:+15550199"
    assert by_purpose["customer"].participant_type == "External"
    assert by_purpose["acd"].queue_name == "Support"
    assert by_purpose["agent"].user_id == USERS["alex"]
    assert by_purpose["agent"].queue_id == genesys_sim.queue_id("Support")
    assert by_purpose["customer"].calls[0].state == "connected"
    assert_fully_deserialised(conversation)


def test_conversation_errors(genesys_sim, genesys_sdk):
    call = genesys_sim.place_call("tel:+15550199", "Support")
    other_org_agent = genesys_sdk.ConversationsApi(sdk_client(genesys_sdk, genesys_sim, genesys_sim.token_for("casey")))
    demo_agent = genesys_sdk.ConversationsApi(sdk_client(genesys_sdk, genesys_sim, genesys_sim.token_for("alex")))

    with pytest.raises(genesys_sdk.rest.ApiException) as cross_tenant:
        other_org_agent.get_conversation(call["conversationId"])
    with pytest.raises(genesys_sdk.rest.ApiException) as unknown:
        demo_agent.get_conversation("7b0f3c9e-0000-4000-8000-000000000000")

    assert (cross_tenant.value.status, error_of(cross_tenant.value)["code"]) == (403, "not.authorized")
    assert (unknown.value.status, error_of(unknown.value)["code"]) == (404, "not.found")


# Integrations and credentials


def test_integration_types_include_the_premium_type_until_the_knob_removes_it(genesys_sim, genesys_sdk):
    integrations = genesys_sdk.IntegrationsApi(sdk_client(genesys_sdk, genesys_sim))
    before = {item.id for item in integrations.get_integrations_types().entities}

    genesys_sim.configure(premium_type_id=None)
    after = {item.id for item in integrations.get_integrations_types().entities}
    with pytest.raises(genesys_sdk.rest.ApiException) as missing:
        integrations.get_integrations_type("premium-widget-example")
    with pytest.raises(genesys_sdk.rest.ApiException) as create:
        integrations.post_integrations(
            body=build(
                genesys_sdk,
                "CreateIntegrationRequest",
                integration_type=build(genesys_sdk, "IntegrationType", id="premium-widget-example"),
            )
        )

    assert before >= {
        "embedded-client-app-interaction-widget",
        "custom-rest-actions",
        "purecloud-data-actions",
        "premium-widget-example",
    }
    assert "premium-widget-example" not in after
    assert (missing.value.status, create.value.status) == (404, 400)


def test_integration_config_versions_and_states(genesys_sim, genesys_sdk):
    integrations = genesys_sdk.IntegrationsApi(sdk_client(genesys_sdk, genesys_sim))
    integration = integrations.post_integrations(
        body=build(
            genesys_sdk,
            "CreateIntegrationRequest",
            integration_type=build(genesys_sdk, "IntegrationType", id="premium-widget-example"),
        )
    )
    config = integrations.get_integration_config_current(integration.id)

    saved = integrations.put_integration_config_current(
        integration.id,
        body=build(
            genesys_sdk,
            "IntegrationConfiguration",
            name="Screenpop",
            version=config.version,
            properties={"url": "https://screenpop.example/widget"},
            advanced={},
            notes="installed",
            credentials={},
        ),
    )
    with pytest.raises(genesys_sdk.rest.ApiException) as stale:
        integrations.put_integration_config_current(
            integration.id,
            body=build(
                genesys_sdk,
                "IntegrationConfiguration",
                name="Screenpop",
                version=config.version,
                properties={},
                advanced={},
                notes="",
                credentials={},
            ),
        )
    enabled = integrations.patch_integration(
        integration.id, body=build(genesys_sdk, "Integration", intended_state="ENABLED")
    )
    listed = integrations.get_integrations(expand=["config.current"])
    integrations.delete_integration(integration.id)
    with pytest.raises(genesys_sdk.rest.ApiException) as deleted:
        integrations.get_integration(integration.id)

    assert (integration.intended_state, integration.reported_state.code, config.version) == ("DISABLED", "INACTIVE", 1)
    assert (saved.version, saved.name, saved.properties) == (
        2,
        "Screenpop",
        {"url": "https://screenpop.example/widget"},
    )
    assert (stale.value.status, error_of(stale.value)["code"]) == (409, "conflict")
    assert (enabled.intended_state, enabled.reported_state.code) == ("ENABLED", "ACTIVE")
    assert [(item.name, item.config.current.version) for item in listed.entities] == [("Screenpop", 2)]
    assert deleted.value.status == 404
    assert_fully_deserialised(listed)


def test_credentials_accept_type_as_string_or_object(genesys_sim, genesys_sdk):
    integrations = genesys_sdk.IntegrationsApi(sdk_client(genesys_sdk, genesys_sim))
    as_object = integrations.post_integrations_credentials(
        body=build(
            genesys_sdk,
            "Credential",
            name="object",
            type=build(genesys_sdk, "CredentialType", name="userDefinedOAuth"),
            credential_fields={"loginUrl": "https://x.example/token", "clientId": "id", "clientSecret": "s3cret"},
        )
    )
    as_string = genesys_sim.api(
        "POST",
        "/api/v2/integrations/credentials",
        token=genesys_sim.admin_token(),
        json={
            "name": "string",
            "type": "userDefinedOAuth",
            "credentialFields": {"loginUrl": "https://x.example/token"},
        },
    )
    bad_type = genesys_sim.api(
        "POST",
        "/api/v2/integrations/credentials",
        token=genesys_sim.admin_token(),
        json={"name": "bad", "type": "kerberos", "credentialFields": {}},
    )

    shown = integrations.get_integrations_credential(as_object.id)
    listing = integrations.get_integrations_credentials_listing()
    integrations.delete_integrations_credential(as_object.id)

    assert as_object.type.name == "userDefinedOAuth"
    assert as_string.status_code == 200
    assert as_string.json()["type"]["name"] == "userDefinedOAuth"
    assert bad_type.status_code == 400
    assert shown.credential_fields == {
        "loginUrl": "https://x.example/token",
        "clientId": "id",
        "clientSecret": "********",
    }
    assert {item.name for item in listing.entities} == {"object", "string"}
    assert [item.name for item in integrations.get_integrations_credentials_listing().entities] == ["string"]


# Data actions


def test_action_drafts_publish_and_listing(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    integrations = genesys_sdk.IntegrationsApi(api_client)
    published = install_webhook_action(genesys_sdk, api_client, receiver)

    listed = integrations.get_integrations_actions(name="notify")
    with_auth = integrations.get_integrations_actions(include_auth_actions="true")
    brief = integrations.get_integrations_action(published.id)
    full = integrations.get_integrations_action(published.id, include_config=True, expand="contract")
    draft = integrations.post_integrations_action_draft(published.id)
    patched = integrations.patch_integrations_action_draft(
        published.id, body=build(genesys_sdk, "UpdateDraftInput", version=draft.version, name="Screenpop - notify v2")
    )
    with pytest.raises(genesys_sdk.rest.ApiException) as stale:
        integrations.patch_integrations_action_draft(
            published.id, body=build(genesys_sdk, "UpdateDraftInput", version=draft.version, name="stale")
        )
    republished = integrations.post_integrations_action_draft_publish(
        published.id, body=build(genesys_sdk, "PublishDraftInput", version=patched.version)
    )

    assert published.id.startswith("custom_-_")
    assert [action.name for action in listed.entities] == ["Screenpop - notify"]
    auth_actions = [action for action in with_auth.entities if action.id.startswith("customAuth_-_")]
    integration = integrations.get_integration(published.integration_id)
    # Addressed by id; named after the integration, so a search by the id's text finds nothing.
    assert [action.id for action in auth_actions] == [f"customAuth_-_{published.integration_id}"]
    assert [action.name for action in auth_actions] == [f"{integration.name} (Custom Auth)"]
    assert integrations.get_integrations_actions(name="customAuth", include_auth_actions="true").entities == []
    assert integrations.get_integrations_action(f"customAuth_-_{published.integration_id}").name == auth_actions[0].name
    assert (brief.config, brief.contract) == (None, None)
    assert (full.config.timeout_seconds, full.config.request.request_type) == (10, "POST")
    assert full.contract.input.input_schema.required == ["conversationId", "ani"]
    assert (draft.version, patched.version, stale.value.status) == (1, 2, 409)
    assert republished.name == "Screenpop - notify v2"
    assert_fully_deserialised(full)
    # Renaming the integration renames its custom auth action; its id stays.
    integrations.patch_integration(published.integration_id, body={"name": "Renamed webhook"})
    renamed = integrations.get_integrations_action(f"customAuth_-_{published.integration_id}")
    assert renamed.name == "Renamed webhook (Custom Auth)"


def test_action_timeout_must_be_1_to_60_seconds(genesys_sim, receiver):
    integration = genesys_sim.api(
        "POST",
        "/api/v2/integrations",
        token=genesys_sim.admin_token(),
        json={"integrationType": {"id": "custom-rest-actions"}},
    ).json()

    def draft(timeout: int) -> int:
        body = {
            "name": f"t{timeout}",
            "category": "c",
            "integrationId": integration["id"],
            "config": {
                "timeoutSeconds": timeout,
                "request": {"requestUrlTemplate": receiver.url("/webhook"), "requestType": "POST"},
            },
        }
        return genesys_sim.api(
            "POST", "/api/v2/integrations/actions/drafts", token=genesys_sim.admin_token(), json=body
        ).status_code

    assert [draft(0), draft(1), draft(60), draft(61)] == [400, 200, 200, 400]


def test_execute_gets_a_token_then_calls_the_webhook_with_rendered_velocity(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    action = install_webhook_action(genesys_sdk, api_client, receiver)

    result = genesys_sdk.IntegrationsApi(api_client).post_integrations_action_execute(
        action.id,
        body={
            "conversationId": "c-1",
            "ani": "tel:+15550199",
            "mediaType": "VOICE",
            "note": 'He said "hi"\nthen hung up',
        },
    )

    assert result == {"status": "accepted"}
    token_request, webhook = receiver.received
    assert (token_request["method"], token_request["path"], token_request["body"]) == (
        "POST",
        "/oauth/token",
        "grant_type=client_credentials",
    )
    assert (
        token_request["headers"]["Authorization"]
        == "Basic " + base64.b64encode(b"webhook-client:webhook-secret").decode()
    )
    assert token_request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert (webhook["method"], webhook["path"]) == ("POST", "/webhook")
    assert webhook["headers"]["Authorization"] == "Bearer webhook-token-1"
    assert json.loads(webhook["body"]) == {
        "conversation_id": "c-1",
        "phone_number": "tel:+15550199",
        "event_type": "INBOUND_CALL_START",
        "timestamp": "${input.timestamp}",  # unresolved ${...} prints its own text
        "queue_id": "${input.queueId}",
        "media_type": "VOICE",
        "direction": "${input.direction}",
        "participant_id": "",  # unresolved $!{...} prints nothing
        "agent_id": "${input.userId}",
        "note": 'He said "hi"\nthen hung up',  # $esc.jsonString escaped it
    }


def test_execute_reports_failures_as_error_bodies(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    action = install_webhook_action(genesys_sdk, api_client, receiver)
    integrations = genesys_sdk.IntegrationsApi(api_client)
    receiver.webhook_status = 422

    with pytest.raises(genesys_sdk.rest.ApiException) as remote:
        integrations.post_integrations_action_execute(action.id, body={"conversationId": "c-1", "ani": "tel:+1"})
    with pytest.raises(genesys_sdk.rest.ApiException) as missing_input:
        integrations.post_integrations_action_execute(action.id, body={"conversationId": "c-1"})
    test_run = integrations.post_integrations_action_test(action.id, body={"conversationId": "c-1", "ani": "tel:+1"})

    assert remote.value.status == 422
    assert error_of(remote.value)["details"] == [{"errorCode": "ACTION.REMOTE_ENDPOINT"}]
    assert "Response from web service" in error_of(remote.value)["message"]
    assert (missing_input.value.status, "ani" in error_of(missing_input.value)["message"]) == (400, True)
    assert (test_run.success, test_run.error.status) == (False, 422)
    assert [operation.step for operation in test_run.operations] == list(range(1, len(test_run.operations) + 1))
    assert_fully_deserialised(test_run)


def test_get_actions_ignore_the_request_template_and_auth_can_be_cached(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    action = install_webhook_action(
        genesys_sdk,
        api_client,
        receiver,
        name="lookup",
        request_type="GET",
        url_path="/lookup?phone=$esc.url($input.ani)",
    )
    genesys_sim.configure(auth_cache_seconds=60)
    integrations = genesys_sdk.IntegrationsApi(api_client)

    for _ in range(2):
        integrations.post_integrations_action_execute(action.id, body={"conversationId": "c", "ani": "tel:+1 555"})

    assert [(item["method"], item["path"]) for item in receiver.received] == [
        ("POST", "/oauth/token"),
        ("GET", "/lookup"),
        ("GET", "/lookup"),
    ]
    assert receiver.received[1]["query"] == {"phone": ["tel:+1 555"]}
    assert receiver.received[1]["body"] == ""


# OAuth clients and roles


def test_oauth_client_lifecycle_and_disabled_clients_lose_their_tokens(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    oauth = genesys_sdk.OAuthApi(api_client)
    roles = genesys_sdk.AuthorizationApi(api_client).get_authorization_roles(name="employee")
    request = build(
        genesys_sdk,
        "OAuthClientRequest",
        name="Screenpop webhook",
        authorized_grant_type="CLIENT-CREDENTIALS",
        role_divisions=[build(genesys_sdk, "RoleDivision", role_id=roles.entities[0].id)],
    )

    created = oauth.post_oauth_clients(body=request)
    fetched = oauth.get_oauth_client(created.id)
    token = genesys_sim.client_token(created.id, created.secret)
    works = genesys_sim.api("GET", "/api/v2/tokens/me", token=token).status_code
    request.state = "inactive"
    inactive = oauth.put_oauth_client(created.id, body=request)
    refused_token = genesys_sim.api("GET", "/api/v2/tokens/me", token=token).status_code
    refused_login = genesys_sim.session.post(
        f"{genesys_sim.base_url}/oauth/token",
        auth=(created.id, created.secret),
        data={"grant_type": "client_credentials"},
    ).status_code
    listed = oauth.get_oauth_clients()
    oauth.delete_oauth_client(created.id)
    no_role = genesys_sim.api(
        "POST",
        "/api/v2/oauth/clients",
        token=genesys_sim.admin_token(),
        json={"name": "x", "authorizedGrantType": "CLIENT-CREDENTIALS"},
    )

    assert created.secret
    assert fetched.secret is None
    assert fetched.role_divisions[0].division_id  # defaults to the home division
    assert (works, inactive.state, refused_token, refused_login) == (200, "inactive", 401, 401)
    assert created.id in [client.id for client in listed.entities]
    assert no_role.status_code == 400
    assert_fully_deserialised(listed)


def test_the_implicit_grant_is_retired_on_the_configured_dates(genesys_sim, genesys_sdk):
    oauth = genesys_sdk.OAuthApi(sdk_client(genesys_sdk, genesys_sim))
    body = {"name": "Legacy panel", "authorizedGrantType": "TOKEN", "registeredRedirectUri": ["http://127.0.0.1:8000/"]}
    agent_token = genesys_sim.token_for("alex")  # the seeded implicit client predates the cutoff

    with pytest.raises(genesys_sdk.rest.ApiException) as refused:
        oauth.post_oauth_clients(body=body)  # the default cutoff for new implicit clients has passed
    code_client = oauth.post_oauth_clients(body={**body, "authorizedGrantType": "CODE"})
    with pytest.raises(genesys_sdk.rest.ApiException) as switched:
        oauth.put_oauth_client(code_client.id, body=body)
    genesys_sim.configure(implicit_grant_new_clients_until=None)
    legacy = oauth.post_oauth_clients(body=body)
    genesys_sim.configure(implicit_grant_until="2000-01-01")
    login = genesys_sim.session.get(
        f"{genesys_sim.base_url}/oauth/authorize",
        params={"client_id": legacy.id, "redirect_uri": "http://127.0.0.1:8000/", "response_type": "token"},
        allow_redirects=False,
        timeout=10,
    )
    old_token = genesys_sim.api("GET", "/api/v2/users/me", token=agent_token)

    assert (refused.value.status, switched.value.status) == (400, 400)
    assert "implicit grant is retired" in json.loads(refused.value.body)["message"]
    assert legacy.authorized_grant_type == "TOKEN"
    assert parse_qs(urlsplit(login.headers["Location"]).fragment)["error"] == ["unauthorized_client"]
    assert old_token.status_code == 401


def test_roles_prefix_search_and_users_add(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    authorization = genesys_sdk.AuthorizationApi(api_client)
    role = authorization.post_authorization_roles(
        body=build(
            genesys_sdk,
            "DomainOrganizationRoleCreate",
            name="Screenpop Agent",
            description="reads pops",
            permission_policies=[
                build(
                    genesys_sdk,
                    "DomainPermissionPolicy",
                    domain="integrations",
                    entity_name="action",
                    action_set=["execute"],
                )
            ],
        )
    )

    found = authorization.get_authorization_roles(name="Screenpop*")
    added = authorization.put_authorization_role_users_add(role.id, [USERS["alex"]])
    alex_roles = genesys_sim.api("GET", "/api/v2/users/me?expand=authorization", token=genesys_sim.token_for("alex"))
    updated = authorization.put_authorization_role(
        role.id, body=build(genesys_sdk, "DomainOrganizationRoleUpdate", name="Screenpop Agent", description="renamed")
    )
    authorization.delete_authorization_role(role.id)

    assert role.permissions == ["integrations:action:execute"]
    assert [item.name for item in found.entities] == ["Screenpop Agent"]
    assert added == [USERS["alex"]]
    assert "Screenpop Agent" in [item["name"] for item in alex_roles.json()["authorization"]["roles"]]
    assert (updated.description, updated.user_count) == ("renamed", 1)
    assert authorization.get_authorization_roles(name="Screenpop*").total == 0


def test_permissions_are_enforced_until_the_knob_is_off(genesys_sim):
    agent = genesys_sim.token_for("alex")
    body = {"integrationType": {"id": "custom-rest-actions"}}

    refused = genesys_sim.api("POST", "/api/v2/integrations", token=agent, json=body)
    genesys_sim.configure(enforce_permissions=False)
    allowed = genesys_sim.api("POST", "/api/v2/integrations", token=agent, json=body)

    assert (refused.status_code, refused.json()["code"]) == (403, "missing.permissions")
    assert "integrations:integration:add" in refused.json()["message"]
    assert allowed.status_code == 200


# Triggers and flows


def test_flows_and_trigger_lifecycle(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    automation = genesys_sdk.ProcessAutomationApi(api_client)
    install_webhook_action(genesys_sdk, api_client, receiver)
    flow = genesys_sim.publish_workflow("Screenpop inbound call", "Screenpop - notify")
    flows = genesys_sdk.ArchitectApi(api_client).get_flows(type=["workflow"], name="Screenpop*")
    first = create_trigger(genesys_sdk, api_client, flow["id"], [genesys_sim.queue_id("Support")])
    second = create_trigger(genesys_sdk, api_client, flow["id"], [genesys_sim.queue_id("Billing")])

    page = automation.get_processautomation_triggers(page_size="1")
    after = parse_qs(urlsplit(page.next_uri).query)["after"][0]
    next_page = automation.get_processautomation_triggers(page_size="1", after=after)
    update = build(
        genesys_sdk,
        "UpdateTriggerRequest",
        version=1,
        name="renamed",
        topic_name=ACD_START,
        enabled=False,
        target=first.target,
        match_criteria=first.match_criteria,
        event_ttl_seconds=60,
    )
    updated = automation.put_processautomation_trigger(first.id, body=update)
    with pytest.raises(genesys_sdk.rest.ApiException) as stale:
        automation.put_processautomation_trigger(first.id, body=update)
    update.version, update.topic_name = 2, "v2.detail.events.conversation.{id}.user.start"
    with pytest.raises(genesys_sdk.rest.ApiException) as new_topic:
        automation.put_processautomation_trigger(first.id, body=update)
    topics = automation.get_processautomation_triggers_topics()
    enabled_only = automation.get_processautomation_triggers(enabled=True)
    automation.delete_processautomation_trigger(second.id)

    assert [(item.name, item.type) for item in flows.entities] == [("Screenpop inbound call", "WORKFLOW")]
    assert (first.version, first.target.type, first.match_criteria[2].values) == (
        1,
        "Workflow",
        [genesys_sim.queue_id("Support")],
    )
    assert ([t.id for t in page.entities], page.previous_uri) == ([first.id], None)
    assert ([t.id for t in next_page.entities], next_page.next_uri) == ([second.id], None)
    assert next_page.previous_uri is not None
    assert (updated.version, updated.name, updated.enabled) == (2, "renamed", False)
    assert (stale.value.status, new_topic.value.status) == (409, 400)
    assert ACD_START in topics.entities
    assert [t.id for t in enabled_only.entities] == [second.id]
    assert [t.id for t in automation.get_processautomation_triggers().entities] == [first.id]
    assert_fully_deserialised(updated)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"target": {"type": "Lambda"}}, "target.type"),
        ({"eventTTLSeconds": 60, "delayBySeconds": 60}, "not both"),
        ({"eventTTLSeconds": 5}, "at least 10"),
        ({"delayBySeconds": 30, "eventTTLSeconds": None}, "60 to 900"),
        ({"matchCriteria": [{"jsonPath": "queueId", "operator": "In", "value": "q"}]}, "values"),
        ({"matchCriteria": [{"jsonPath": "queueId", "operator": "Like", "value": "q"}]}, "operator"),
        ({"topicName": "v2.users.{id}.presence"}, "not available"),
        ({"description": "x" * 513}, "512"),
    ],
)
def test_trigger_validation(genesys_sim, genesys_sdk, receiver, change, problem):
    install_webhook_action(genesys_sdk, sdk_client(genesys_sdk, genesys_sim), receiver)
    flow = genesys_sim.publish_workflow("wf", "Screenpop - notify")
    body = {
        "name": "t",
        "topicName": ACD_START,
        "enabled": True,
        "eventTTLSeconds": 60,
        "target": {"type": "Workflow", "id": flow["id"]},
    }
    if "target" in change:
        change = {"target": {**body["target"], **change["target"]}}
    body = {key: value for key, value in {**body, **change}.items() if value is not None}

    response = genesys_sim.api("POST", "/api/v2/processautomation/triggers", token=genesys_sim.admin_token(), json=body)

    assert response.status_code == 400
    assert problem in response.json()["message"]


def test_trigger_listing_page_size_is_at_most_200(genesys_sim):
    response = genesys_sim.api(
        "GET", "/api/v2/processautomation/triggers?pageSize=201", token=genesys_sim.admin_token()
    )

    assert response.status_code == 400


# Architect: publish jobs, Archy YAML, saved and published flows, the home division


def publish_by_job(sdk: Any, api_client: Any, text: str, *, polls: int = 10) -> tuple[Any, list[str]]:
    """What CX-as-Code does: register a job, PUT the YAML to its presigned URL, poll until it ends."""
    architect = sdk.ArchitectApi(api_client)
    job = architect.post_flows_jobs()
    uploaded = requests.put(job.presigned_url, data=text.encode(), headers=job.headers, timeout=10)
    assert uploaded.status_code == 200, uploaded.text
    statuses = []
    for _ in range(polls):
        state = architect.get_flows_job(job.id, expand=["messages"])
        statuses.append(state.status)
        if state.status in ("Success", "Failure"):
            return state, statuses
    raise AssertionError(f"the job did not end: {statuses}")


def screenpop_yaml(**options: Any) -> str:
    return sim_control.workflow_yaml(
        "Screenpop inbound call", category="Screenpop", data_action="Screenpop - notify", inputs=EVENT_INPUTS, **options
    )


def test_a_workflow_published_through_a_job_is_what_a_call_runs(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    text = screenpop_yaml(success_outputs={"status": "Flow.popStatus"})

    registered = genesys_sdk.ArchitectApi(api_client).post_flows_jobs()
    done, statuses = publish_by_job(genesys_sdk, api_client, text)
    flow = genesys_sdk.ArchitectApi(api_client).get_flow(done.flow.id)
    create_trigger(genesys_sdk, api_client, flow.id, [genesys_sim.queue_id("Support")])
    call = genesys_sim.place_call("+15550199", "Support")

    assert registered.presigned_url.endswith(f"/_sim/flow-uploads/{registered.id}")
    assert registered.headers
    assert statuses == ["Started", "Success"]  # the simulator makes clients poll at least once
    assert (done.command, done.messages) == ("Publish", [])
    assert (flow.name, flow.type, flow.division.name, flow.published_version.id) == (
        "Screenpop inbound call",
        "WORKFLOW",
        "Home",
        "1.0",
    )
    (fired,) = call["triggers"]
    assert fired["path"] == ["callData: Screenpop - notify", "endWorkflow: sent"]
    assert fired["exitReason"] == "sent"
    assert fired["input"]["ani"] == "tel:+15550199"
    assert fired["input"]["timestamp"] == str(call["events"][1]["eventBody"]["eventTime"])
    assert fired["variables"]["Flow.popStatus"] == "accepted"  # successOutputs, as the YAML maps them
    # Publishing the same name again keeps the flow's id and makes a new version.
    again, _ = publish_by_job(genesys_sdk, api_client, text)
    assert again.flow.id == flow.id
    assert genesys_sdk.ArchitectApi(api_client).get_flow(flow.id).published_version.id == "2.0"


def test_the_workflow_decides_which_output_runs(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    flow = genesys_sim.publish_workflow_yaml(screenpop_yaml())
    create_trigger(genesys_sdk, api_client, flow["id"], [genesys_sim.queue_id("Support")])
    receiver.webhook_status = 500

    (fired,) = genesys_sim.place_call("+15550199", "Support")["triggers"]

    assert (fired["success"], fired["branch"], fired["exitReason"]) == (False, "failure", "failed")


def test_a_json_trigger_gives_the_workflow_the_whole_event_as_flow_json_data(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    document = yaml.safe_load(screenpop_yaml())
    workflow = document["workflow"]
    workflow["variables"] = [{"jsonVariable": {"name": "Flow.jsonData", "isInput": True, "isOutput": False}}]
    inputs = workflow["states"][0]["state"]["actions"][0]["callData"]["category"]["Screenpop"]["dataAction"]
    inputs["Screenpop - notify"]["inputs"] = {
        "conversationId": {"exp": "Flow.jsonData.conversationId"},
        "ani": {"exp": "Flow.jsonData.ani"},
        "timestamp": {"exp": "ToString(Flow.jsonData.eventTime)"},
    }
    flow = genesys_sim.publish_workflow_yaml(yaml.safe_dump(document, sort_keys=False))
    trigger = create_trigger(genesys_sdk, api_client, flow["id"], [genesys_sim.queue_id("Support")])
    genesys_sdk.ProcessAutomationApi(api_client).put_processautomation_trigger(
        trigger.id,
        body=build(
            genesys_sdk,
            "UpdateTriggerRequest",
            version=trigger.version,
            name=trigger.name,
            topic_name=trigger.topic_name,
            enabled=True,
            target=build(
                genesys_sdk,
                "TriggerTarget",
                type="Workflow",
                id=flow["id"],
                workflow_target_settings=build(genesys_sdk, "WorkflowTargetSettings", data_format="Json"),
            ),
            match_criteria=trigger.match_criteria,
            event_ttl_seconds=60,
        ),
    )

    call = genesys_sim.place_call("+15550199", "Support")

    (fired,) = call["triggers"]
    acd_event = call["events"][1]["eventBody"]
    assert fired["input"] == {
        "conversationId": call["conversationId"],
        "ani": "tel:+15550199",
        "timestamp": str(acd_event["eventTime"]),
    }
    assert fired["success"]


def _without_failure_output(text: str) -> str:
    document = yaml.safe_load(text)
    del document["workflow"]["states"][0]["state"]["actions"][0]["callData"]["outputs"]["failure"]
    return yaml.safe_dump(document, sort_keys=False)


def _with_unknown_key_and_unreachable_action(text: str) -> str:
    document = yaml.safe_load(text)
    document["workflow"]["colour"] = "blue"
    actions = document["workflow"]["states"][0]["state"]["actions"]
    actions.append({"endWorkflow": {"name": "End Workflow", "exitReason": {"noValue": True}}})
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_without_failure_output, ["The callData output 'failure' is missing."]),
        (
            _with_unknown_key_and_unreachable_action,
            ["Unknown key 'colour'", "This action is unreachable"],
        ),
        (lambda text: text.replace("division: Home", "division: Head Office"), ["division named 'Head Office'"]),
        (lambda text: text.replace("exp: Flow.ani", "exp: Flow.caller"), ["uses Flow.caller, which is not declared"]),
        (lambda text: text.replace("Screenpop - notify", "Screenpop - gone"), ["Unable to find a published data"]),
        (lambda text: "workflow: [unclosed", ["not valid YAML"]),
        (lambda text: text.replace("workflow:", "inboundCall:", 1), ["top-level key 'workflow'"]),
    ],
)
def test_publish_jobs_refuse_what_architect_refuses(genesys_sim, genesys_sdk, receiver, change, expected):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)

    done, _ = publish_by_job(genesys_sdk, api_client, change(screenpop_yaml()))

    texts = [message.text for message in done.messages]
    assert done.status == "Failure", texts
    assert done.flow is None
    for text in expected:
        assert any(text in message for message in texts), texts
    assert {message.type for message in done.messages} >= {"Error"}
    assert genesys_sim.control("GET", "flows")["entities"] == []


def test_the_control_shortcut_refuses_with_an_error_body(genesys_sim, genesys_sdk, receiver):
    install_webhook_action(genesys_sdk, sdk_client(genesys_sdk, genesys_sim), receiver)

    with pytest.raises(requests.HTTPError) as refused:
        genesys_sim.publish_workflow_yaml(_without_failure_output(screenpop_yaml()))

    body = refused.value.response.json()
    assert (body["status"], body["code"]) == (400, "flow.validation.failed")
    assert "The callData output 'failure' is missing." in body["message"]
    assert body["contextId"]


def test_uploads_need_the_signed_headers_and_work_once(genesys_sim, genesys_sdk):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    job = genesys_sdk.ArchitectApi(api_client).post_flows_jobs()

    unsigned = requests.put(job.presigned_url, data=b"workflow: {}", timeout=10)
    signed = requests.put(job.presigned_url, data=b"workflow: {}", headers=job.headers, timeout=10)
    twice = requests.put(job.presigned_url, data=b"workflow: {}", headers=job.headers, timeout=10)

    assert (unsigned.status_code, signed.status_code, twice.status_code) == (403, 200, 403)
    assert "Authorization" not in job.headers  # a presigned URL needs no token


def test_triggers_refuse_a_saved_flow_until_it_is_published(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    architect = genesys_sdk.ArchitectApi(api_client)
    saved = architect.post_flows(body=build(genesys_sdk, "Flow", name="Screenpop inbound call", type="WORKFLOW"))

    with pytest.raises(genesys_sdk.rest.ApiException) as refused:
        create_trigger(genesys_sdk, api_client, saved.id, [genesys_sim.queue_id("Support")])
    done, _ = publish_by_job(genesys_sdk, api_client, screenpop_yaml())
    trigger = create_trigger(genesys_sdk, api_client, saved.id, [genesys_sim.queue_id("Support")])

    assert (saved.published_version, saved.saved_version.id) == (None, "1")
    assert refused.value.status == 400
    assert "is not published" in json.loads(refused.value.body)["message"]
    assert done.flow.id == saved.id
    assert trigger.target.id == saved.id


def test_the_home_division_by_id_and_name_and_renamed(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    authorization = genesys_sdk.AuthorizationApi(api_client)
    before = authorization.get_authorization_divisions_home()

    genesys_sim.rename_home_division("Head Office")
    after = authorization.get_authorization_divisions_home()
    refused, _ = publish_by_job(genesys_sdk, api_client, screenpop_yaml())
    accepted, _ = publish_by_job(genesys_sdk, api_client, screenpop_yaml(division="Head Office"))

    assert (before.name, before.home_division) == ("Home", True)
    assert (after.id, after.name) == (before.id, "Head Office")
    assert refused.status == "Failure"
    assert accepted.status == "Success"
    assert genesys_sdk.ArchitectApi(api_client).get_flow(accepted.flow.id).division.id == before.id


# Calls: trigger → workflow → data action → webhook


def test_a_call_fires_the_trigger_workflow_action_and_webhook(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    flow = genesys_sim.publish_workflow("Screenpop inbound call", "Screenpop - notify")
    support, billing = genesys_sim.queue_id("Support"), genesys_sim.queue_id("Billing")
    create_trigger(genesys_sdk, api_client, flow["id"], [support, billing])

    call = genesys_sim.place_call("+15550199", "Support", agent="blair")

    assert [event["topicName"].rsplit(".", 2)[-2:] for event in call["events"]] == [
        ["customer", "start"],
        ["acd", "start"],
        ["user", "start"],
    ]
    acd_event = call["events"][1]["eventBody"]
    assert acd_event["conversationId"] == call["conversationId"]
    assert (acd_event["ani"], acd_event["dnis"], acd_event["queueId"]) == ("tel:+15550199", "tel:+18005550100", support)
    assert (acd_event["mediaType"], acd_event["direction"], acd_event["provider"]) == ("VOICE", "INBOUND", "Edge")
    assert isinstance(acd_event["eventTime"], int)
    assert acd_event["eventTime"] > 1_600_000_000_000
    assert call["events"][2]["eventBody"]["userId"] == USERS["blair"]
    (fired,) = call["triggers"]
    assert (fired["success"], fired["webhook"]["status"], fired["flowName"]) == (True, 202, "Screenpop inbound call")
    assert fired["tokenRequest"]["url"] == receiver.url("/oauth/token")
    assert fired["tokenRequest"]["headers"]["Authorization"] == "Basic ***"
    assert [item["path"] for item in receiver.received] == ["/oauth/token", "/webhook"]
    delivered = json.loads(receiver.received[1]["body"])
    assert (delivered["conversation_id"], delivered["phone_number"], delivered["queue_id"]) == (
        call["conversationId"],
        "tel:+15550199",
        support,
    )
    assert delivered["agent_id"] == "${input.userId}"  # acd.start carries no userId: Genesys leaves it unresolved
    assert delivered["participant_id"] == acd_event["participantId"]
    assert delivered["timestamp"] == str(acd_event["eventTime"])  # epoch ms, as the workflow's ToString makes it


def test_calls_that_do_not_match_fire_nothing_and_transfers_fire_again(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    flow = genesys_sim.publish_workflow("Screenpop inbound call", "Screenpop - notify")
    create_trigger(
        genesys_sdk, api_client, flow["id"], [genesys_sim.queue_id("Support"), genesys_sim.queue_id("Billing")]
    )

    sales = genesys_sim.place_call("+15550100", "Sales")
    outbound = genesys_sim.place_call("+15550101", "Support", direction="OUTBOUND")
    chat = genesys_sim.place_call("+15550102", "Support", media_type="CHAT")
    call = genesys_sim.place_call("+15550199", "Support")
    to_agent = genesys_sim.transfer_call(call["conversationId"], "avery.admin@demo.example")
    to_queue = genesys_sim.transfer_call(call["conversationId"], queue="Billing")
    ended = genesys_sim.end_call(call["conversationId"])
    conversation = genesys_sim.control("GET", f"calls/{call['conversationId']}")

    assert (sales["triggers"], outbound["triggers"], chat["triggers"]) == ([], [], [])
    assert to_agent["triggers"] == []  # user.start only; the trigger listens to acd.start
    assert [event["topicName"].endswith(".user.start") for event in to_agent["events"]] == [True]
    assert len(to_queue["triggers"]) == 1  # the same conversation again: the product must dedupe
    webhook_bodies = [json.loads(item["body"]) for item in receiver.received if item["path"] == "/webhook"]
    assert [body["conversation_id"] for body in webhook_bodies] == [call["conversationId"]] * 2
    assert [body["queue_id"] for body in webhook_bodies] == [
        genesys_sim.queue_id("Support"),
        genesys_sim.queue_id("Billing"),
    ]
    assert ended["events"][0]["topicName"].endswith(".customer.end")
    agents = [p for p in conversation["participants"] if p["purpose"] == "agent"]
    assert [agent["calls"][0]["disconnectType"] for agent in agents[:-1]] == ["transfer", "transfer"]
    assert conversation["state"] == "disconnected"
    assert "endTime" in conversation


def test_calls_round_robin_between_the_seeded_agents(genesys_sim):
    agents = [genesys_sim.place_call(f"+1555010{n}")["events"][2]["eventBody"]["userId"] for n in range(3)]

    assert agents == [USERS["alex"], USERS["blair"], USERS["alex"]]


def test_a_call_in_another_org_only_fires_that_orgs_triggers(genesys_sim, genesys_sdk, receiver):
    install_webhook_action(genesys_sdk, sdk_client(genesys_sdk, genesys_sim), receiver)
    flow = genesys_sim.publish_workflow("Screenpop inbound call", "Screenpop - notify")
    create_trigger(genesys_sdk, sdk_client(genesys_sdk, genesys_sim), flow["id"], [genesys_sim.queue_id("Support")])

    call = genesys_sim.place_call("+15550199", "Support", org="other")

    assert call["events"][1]["eventBody"]["queueId"] == genesys_sim.queue_id("Support", OTHER_ORG_ID)
    assert call["triggers"] == []
    assert receiver.received == []


def test_trigger_quotas_and_event_ttl_drop_deliveries(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    install_webhook_action(genesys_sdk, api_client, receiver)
    support = [genesys_sim.queue_id("Support")]
    first = genesys_sim.publish_workflow("Screenpop inbound call", "Screenpop - notify")
    second = genesys_sim.publish_workflow("Another workflow", "Screenpop - notify")
    create_trigger(genesys_sdk, api_client, first["id"], support)
    create_trigger(genesys_sdk, api_client, second["id"], support)

    def outcomes() -> list[str | None]:
        return [fired.get("dropped") for fired in genesys_sim.place_call("+15550199", "Support")["triggers"]]

    defaults = genesys_sim.control("GET", "config")
    genesys_sim.configure(trigger_quota_per_minute=5, trigger_workflow_share=0.4)  # 2 a minute for each workflow
    by_workflow = [outcomes() for _ in range(3)]
    genesys_sim.configure(trigger_quota_per_minute=3, trigger_workflow_share=1.0)
    by_org_minute = [outcomes() for _ in range(2)]
    genesys_sim.configure(trigger_quota_per_minute=100, trigger_quota_per_hour=1)
    by_org_hour = outcomes()
    usage = genesys_sim.control("GET", "quotas")
    genesys_sim.configure(trigger_quota_per_hour=100, trigger_delivery_lag_seconds=61)  # the triggers' TTL is 60 s
    expired = genesys_sim.place_call("+15550199", "Support")["triggers"]

    assert (defaults["trigger_quota_per_minute"], defaults["trigger_quota_per_hour"]) == (6000, 36000)
    assert defaults["trigger_workflow_share"] == 0.8
    assert by_workflow == [[None, None], [None, None], ["workflow", "workflow"]]
    assert by_org_minute == [[None, None], [None, "minute"]]
    assert by_org_hour == [None, "hour"]
    (org,) = usage["organizations"]
    assert (org["orgId"], org["lastHour"], usage["limits"]["perHour"]) == (DEMO_ORG_ID, 1, 1)
    assert [fired["dropped"] for fired in expired] == ["ttl", "ttl"]
    assert "eventTTLSeconds" in expired[0]["error"]
    webhooks = [item for item in receiver.received if item["path"] == "/webhook"]
    assert len(webhooks) == 4 + 3 + 1  # nothing dropped reached the webhook


# Rate limits, faults, the log


def test_rate_limit_answers_429_with_retry_after(genesys_sim):
    genesys_sim.configure(rate_limit_per_minute=3)
    token, other = genesys_sim.admin_token(), genesys_sim.token_for("alex")

    answers = [genesys_sim.api("GET", "/api/v2/organizations/me", token=token) for _ in range(4)]
    other_client = genesys_sim.api("GET", "/api/v2/organizations/me", token=other)

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["inin-ratelimit-count"] for answer in answers[:3]] == ["1", "2", "3"]
    assert answers[0].headers["inin-ratelimit-allowed"] == "3"
    limited = answers[3]
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    body = limited.json()
    assert body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    assert (body["code"], body["status"]) == ("too.many.requests.retry.after", 429)
    assert body["contextId"] == limited.headers["inin-correlation-id"]
    assert other_client.status_code == 200


def test_forced_429s_and_the_sdk_retrying_them_silently(genesys_sim, genesys_sdk):
    genesys_sim.configure(faults=[{"path": "/api/v2/organizations/me", "count": 2, "status": 429, "retry_after": 0}])
    token = genesys_sim.admin_token()

    plain = [genesys_sim.api("GET", "/api/v2/organizations/me", token=token).status_code for _ in range(3)]
    genesys_sim.configure(faults=[{"path": "/api/v2/organizations/*", "count": 2, "status": 429, "retry_after": 0}])
    since = genesys_sim.log()[-1]["seq"]
    org = genesys_sdk.OrganizationApi(sdk_client(genesys_sdk, genesys_sim, token)).get_organizations_me()

    assert plain == [429, 429, 200]
    assert org.id == DEMO_ORG_ID  # three requests on the wire, one answer for the caller
    assert [entry["status"] for entry in genesys_sim.log(since=since, direction="in")] == [429, 429, 200]


def test_log_records_requests_both_ways_without_secrets(genesys_sim, genesys_sdk, receiver):
    api_client = sdk_client(genesys_sdk, genesys_sim)
    action = install_webhook_action(genesys_sdk, api_client, receiver)
    genesys_sdk.IntegrationsApi(api_client).post_integrations_action_execute(
        action.id, body={"conversationId": "c-1", "ani": "tel:+15550199"}
    )

    entries = genesys_sim.log()

    text = json.dumps(entries)
    assert "demo-admin-secret" not in text
    assert "webhook-secret" not in text
    assert "webhook-token-1" not in text
    token_request = next(e for e in entries if e["direction"] == "in" and e["path"] == "/oauth/token")
    assert token_request["headers"]["Authorization"] == "Basic ***"
    outgoing = [e for e in entries if e["direction"] == "out"]
    assert [(e["purpose"], e["status"]) for e in outgoing] == [("auth", 200), ("action", 202)]
    assert outgoing[1]["headers"]["Authorization"] == "Bearer ***"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
