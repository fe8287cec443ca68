"""What the app provisions in a customer's Genesys Cloud org: the objects' names and the bodies it wants them to have.

Every object's name starts with `PREFIX`, so a re-run finds what an earlier run made (and updates it instead of
making a duplicate), and the uninstall can sweep whatever an interrupted run left behind. The data action's name is
`PREFIX` itself: the workflow (genesys/workflow/freshdesk-screen-pop.yaml) calls it by that name.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from screenpop.api.serializers import GENESYS_REQUEST_TEMPLATE, GENESYS_WRAPUP_REQUEST_TEMPLATE
from screenpop.models import Tenant

PREFIX = "Freshdesk screen pop"

ROLE_NAME = f"{PREFIX} - sync"
SYNC_CLIENT_NAME = f"{PREFIX} - sync"
PANEL_CLIENT_NAME = f"{PREFIX} - agent panel"
CREDENTIAL_NAME = f"{PREFIX} - webhook credentials"
DATA_INTEGRATION_NAME = f"{PREFIX} - webhook"
DATA_ACTION_NAME = PREFIX
WIDGET_NAME = PREFIX
TRIGGER_NAME = f"{PREFIX} - inbound call"
WORKFLOW_NAME = f"{PREFIX} - inbound call"

DATA_ACTIONS_TYPE = "custom-rest-actions"
WIDGET_TYPE = "embedded-client-app-interaction-widget"
ACD_START_TOPIC = "v2.detail.events.conversation.{id}.acd.start"
# The workflow takes the event's top-level fields as its inputs (Flow.conversationId, Flow.ani, ...).
TRIGGER_DATA_FORMAT = "TopLevelPrimitives"

# The wrap-up's trigger, workflow (genesys/workflow/freshdesk-wrap-up.yaml) and data action, on the same integration.
WRAPUP_DATA_ACTION_NAME = f"{PREFIX} - wrap-up"
WRAPUP_WORKFLOW_NAME = f"{PREFIX} - wrap-up"
WRAPUP_TRIGGER_NAME = f"{PREFIX} - wrap-up"
ACW_TOPIC = "v2.detail.events.conversation.{id}.acw"

# The sync client's role: exactly what keeping queue filters in sync, pops from what the IVR collected
# (`lookup/ivr.py`) and the write-back need, nothing more (the write-back reads the conversation, its analytics (talk
# and hold time) and its wrap-up code's name, and writes participant attributes).
SYNC_ROLE_PERMISSIONS = [
    ("routing", "queue", ["view"]),
    ("integrations", "integration", ["view", "edit"]),
    ("processautomation", "trigger", ["view", "edit"]),
    ("conversation", "communication", ["view"]),
    ("routing", "wrapupCode", ["view"]),
    ("analytics", "conversationDetail", ["view"]),
]

PANEL_GRANT_TYPE = "CODE"
# Agents' panel login: it reads the agent (users/me with the organisation) and the conversation.
PANEL_CLIENT_SCOPES = ["conversations:readonly", "users:readonly", "organization:readonly"]
# The iframe's sandbox flags (reference §7, §12): `allow-popups-to-escape-sandbox` makes a ticket link the agent
# opens a normal tab, not one that inherits the widget's sandbox (where Freshdesk's own scripts would fail).
WIDGET_SANDBOX = (
    "allow-forms,allow-modals,allow-popups,allow-popups-to-escape-sandbox,allow-presentation,allow-same-origin,"
    "allow-scripts,allow-downloads"
)
# The iframe's feature permissions, as the Premium App example sets them on its Interaction Widget. The panel uses
# none of them today; they are what Genesys's own example provisions, so an admin sees familiar settings.
WIDGET_PERMISSIONS = "camera,microphone,geolocation"

# The data action's inputs, which the workflow fills from the acd.start event (all strings; `eventTime` carries
# the event time as ISO 8601, converted by the workflow from the event's epoch milliseconds).
DATA_ACTION_INPUTS = {
    "conversationId": "The Genesys conversation id.",
    "ani": "The caller's number, e.g. tel:+15551234567.",
    "queueId": "The queue the call entered.",
    "mediaType": "VOICE for calls.",
    "direction": "INBOUND for inbound calls.",
    "participantId": "The ACD participant's id.",
    "eventTime": "When the call entered the queue (ISO 8601).",
}
REQUIRED_INPUTS = ["conversationId", "ani"]
# The caller of the install's test call when the admin names none.
TEST_CALL_PHONE = "+15550199999"


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def panel_redirect_uri() -> str:
    return public_url("/widget/")


def token_url() -> str:
    return public_url("/oauth/token/")


def webhook_url() -> str:
    return public_url("/api/v1/genesys/events")


def widget_url_template(tenant: Tenant) -> str:
    """The Interaction Widget's URL: Genesys fills the `{{...}}` variables for each interaction; `clientId` is the
    tenant's panel OAuth client, which agents log in with by authorization code with PKCE (`grant=pkce`)."""
    variables = "&".join(
        f"{name}={{{{{name}}}}}" for name in ("gcConversationId", "gcHostOrigin", "gcTargetEnv", "gcLangTag")
    )
    return f"{public_url('/widget/')}?{variables}&clientId={tenant.panel_client_id}&grant=pkce"


