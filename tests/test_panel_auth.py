"""The panel's login on the server side: the widget page, and `POST /api/v1/panel/session` verifying the agent with
the Genesys simulator (users/me + organisation -> tenant, token client, participation), before any panel token.

The simulator's request log shows what was sent to "Genesys": a refused environment leaves it empty.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing

from screenpop.panel_tokens import SALT, panel_token_verify
from tests.fixtures.genesys_sim import CODE_CLIENT_ID, DEMO_ORG_ID, IMPLICIT_CLIENT_ID, USERS
from tests.fixtures.processes import ROOT

CALLBACK = "http://127.0.0.1:8000/widget/"  # PUBLIC_BASE_URL (its default here) + /widget/


@pytest.fixture
def simulators_allowed(settings: Any) -> Any:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    return settings


@pytest.fixture
def environment(genesys_sim: Any) -> str:
    return urlsplit(genesys_sim.base_url).netloc


@pytest.fixture
def demo_tenant(simulators_allowed: Any, make_tenant: Any, environment: str) -> Any:
    tenant = make_tenant(org_id=DEMO_ORG_ID, name="Demo Org", region=environment)
    tenant.panel_client_id = IMPLICIT_CLIENT_ID
    tenant.save()
    return tenant


@pytest.fixture
def call(genesys_sim: Any) -> dict[str, Any]:
    """An inbound call answered by Alex (no trigger is provisioned, so nothing else happens)."""
    return genesys_sim.place_call("+12015550123", "Support", agent=USERS["alex"])


def genesys_requests(genesys_sim: Any) -> list[dict[str, Any]]:
    """What reached the simulator's login and API (its control API excluded)."""
    return [entry for entry in genesys_sim.log(direction="in") if not entry["path"].startswith("/_sim/")]


def open_session(client: Any, **body: Any) -> Any:
    return client.post("/api/v1/panel/session", data=json.dumps(body), content_type="application/json")


# -- the session ------------------------------------------------------------------------------------------------


