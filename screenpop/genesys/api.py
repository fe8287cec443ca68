"""`GenesysApi`: the Platform API calls the install, the sync and the uninstall make, on plain JSON values.

Its methods take and return camelCase dicts (as on the wire), so callers never see SDK models, and raise only
`screenpop.genesys.errors.GenesysError` kinds. Bodies are handed to the SDK as dicts: its serializer sends them as
written. Listings are followed to their last page (`nextUri`, page numbers or cursors alike).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from screenpop.genesys.errors import (
    GenesysAuthError,
    GenesysConflict,
    GenesysError,
    GenesysNotFound,
    GenesysRequestRefused,
)
from screenpop.genesys.transport import api_client, error_from, is_transport_or_api_error, presigned_upload, sdk

PAGE_SIZE = 100
_AUTH_SETTINGS = ["PureCloud OAuth"]
_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Login:
    """What a login produced: the API, the access token (kept server-side only) and its lifetime."""

    api: GenesysApi
    access_token: str
    expires_in: int


def login_with_pkce_code(
    *, environment: str, client_id: str, code: str, code_verifier: str, redirect_uri: str
) -> Login:
    """Exchange an authorization code (PKCE, no client secret) for a user token."""
    client = api_client(environment)
    try:
        _, answer = client.get_pkce_token(client_id, code_verifier, code, redirect_uri)
    except Exception as exception:
        if is_transport_or_api_error(exception):
            raise _login_error(exception, "complete the login") from exception
        raise
    return Login(GenesysApi(environment, client), answer["access_token"], int(answer.get("expires_in") or 3600))


def login_with_client_credentials(*, environment: str, client_id: str, client_secret: str) -> Login:
    """A client-credentials token (the scripted install's admin client, or the tenant's sync client)."""
    client = api_client(environment)
    try:
        client.get_client_credentials_token(client_id, client_secret)  # sets client.access_token; no expiry kept
    except Exception as exception:
        if is_transport_or_api_error(exception):
            raise _login_error(exception, "log in with the OAuth client") from exception
        raise
    return Login(GenesysApi(environment, client), client.access_token, 3600)


def _login_error(exception: Exception, what: str) -> GenesysError:
    error = error_from(exception, what)
    if isinstance(error, GenesysRequestRefused | GenesysNotFound):  # OAuth errors are 400s: invalid_grant...
        return GenesysAuthError(f"{error.detail} Start the login again.", status=error.status)
    return error


def api_with_token(environment: str, access_token: str) -> GenesysApi:
    client = api_client(environment)
    client.access_token = access_token
    return GenesysApi(environment, client)


class GenesysApi:
    """One organisation's Platform API, as the token's user or client. Build it with `api_with_token` or a login."""

    def __init__(self, environment: str, client: Any) -> None:
        self.environment = environment
        self._client = client

    def __repr__(self) -> str:
        return f"<GenesysApi {self.environment}>"

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def _api(self, name: str) -> Any:
        return getattr(sdk(), name)(self._client)

    def _plain(self, value: Any) -> Any:
        """An SDK model (or list of them) as the JSON the platform sent: camelCase keys, no None fields."""
        return self._client.sanitize_for_serialization(value)

    def _call(self, what: str, api: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._plain(getattr(self._api(api), method)(*args, **kwargs))
        except GenesysError:
            raise
        except Exception as exception:
            if is_transport_or_api_error(exception):
                raise error_from(exception, what) from exception
            raise

    def _follow(self, what: str, first: Any) -> Iterator[dict[str, Any]]:
        """Every entity of a listing, following `nextUri` (page numbers or cursors) until it is absent."""
        page = first
        for _ in range(1000):
            yield from page.get("entities") or []
            next_uri = page.get("nextUri")
            if not next_uri:
                return
            parts = urlsplit(next_uri)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            try:
                raw = self._client.call_api(
                    path,
                    "GET",
                    header_params=dict(_JSON_HEADERS),
                    response_type="object",
                    auth_settings=_AUTH_SETTINGS,
                )
            except Exception as exception:
                if is_transport_or_api_error(exception):
                    raise error_from(exception, what) from exception
                raise
            page = raw if isinstance(raw, dict) else {}

    # -- identity ---------------------------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """`users/me` with the organisation and the user's roles and permissions (user tokens only)."""
        return self._call("read your user", "UsersApi", "get_users_me", expand=["organization", "authorization"])

    def token_info(self) -> dict[str, Any]:
        """`tokens/me`: the token's organisation and OAuth client (works for client credentials too)."""
        return self._call("read the token", "TokensApi", "get_tokens_me")

    def integration_types(self) -> list[dict[str, Any]]:
        first = self._call("list integration types", "IntegrationsApi", "get_integrations_types", page_size=PAGE_SIZE)
        return list(self._follow("list integration types", first))

    # -- conversations ----------------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """`GET /api/v2/conversations/{id}`: the participants, their times, wrap-ups and attributes."""
        return self._call("read the conversation", "ConversationsApi", "get_conversation", conversation_id)

    def participant_attributes_set(self, conversation_id: str, participant_id: str, attributes: dict[str, str]) -> None:
        """Merge string `attributes` into a participant's (reference §12 "Participant data")."""
        self._call(
            "write the participant's attributes",
            "ConversationsApi",
            "patch_conversation_participant_attributes",
            conversation_id,
            participant_id,
            {"attributes": attributes},
        )

    def conversation_details(self, conversation_id: str) -> dict[str, Any]:
        """`GET /api/v2/analytics/conversations/{id}/details`: participants' sessions with their metrics (tTalk,
        tHeld, tAcw in ms)."""
        return self._call(
            "read the conversation's analytics",
            "ConversationsApi",
            "get_analytics_conversation_details",
            conversation_id,
        )

    def wrapup_code(self, code_id: str) -> dict[str, Any]:
        """`GET /api/v2/routing/wrapupcodes/{id}`: the code's `name`."""
        return self._call("read the wrap-up code", "RoutingApi", "get_routing_wrapupcode", code_id)

    # -- routing ----------------------------------------------------------------------------------------------------

    def queues_page(self, *, name: str | None = None, page: int = 1, page_size: int = 25) -> dict[str, Any]:
        """One page of the org's queues sorted by name; `name` matches as Genesys does (`*` wildcards)."""
        kwargs: dict[str, Any] = {"page_number": page, "page_size": page_size, "sort_order": "asc"}
        if name:
            kwargs["name"] = name
        return self._call("list queues", "RoutingApi", "get_routing_queues", **kwargs)

    def queues(self) -> list[dict[str, Any]]:
        first = self.queues_page(page_size=PAGE_SIZE)
        return list(self._follow("list queues", first))

    # -- integrations and credentials --------------------------------------------------------------------------------

    def integrations(self, *, type_id: str) -> list[dict[str, Any]]:
        first = self._call(
            "list integrations",
            "IntegrationsApi",
            "get_integrations",
            page_size=PAGE_SIZE,
            integration_type=type_id,
            expand=["config.current"],
        )
        return list(self._follow("list integrations", first))

    def integration(self, integration_id: str) -> dict[str, Any]:
        return self._call(
            "read an integration", "IntegrationsApi", "get_integration", integration_id, expand=["config.current"]
        )

    def integration_create(self, *, type_id: str, name: str) -> dict[str, Any]:
        body = {"name": name, "integrationType": {"id": type_id}}
        return self._call(f"create the integration {name!r}", "IntegrationsApi", "post_integrations", body=body)

    def integration_config(self, integration_id: str) -> dict[str, Any]:
        return self._call(
            "read an integration's configuration", "IntegrationsApi", "get_integration_config_current", integration_id
        )

    def integration_config_update(
        self, integration_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """Apply `change` (current configuration → wanted one) with optimistic concurrency.

        Reads `config/current`, and PUTs the result with the version read, unless nothing changes. On a 409 (the
        configuration moved on in between) it re-reads and applies `change` once more; a second 409 is raised as
        `GenesysConflict`. Returns the configuration now in Genesys and whether it was written.
        """
        return self._versioned_update(
            read=lambda: self.integration_config(integration_id),
            write=lambda wanted: self._call(
                "save an integration's configuration",
                "IntegrationsApi",
                "put_integration_config_current",
                integration_id,
                body=wanted,
            ),
            change=change,
            what="The integration's configuration",
        )

    def integration_set_state(self, integration_id: str, intended_state: str) -> dict[str, Any]:
        return self._call(
            "enable an integration",
            "IntegrationsApi",
            "patch_integration",
            integration_id,
            body={"intendedState": intended_state},
        )

    def integration_delete(self, integration_id: str) -> None:
        self._call("delete an integration", "IntegrationsApi", "delete_integration", integration_id)

    def credentials(self) -> list[dict[str, Any]]:
        first = self._call(
            "list credentials", "IntegrationsApi", "get_integrations_credentials_listing", page_size=PAGE_SIZE
        )
        return list(self._follow("list credentials", first))

    def credential(self, credential_id: str) -> dict[str, Any]:
        """The credential; Genesys masks secret fields (`********`)."""
        return self._call("read a credential", "IntegrationsApi", "get_integrations_credential", credential_id)

    def credential_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("create a credential", "IntegrationsApi", "post_integrations_credentials", body=body)

    def credential_put(self, credential_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "update a credential", "IntegrationsApi", "put_integrations_credential", credential_id, body=body
        )

    def credential_delete(self, credential_id: str) -> None:
        self._call("delete a credential", "IntegrationsApi", "delete_integrations_credential", credential_id)

    # -- data actions -----------------------------------------------------------------------------------------------

    def actions(self, *, name: str, include_auth: bool = False) -> list[dict[str, Any]]:
        """Published actions whose name contains `name` (Genesys matches partially)."""
        first = self._call(
            "list data actions",
            "IntegrationsApi",
            "get_integrations_actions",
            page_size=PAGE_SIZE,
            name=name,
            include_auth_actions="true" if include_auth else "false",
        )
        return list(self._follow("list data actions", first))

    def action_drafts(self, *, name: str) -> list[dict[str, Any]]:
        first = self._call(
            "list data action drafts",
            "IntegrationsApi",
            "get_integrations_actions_drafts",
            page_size=PAGE_SIZE,
            name=name,
        )
        return list(self._follow("list data action drafts", first))

    def action(self, action_id: str) -> dict[str, Any]:
        """The published action with its configuration and contract."""
        return self._call(
            "read a data action",
            "IntegrationsApi",
            "get_integrations_action",
            action_id,
            expand="contract",
            include_config=True,
        )

    def action_draft(self, action_id: str) -> dict[str, Any]:
        return self._call(
            "read a data action draft",
            "IntegrationsApi",
            "get_integrations_action_draft",
            action_id,
            expand="contract",
            include_config=True,
        )

    def action_draft_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("create a data action", "IntegrationsApi", "post_integrations_actions_drafts", body=body)

    def action_draft_open(self, action_id: str) -> dict[str, Any]:
        """A draft of a published action: a new one, or the one already open."""
        try:
            return self._call(
                "open a data action draft", "IntegrationsApi", "post_integrations_action_draft", action_id
            )
        except GenesysConflict:
            return self.action_draft(action_id)

    def action_draft_update(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "update a data action draft", "IntegrationsApi", "patch_integrations_action_draft", action_id, body=body
        )

    def action_publish(self, action_id: str, version: int) -> dict[str, Any]:
        return self._call(
            "publish a data action",
            "IntegrationsApi",
            "post_integrations_action_draft_publish",
            action_id,
            body={"version": version},
        )

    def action_delete(self, action_id: str) -> None:
        self._call("delete a data action", "IntegrationsApi", "delete_integrations_action", action_id)

    def action_draft_delete(self, action_id: str) -> None:
        self._call("delete a data action draft", "IntegrationsApi", "delete_integrations_action_draft", action_id)

    def action_test(self, action_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """`POST .../actions/{id}/test`: runs the published action and answers 200 with what happened,
        `{operations: [{step, name, success, result|error}], success, finalResult, error}`."""
        return self._call(
            "test the data action", "IntegrationsApi", "post_integrations_action_test", action_id, body=inputs
        )

    # -- OAuth clients and roles ------------------------------------------------------------------------------------

    def oauth_clients(self) -> list[dict[str, Any]]:
        first = self._call("list OAuth clients", "OAuthApi", "get_oauth_clients")
        return list(self._follow("list OAuth clients", first))

    def oauth_client(self, client_id: str) -> dict[str, Any]:
        return self._call("read an OAuth client", "OAuthApi", "get_oauth_client", client_id)

    def oauth_client_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """The new client, with its `secret` (the only answer that carries it)."""
        return self._call(f"create the OAuth client {body.get('name')!r}", "OAuthApi", "post_oauth_clients", body=body)

    def oauth_client_put(self, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("update an OAuth client", "OAuthApi", "put_oauth_client", client_id, body=body)

    def oauth_client_delete(self, client_id: str) -> None:
        self._call("delete an OAuth client", "OAuthApi", "delete_oauth_client", client_id)

    def roles(self, *, name: str) -> list[dict[str, Any]]:
        first = self._call("list roles", "AuthorizationApi", "get_authorization_roles", page_size=PAGE_SIZE, name=name)
        return list(self._follow("list roles", first))

    def role(self, role_id: str) -> dict[str, Any]:
        return self._call("read a role", "AuthorizationApi", "get_authorization_role", role_id)

    def role_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            f"create the role {body.get('name')!r}", "AuthorizationApi", "post_authorization_roles", body=body
        )

    def role_put(self, role_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("update a role", "AuthorizationApi", "put_authorization_role", role_id, body=body)

    def role_delete(self, role_id: str) -> None:
        self._call("delete a role", "AuthorizationApi", "delete_authorization_role", role_id)

    def home_division(self) -> dict[str, Any]:
        """The org's home division, `{id, name, ...}`: its name can be changed by the org's admins."""
        return self._call("read the home division", "AuthorizationApi", "get_authorization_divisions_home")

    def role_users_add(self, role_id: str, user_ids: list[str]) -> None:
        self._call("give you the app's role", "AuthorizationApi", "put_authorization_role_users_add", role_id, user_ids)

    # -- workflows and triggers -------------------------------------------------------------------------------------

    def workflows(self, *, name: str | None = None) -> list[dict[str, Any]]:
        """The org's workflows, all of them or those Genesys matches to `name` (documented only as "Name": whether
        it takes a `*` wildcard is unconfirmed, so search by prefix on the full list instead)."""
        first = self._call(
            "look for the workflow", "ArchitectApi", "get_flows", type=["workflow"], name=name, page_size=PAGE_SIZE
        )
        return list(self._follow("look for the workflow", first))

    def flow(self, flow_id: str) -> dict[str, Any]:
        return self._call("read the workflow", "ArchitectApi", "get_flow", flow_id)

    def flow_job_create(self) -> dict[str, Any]:
        """Register an Architect publish job: `{id, presignedUrl, headers}`; upload the YAML there next."""
        return self._call("start publishing the workflow", "ArchitectApi", "post_flows_jobs")

    def flow_job(self, job_id: str) -> dict[str, Any]:
        """The job's `status` (`Registered`, `Started`, `Success`, `Failure`), its `flow` and `messages`."""
        return self._call("read the publish job", "ArchitectApi", "get_flows_job", job_id, expand=["messages"])

    def flow_job_upload(self, job: dict[str, Any], content: bytes) -> None:
        """PUT the workflow's YAML to the job's presigned URL with the headers Genesys gave (no bearer token)."""
        presigned_upload(job["presignedUrl"], dict(job.get("headers") or {}), content)

    def workflow_delete(self, flow_id: str) -> None:
        self._call("delete the workflow", "ArchitectApi", "delete_flow", flow_id)

    def triggers(self) -> list[dict[str, Any]]:
        first = self._call(
            "list triggers", "ProcessAutomationApi", "get_processautomation_triggers", page_size=str(PAGE_SIZE)
        )
        return list(self._follow("list triggers", first))

    def trigger(self, trigger_id: str) -> dict[str, Any]:
        return self._call("read the trigger", "ProcessAutomationApi", "get_processautomation_trigger", trigger_id)

    def trigger_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("create the trigger", "ProcessAutomationApi", "post_processautomation_triggers", body=body)

    def trigger_update(
        self, trigger_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """Like `integration_config_update`, for a trigger: read, change, PUT with its `version`, re-read on a 409."""
        return self._versioned_update(
            read=lambda: self.trigger(trigger_id),
            write=lambda wanted: self._call(
                "update the trigger", "ProcessAutomationApi", "put_processautomation_trigger", trigger_id, body=wanted
            ),
            change=change,
            what="The trigger",
            read_only=("id", "selfUri"),
        )

    @staticmethod
    def _versioned_update(
        *,
        read: Callable[[], dict[str, Any]],
        write: Callable[[dict[str, Any]], dict[str, Any]],
        change: Callable[[dict[str, Any]], dict[str, Any]],
        what: str,
        read_only: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], bool]:
        """Read, apply `change`, and write with the version read, unless nothing changes; on a 409 re-read and apply
        once more, a second 409 is raised as `GenesysConflict`. Returns the object now in Genesys and whether it was
        written."""
        for attempt in (1, 2):
            current = read()
            wanted = change(json.loads(json.dumps(current)))
            if not differs(current, wanted):
                return current, False
            wanted["version"] = current["version"]
            for name in read_only:
                wanted.pop(name, None)
            try:
                return write(wanted), True
            except GenesysConflict as conflict:
                if attempt == 2:
                    raise GenesysConflict(
                        f"{what} changed in Genesys Cloud while the app was saving it, twice in a row. Wait until "
                        "nobody is editing it in Genesys Cloud, then retry.",
                        status=conflict.status,
                        genesys_code=conflict.genesys_code,
                        context_id=conflict.context_id,
                    ) from conflict
        raise AssertionError("unreachable")

    def trigger_delete(self, trigger_id: str) -> None:
        self._call("delete the trigger", "ProcessAutomationApi", "delete_processautomation_trigger", trigger_id)


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def differs(current: Any, wanted: Any) -> bool:
    """Whether `current` (as Genesys shows it) lacks something of `wanted`: every key of a wanted dict must hold an
    equal value (recursively); lists compare item by item; missing, None and empty values are alike."""
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return not (_empty(wanted) and _empty(current))
        return any(differs(current.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(current, list):
            return not (_empty(wanted) and _empty(current))
        return len(current) != len(wanted) or any(differs(c, w) for c, w in zip(current, wanted, strict=True))
    if _empty(wanted) and _empty(current):
        return False
    return current != wanted


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (e.g. a new role reaching the admin's permissions)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