def role_body() -> dict[str, Any]:
    return {
        "name": ROLE_NAME,
        "description": "Lets the Freshdesk screen pop app keep the widget's and the trigger's queue filters in sync.",
        "permissionPolicies": [
            {"domain": domain, "entityName": entity, "actionSet": actions}
            for domain, entity, actions in SYNC_ROLE_PERMISSIONS
        ],
    }


def role_permissions() -> set[str]:
    return {f"{domain}:{entity}:{action}" for domain, entity, actions in SYNC_ROLE_PERMISSIONS for action in actions}


def sync_client_body(role_id: str, *, division_id: str | None, state: str = "active") -> dict[str, Any]:
    role_division = {"roleId": role_id} | ({"divisionId": division_id} if division_id else {})
    return {
        "name": SYNC_CLIENT_NAME,
        "description": "Freshdesk screen pop: keeps queue filters in sync (client credentials).",
        "authorizedGrantType": "CLIENT-CREDENTIALS",
        "accessTokenValiditySeconds": 3600,
        "roleDivisions": [role_division],
        "state": state,
    }


def panel_client_body(*, state: str = "active") -> dict[str, Any]:
    """Authorization code with PKCE: Genesys no longer creates implicit-grant (`TOKEN`) clients and retires the
    existing ones (reference §12); the panel exchanges the code on the server, without a client secret."""
    return {
        "name": PANEL_CLIENT_NAME,
        "description": "Freshdesk screen pop: agents log in to the ticket panel with it (authorization code, PKCE).",
        "authorizedGrantType": PANEL_GRANT_TYPE,
        "registeredRedirectUri": [panel_redirect_uri()],
        "scope": list(PANEL_CLIENT_SCOPES),
        "state": state,
    }


OAUTH_CLIENT_FIELDS = (
    "name",
    "description",
    "accessTokenValiditySeconds",
    "registeredRedirectUri",
    "authorizedGrantType",
    "scope",
    "roleDivisions",
    "roleIds",
)


def oauth_client_inactive_body(client: dict[str, Any]) -> dict[str, Any]:
    """`client` as Genesys shows it, made inactive: what is PUT before a client is deleted (reference §9)."""
    body = {name: client[name] for name in OAUTH_CLIENT_FIELDS if client.get(name) is not None}
    return {**body, "state": "inactive"}


def credential_body(*, client_id: str, client_secret: str) -> dict[str, Any]:
    # `type` as a string, as the PA wizard sends it to the live API (reference §4 "Credentials").
    return {
        "name": CREDENTIAL_NAME,
        "type": "userDefinedOAuth",
        "credentialFields": {"loginUrl": token_url(), "clientId": client_id, "clientSecret": client_secret},
    }


def data_integration_config(current: dict[str, Any], *, credential_id: str) -> dict[str, Any]:
    return {
        **current,
        "name": DATA_INTEGRATION_NAME,
        "notes": "Sends inbound calls to the Freshdesk screen pop app. Managed by its install wizard.",
        "credentials": {"basicAuth": {"id": credential_id}},
    }


# Genesys generates the custom auth action of a User Defined (OAuth) integration; the app sets its request to the
# client-credentials token call of our /oauth/token/, so the action never depends on the generated default.
AUTH_ACTION_CONFIG: dict[str, Any] = {
    "request": {
        "requestUrlTemplate": "${credentials.loginUrl}",
        "requestType": "POST",
        "headers": {
            "Authorization": 'Basic $encoding.base64("${credentials.clientId}:${credentials.clientSecret}")',
            "Content-Type": "application/x-www-form-urlencoded",
        },
        "requestTemplate": "grant_type=client_credentials",
    },
    "response": {"translationMap": {}, "translationMapDefaults": {}, "successTemplate": "${rawResult}"},
}


def custom_auth_action_id(integration_id: str) -> str:
    """The id Genesys gives the custom auth action of a User Defined (OAuth) integration (its name varies)."""
    return f"customAuth_-_{integration_id}"


def data_action_body(*, integration_id: str) -> dict[str, Any]:
    """The data action that posts DESIGN.md §3's body to the webhook with the bearer token of the auth action."""
    return {
        "name": DATA_ACTION_NAME,
        "category": DATA_INTEGRATION_NAME,
        "integrationId": integration_id,
        "secure": False,
        "config": {
            "timeoutSeconds": 10,
            "request": {
                "requestUrlTemplate": webhook_url(),
                "requestType": "POST",
                "headers": {
                    "Content-Type": "application/json",
                    "Authorization": "Bearer ${authResponse.access_token}",
                },
                "requestTemplate": GENESYS_REQUEST_TEMPLATE,
            },
            "response": {"translationMap": {}, "translationMapDefaults": {}, "successTemplate": "${rawResult}"},
        },
        "contract": {
            "input": {
                "inputSchema": {
                    "title": "Freshdesk screen pop request",
                    "type": "object",
                    "required": list(REQUIRED_INPUTS),
                    "properties": {
                        name: {"type": "string", "description": description}
                        for name, description in DATA_ACTION_INPUTS.items()
                    },
                }
            },
            "output": {
                "successSchema": {
                    "title": "Webhook answer",
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "description": "accepted, duplicate or ignored"},
                        "pop_id": {"type": "integer"},
                        "reason": {"type": "string"},
                    },
                }
            },
        },
    }