def test_a_participant_gets_a_panel_token_bound_to_tenant_conversation_and_agent(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    token = genesys_sim.token_for("alex")

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["agent"] == {"id": USERS["alex"], "name": "Alex Agent"}
    assert body["tenant"] == {"name": "Demo Org"}
    assert "genesys_token" not in body  # the page already has it (implicit grant)
    grant = panel_token_verify(body["panel_token"], conversation_id=call["conversationId"])
    assert (grant.tenant_id, grant.user_id) == (demo_tenant.pk, USERS["alex"])
    sent = [(entry["method"], entry["path"], entry["query"]) for entry in genesys_requests(genesys_sim)]
    assert sent[-2:] == [
        ("GET", "/api/v2/users/me", {"expand": "organization,token"}),
        ("GET", f"/api/v2/conversations/{call['conversationId']}", {}),
    ]
    assert all(entry["headers"]["Authorization"] == "Bearer ***" for entry in genesys_requests(genesys_sim)[-2:])


def test_an_organisation_without_an_installation_is_told_so(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str
) -> None:
    other_call = genesys_sim.place_call("+12015550123", "Support", org="other", agent=USERS["casey"])
    token = genesys_sim.token_for("casey")

    response = open_session(
        client, genesys_token=token, conversation_id=other_call["conversationId"], environment=environment
    )

    assert response.status_code == 403
    assert response.json()["error"] == "not_installed"
    assert "not installed for your organisation" in response.json()["detail"]
    assert "panel_token" not in response.json()
    # The organisation decided it: the conversation was never asked for.
    assert not [entry for entry in genesys_requests(genesys_sim) if "/conversations/" in entry["path"]]


def test_an_agent_who_is_not_on_the_conversation_gets_no_token(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    token = genesys_sim.token_for("blair")

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": "not_your_conversation",
        "detail": "This call is not yours: you are not a participant of this conversation in Genesys Cloud.",
    }


def test_after_a_transfer_the_new_agent_is_a_participant(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    genesys_sim.transfer_call(call["conversationId"], USERS["blair"])

    for agent in ("blair", "alex"):  # Alex keeps access for wrap-up
        response = open_session(
            client,
            genesys_token=genesys_sim.token_for(agent),
            conversation_id=call["conversationId"],
            environment=environment,
        )
        assert response.status_code == 200, (agent, response.content)


def test_an_unknown_conversation_is_not_yours(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str
) -> None:
    response = open_session(
        client, genesys_token=genesys_sim.token_for("alex"), conversation_id="no-such-call", environment=environment
    )
    assert (response.status_code, response.json()["error"]) == (403, "not_your_conversation")


def test_an_expired_genesys_token_means_login_required(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    expired = genesys_sim.control("POST", "tokens", {"user": "alex", "expires_in": 0})["access_token"]

    response = open_session(
        client, genesys_token=expired, conversation_id=call["conversationId"], environment=environment
    )

    assert (response.status_code, response.json()["error"]) == (401, "login_required")


@pytest.mark.parametrize("token", ["jeton-\u00e9t\u00e9-\u2603", "abc\r\nX-Injected: 1", "abc def", "\u65e5\u672c"])
def test_a_genesys_token_no_header_can_carry_is_a_422_and_never_reaches_genesys(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any], token: str
) -> None:
    """Outside RFC 6750's token characters (non-Latin-1 text made building the header raise: a 500)."""
    before = len(genesys_requests(genesys_sim))

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )

    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == ("validation_failed", "genesys_token")
    assert len(genesys_requests(genesys_sim)) == before


def test_the_genesys_client_refuses_a_token_no_header_can_carry(
    genesys_sim: Any, simulators_allowed: Any, environment: str
) -> None:
    from screenpop.genesys.client import GenesysClient
    from screenpop.genesys.errors import GenesysAuthError

    with pytest.raises(GenesysAuthError):
        GenesysClient(environment).users_me("t\u00f6ken\u2603")


def test_a_token_of_another_oauth_client_is_refused(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    """A token some other app obtained for the agent cannot be replayed here (the tenant's panel client only)."""
    foreign = genesys_sim.control("POST", "tokens", {"user": "alex", "client_id": CODE_CLIENT_ID})["access_token"]

    response = open_session(
        client, genesys_token=foreign, conversation_id=call["conversationId"], environment=environment
    )

    assert (response.status_code, response.json()["error"]) == (403, "wrong_client")


def test_a_role_without_conversation_permission_is_explained(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    genesys_sim.configure(
        faults=[{"path": "/api/v2/conversations/*", "count": 1, "status": 403, "code": "missing.permissions"}]
    )

    response = open_session(
        client,
        genesys_token=genesys_sim.token_for("alex"),
        conversation_id=call["conversationId"],
        environment=environment,
    )

    assert (response.status_code, response.json()["error"]) == (403, "genesys_permission")


def test_genesys_down_is_a_503_the_panel_retries(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    token = genesys_sim.token_for("alex")
    genesys_sim.configure(faults=[{"path": "/api/v2/users/me", "count": 2, "status": 503, "retry_after": 0}])

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )

    assert (response.status_code, response.json()["error"]) == (503, "genesys_unavailable")
    assert [e["status"] for e in genesys_requests(genesys_sim) if e["path"] == "/api/v2/users/me"] == [503, 503]


def test_genesys_rate_limiting_the_panel_client_is_a_429_with_retry_after(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    """A 429 is the callers' own volume (Genesys limits each OAuth client), not an outage: never a 5xx."""
    token = genesys_sim.token_for("alex")
    genesys_sim.configure(faults=[{"path": "/api/v2/users/me", "count": 2, "status": 429, "retry_after": 0}])

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )

    assert (response.status_code, response.json()["error"]) == (429, "genesys_rate_limited")
    assert response["Retry-After"] == "1"
    assert response.json()["retry_after"] == 1


def test_a_pkce_code_is_exchanged_by_the_server(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    demo_tenant.panel_client_id = CODE_CLIENT_ID
    demo_tenant.save()
    genesys_sim.configure(redirect_uris=[CALLBACK])
    verifier = "v" * 20 + "-._~" * 8
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    authorized = genesys_sim.session.get(
        f"{genesys_sim.base_url}/oauth/authorize",
        params={
            "client_id": CODE_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
            "login_hint": "alex",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(authorized.headers["Location"]).query)["code"][0]

    response = open_session(
        client,
        code=code,
        code_verifier=verifier,
        client_id=CODE_CLIENT_ID,
        conversation_id=call["conversationId"],
        environment=environment,
    )

    assert response.status_code == 200, response.content
    assert response.json()["genesys_token"]  # for silent renewals
    exchange = next(e for e in genesys_requests(genesys_sim) if e["path"] == "/oauth/token")
    assert exchange["body"]["grant_type"] == "authorization_code"
    assert exchange["body"]["redirect_uri"] == CALLBACK
    assert "Authorization" not in exchange["headers"]  # PKCE: no client secret anywhere


@pytest.mark.parametrize(
    "bad_environment",
    [
        "evil.example.com",
        "mypurecloud.com.evil.net",
        "https://apps.mypurecloud.com.evil.net",
        "http://apps.mypurecloud.com",
        "https://apps.mypurecloud.com/path",
        "SIMULATOR/../",
        "SIMULATOR@evil.example.com",
        "prod-nowhere",
    ],
)
def test_an_environment_outside_the_allow_list_is_refused_before_any_request(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any], bad_environment: str
) -> None:
    token = genesys_sim.token_for("alex")
    before = len(genesys_requests(genesys_sim))

    response = open_session(
        client,
        genesys_token=token,
        conversation_id=call["conversationId"],
        environment=bad_environment.replace("SIMULATOR", environment),
    )

    assert (response.status_code, response.json()["error"]) == (400, "unsupported_environment")
    assert len(genesys_requests(genesys_sim)) == before


def test_the_simulator_is_refused_when_the_deployment_does_not_allow_simulators(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any], settings: Any
) -> None:
    token = genesys_sim.token_for("alex")
    before = len(genesys_requests(genesys_sim))
    settings.SCREENPOP_ALLOW_SIMULATORS = False

    response = open_session(
        client, genesys_token=token, conversation_id=call["conversationId"], environment=environment
    )
    page = client.get("/widget/", {"gcConversationId": "c-1", "gcTargetEnv": environment, "clientId": "x"})

    assert (response.status_code, response.json()["error"]) == (400, "unsupported_environment")
    assert page.status_code == 400
    assert len(genesys_requests(genesys_sim)) == before


def test_a_session_needs_a_token_or_a_code(client: Any, demo_tenant: Any, environment: str) -> None:
    response = open_session(client, conversation_id="c-1", environment=environment)
    assert (response.status_code, response.json()["field"]) == (422, "genesys_token")


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 20000 + "]" * 20000,
        '{"conversation_id": "c-1", "genesys_token": "\\u0000"}',
        '{"conversation_id": "\\ud800"}',
    ],
)
def test_bodies_no_parser_or_database_can_take_are_4xx_not_500(client: Any, raw: str) -> None:
    """Anyone can post to the session endpoint: nesting too deep, a NUL or a lone surrogate is refused cleanly."""
    response = client.post("/api/v1/panel/session", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["error"]


# -- the widget page ---------------------------------------------------------------------------------------------


def widget_query(environment: str, **overrides: str) -> dict[str, str]:
    query = {
        "gcConversationId": "6f0d8a3e-2b6c-4a53-9d7e-1c2b3a4d5e6f",
        "gcHostOrigin": "https://apps.mypurecloud.ie",
        "gcTargetEnv": "prod-euw1",
        "gcLangTag": "en-us",
        "clientId": IMPLICIT_CLIENT_ID,
    }
    query.update(overrides)
    return query


def config_of(response: Any) -> dict[str, Any]:
    match = re.search(rb'<script id="sp-config" type="application/json">(.*?)</script>', response.content, re.S)
    assert match, response.content[:500]
    return json.loads(match.group(1))


def csp_of(response: Any) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }


def test_the_widget_page_is_framed_by_genesys_only_and_runs_no_inline_script(client: Any, db: Any) -> None:
    response = client.get("/widget/", widget_query(""))

    assert response.status_code == 200
    policy = csp_of(response)
    assert "https://apps.mypurecloud.ie" in policy["frame-ancestors"].split()
    assert "https://apps.mypurecloud.com" in policy["frame-ancestors"].split()
    assert "'none'" not in policy["frame-ancestors"]
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://testserver"
    assert "X-Frame-Options" not in response
    scripts = re.findall(rb"<script([^>]*)>(.*?)</script>", response.content, re.S)
    for attributes, body in scripts:
        assert b"src=" in attributes or b'type="application/json"' in attributes, attributes
        assert b"src=" not in attributes or not body.strip()
    assert b"onerror=" not in response.content
    assert b"onclick=" not in response.content
    config = config_of(response)
    assert config["authorizeUrl"] == "https://login.mypurecloud.ie/oauth/authorize"
    assert config["environment"] == "mypurecloud.ie"
    assert config["redirectUri"] == CALLBACK
    assert config["sdk"] == {"gcHostOrigin": "https://apps.mypurecloud.ie", "gcTargetEnv": "prod-euw1"}


def test_the_widget_is_also_the_login_redirect_uri(client: Any, db: Any) -> None:
    """Genesys returns to the registered URI without the widget's query: the page hands the login back, by script
    from /static/, and may be framed like the widget."""
    for query in ({}, {"code": "c0de", "state": "nonce.cXVlcnk"}, {"error": "access_denied", "state": "s"}):
        response = client.get("/widget/", query)
        assert response.status_code == 200
        # (in production the static file name carries its content hash: widget-auth.<hash>.js)
        assert re.search(rb"screenpop/widget-auth(\.[0-9a-f]{12})?\.js", response.content)
        assert b"sp-config" not in response.content
        assert "https://apps.mypurecloud.com" in csp_of(response)["frame-ancestors"]
        assert response["Referrer-Policy"] == "no-referrer"


def test_other_pages_still_refuse_framing(client: Any, db: Any) -> None:
    assert "frame-ancestors 'none'" in client.get("/healthz")["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gcTargetEnv": "evil.example.com"}, "gcTargetEnv"),
        ({"gcTargetEnv": "prod", "gcHostOrigin": "https://apps.mypurecloud.ie"}, "gcHostOrigin"),
        ({"gcHostOrigin": "https://evil.example.com"}, "gcHostOrigin"),
        ({"gcTargetEnv": "127.0.0.1:9"}, "gcTargetEnv"),
    ],
)
def test_a_widget_url_outside_the_allow_list_gets_a_page_without_script(
    client: Any, db: Any, overrides: dict[str, str], field: str
) -> None:
    response = client.get("/widget/", widget_query("", **overrides))

    assert response.status_code == 400
    assert b"<script" not in response.content
    assert b"Unsupported Genesys Cloud environment" in response.content
    assert "https://apps.mypurecloud.com" in csp_of(response)["frame-ancestors"]  # the message shows in Genesys


def test_a_widget_url_without_client_id_says_the_install_is_incomplete(client: Any, db: Any) -> None:
    response = client.get("/widget/", widget_query("", clientId=""))
    assert response.status_code == 400
    assert b"The panel is not set up correctly" in response.content


@pytest.mark.parametrize(("tag", "language", "title"), [("es", "es", "Tickets de Freshdesk"), ("pt-BR", "pt-br", "")])
def test_the_widget_speaks_the_genesys_language(client: Any, db: Any, tag: str, language: str, title: str) -> None:
    response = client.get("/widget/", widget_query("", gcLangTag=tag, theme="dark"))

    assert f'<html lang="{language}" data-theme="dark" flare-mode="dark">'.encode() in response.content
    assert config_of(response)["language"] == language
    if title:
        assert f"<title>{title}</title>".encode() in response.content


def test_the_javascript_catalogue_follows_the_widget_language(client: Any, db: Any) -> None:
    spanish = client.get("/widget/jsi18n/es.js").content.decode()
    japanese = client.get("/widget/jsi18n/ja.js").content.decode()

    assert "Freshdesk no disponible" in spanish
    assert "Crear ticket" in spanish
    assert json.dumps("チケットを作成")[1:-1] in japanese  # the catalogue escapes non-ASCII


def test_the_panel_never_imports_the_genesys_sdk() -> None:
    """DESIGN.md §7: ~2 s and ~200 MB per process; the panel's login uses its own small client."""
    code = (
        "import sys, django; django.setup()\n"
        "import screenpop.urls, screenpop.panel.views, screenpop.panel.services, screenpop.panel.demo\n"
        "print('PureCloudPlatformClientV2' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "genesys_app.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_panel_tokens_are_not_cookies(
    client: Any, genesys_sim: Any, demo_tenant: Any, environment: str, call: dict[str, Any]
) -> None:
    response = open_session(
        client,
        genesys_token=genesys_sim.token_for("alex"),
        conversation_id=call["conversationId"],
        environment=environment,
    )
    assert not response.cookies
    claims = signing.TimestampSigner(salt=SALT, sep=".").unsign_object(response.json()["panel_token"])
    assert claims == {"t": demo_tenant.pk, "c": call["conversationId"], "u": USERS["alex"]}