WRAPUP_DATA_ACTION_INPUTS = {
    "conversationId": "The Genesys conversation id.",
    "userId": "The agent who wrapped up.",
    "participantId": "The agent's participant id.",
    "queueId": "The queue of the agent's part of the call.",
    "wrapupCode": "The wrap-up code's id.",
    "wrapupNotes": "The wrap-up notes typed in Genesys.",
    "wrapupDurationMs": "How long the after-call work took (ms).",
    "mediaType": "VOICE for calls.",
    "direction": "INBOUND or OUTBOUND.",
    "ani": "The caller's number, e.g. tel:+15551234567.",
    "eventTime": "When the wrap-up ended (epoch ms).",
}


def wrapup_data_action_body(*, integration_id: str) -> dict[str, Any]:
    """The data action that posts a wrap-up (`event_type` CALL_WRAPUP) to the webhook, as `data_action_body` does a
    call start."""
    body = data_action_body(integration_id=integration_id)
    body["name"] = WRAPUP_DATA_ACTION_NAME
    body["config"]["request"]["requestTemplate"] = GENESYS_WRAPUP_REQUEST_TEMPLATE
    body["contract"]["input"]["inputSchema"] = {
        "title": "Freshdesk screen pop wrap-up",
        "type": "object",
        "required": ["conversationId", "userId"],
        "properties": {
            name: {"type": "string", "description": description}
            for name, description in WRAPUP_DATA_ACTION_INPUTS.items()
        },
    }
    body["contract"]["output"]["successSchema"]["properties"]["wrapup_id"] = {"type": "integer"}
    return body


def widget_config(current: dict[str, Any], *, tenant: Tenant, queue_ids: list[str]) -> dict[str, Any]:
    properties = dict(current.get("properties") or {})
    properties.update(
        {
            "url": widget_url_template(tenant),
            "sandbox": WIDGET_SANDBOX,
            "permissions": WIDGET_PERMISSIONS,
            "communicationTypeFilter": "call",
            "queueIdFilterList": list(queue_ids),
            "groups": properties.get("groups") or [],
        }
    )
    return {
        **current,
        "name": WIDGET_NAME,
        "notes": "Shows the caller's Freshdesk tickets next to each call. Managed by the Freshdesk screen pop app.",
        "properties": properties,
    }


def match_criteria(queue_ids: list[str]) -> list[dict[str, Any]]:
    """Inbound voice only, and the tenant's queues when it has filters (none = every queue)."""
    criteria: list[dict[str, Any]] = [
        {"jsonPath": "mediaType", "operator": "Equal", "value": "VOICE"},
        {"jsonPath": "direction", "operator": "Equal", "value": "INBOUND"},
    ]
    if queue_ids:
        criteria.append({"jsonPath": "queueId", "operator": "In", "values": sorted(queue_ids)})
    return criteria


def trigger_body(*, workflow_id: str, queue_ids: list[str]) -> dict[str, Any]:
    return {
        "name": TRIGGER_NAME,
        "description": "Starts a Freshdesk screen pop when an inbound call enters one of the app's queues.",
        "topicName": ACD_START_TOPIC,
        "enabled": True,
        "target": {
            "type": "Workflow",
            "id": workflow_id,
            "workflowTargetSettings": {"dataFormat": TRIGGER_DATA_FORMAT},
        },
        "matchCriteria": match_criteria(queue_ids),
        "eventTTLSeconds": 60,
    }


def wrapup_trigger_body(*, workflow_id: str, queue_ids: list[str]) -> dict[str, Any]:
    """After-call work on voice calls in the tenant's queues, inbound or outbound (a call placed from the panel is
    logged too)."""
    criteria = [criterion for criterion in match_criteria(queue_ids) if criterion["jsonPath"] != "direction"]
    return {
        **trigger_body(workflow_id=workflow_id, queue_ids=queue_ids),
        "name": WRAPUP_TRIGGER_NAME,
        "description": "Logs a call on its Freshdesk ticket when the agent's after-call work ends (wrap-up).",
        "topicName": ACW_TOPIC,
        "matchCriteria": criteria,
    }


def trigger_with_queues(current: dict[str, Any], queue_ids: list[str]) -> dict[str, Any]:
    """`current` with the queue criterion replaced, everything else (someone's edits included) kept."""
    others = [c for c in current.get("matchCriteria") or [] if c.get("jsonPath") not in ("queueId", "$.queueId")]
    queue = match_criteria(queue_ids)[2:]
    return {**current, "matchCriteria": others + queue}
