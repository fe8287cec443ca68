"""The `demo` seed: two organisations (the second for cross-tenant tests), their users, roles, queues and OAuth
clients. Ids are fixed, readable UUIDs so tests, docs and the demo can name them; `SEED` lists the ones people use.
"""

from __future__ import annotations

from simulators.genesys.state import State
from simulators.genesys.web import iso


def _uuid(kind: str, number: int) -> str:
    return f"{kind}000000-0000-4000-8000-{number:012d}"


DEMO_ORG_ID = _uuid("0a", 1)
OTHER_ORG_ID = _uuid("0a", 2)
ALEX_ID, BLAIR_ID, AVERY_ID = _uuid("0b", 1), _uuid("0b", 2), _uuid("0b", 3)
CASEY_ID, DREW_ID = _uuid("0b", 101), _uuid("0b", 102)
ADMIN_CLIENT_ID, IMPLICIT_CLIENT_ID, CODE_CLIENT_ID = _uuid("0d", 1), _uuid("0d", 2), _uuid("0d", 3)
OTHER_ADMIN_CLIENT_ID = _uuid("0d", 101)
SEEDED_SECRETS = {
    ADMIN_CLIENT_ID: "demo-admin-secret",
    IMPLICIT_CLIENT_ID: "wizard-implicit-secret",
    CODE_CLIENT_ID: "wizard-code-secret",
    OTHER_ADMIN_CLIENT_ID: "other-admin-secret",
}
DEMO_QUEUES = [
    "Support", "Billing", "Sales", "Accounts", "Appointments", "Claims", "Collections", "Complaints",
    "Customer Care", "Delivery", "Enterprise", "Escalations", "Fraud", "General Enquiries", "Installations",
    "Loyalty", "Onboarding", "Orders", "Partners", "Payments", "Premium Support", "Renewals", "Retention",
    "Returns", "Scheduling", "Shipping", "Technical Support", "Training", "VIP", "Warranty",
]  # fmt: skip
OTHER_QUEUES = ["Support", "Escalations"]

ORGS = [
    {"number": 1, "id": DEMO_ORG_ID, "name": "Demo Org", "thirdPartyOrgName": "demo", "did": "tel:+18005550100",
     "queues": DEMO_QUEUES,
     "users": [(ALEX_ID, "Alex Agent", "alex.agent@demo.example", "agent"),
               (BLAIR_ID, "Blair Agent", "blair.agent@demo.example", "agent"),
               (AVERY_ID, "Avery Admin", "avery.admin@demo.example", "admin")],
     "admin_client": ADMIN_CLIENT_ID},
    {"number": 101, "id": OTHER_ORG_ID, "name": "Other Org", "thirdPartyOrgName": "other", "did": "tel:+18005550200",
     "queues": OTHER_QUEUES,
     "users": [(CASEY_ID, "Casey Agent", "casey.agent@other.example", "agent"),
               (DREW_ID, "Drew Admin", "drew.admin@other.example", "admin")],
     "admin_client": OTHER_ADMIN_CLIENT_ID},
]  # fmt: skip

ROLE_POLICIES = {
    "Master Admin": [("*", "*", ["*"])],
    "employee": [("directory", "user", ["view"]), ("authorization", "grant", ["view"])],
    "User": [
        ("conversation", "communication", ["view"]),
        ("routing", "queue", ["view"]),
        ("routing", "wrapupCode", ["view"]),
    ],
}
WRAPUP_CODES = ["Resolved", "Follow-up needed", "Escalated", "Wrong number"]
ROLES_BY_KIND = {"agent": ["employee", "User"], "admin": ["employee", "Master Admin"]}

SEED = {
    "orgs": {"demo": DEMO_ORG_ID, "other": OTHER_ORG_ID},
    "users": {"alex": ALEX_ID, "blair": BLAIR_ID, "avery": AVERY_ID, "casey": CASEY_ID, "drew": DREW_ID},
    "clients": {
        "demo_admin": (ADMIN_CLIENT_ID, SEEDED_SECRETS[ADMIN_CLIENT_ID]),
        "implicit": (IMPLICIT_CLIENT_ID, SEEDED_SECRETS[IMPLICIT_CLIENT_ID]),
        "code": (CODE_CLIENT_ID, SEEDED_SECRETS[CODE_CLIENT_ID]),
        "other_admin": (OTHER_ADMIN_CLIENT_ID, SEEDED_SECRETS[OTHER_ADMIN_CLIENT_ID]),
    },
}


def reset(state: State) -> None:
    """Back to the seed named by `state.seed_name` and the start-up knobs; the request log is emptied."""
    with state.lock:
        state.clear()
        apply_seed(state, state.seed_name)


def apply_seed(state: State, name: str) -> None:
    if name != "demo":
        raise ValueError(f"unknown seed {name!r}; the only seed is 'demo'")
    created = iso()
    for spec in ORGS:
        _seed_org(state, spec, created)
    for client_id, grant, label in (
        (IMPLICIT_CLIENT_ID, "TOKEN", "Screenpop (implicit grant)"),
        (CODE_CLIENT_ID, "CODE", "Screenpop (code grant, PKCE)"),
    ):
        # The premium app's own clients live in the vendor's org and serve every customer org, so they have none.
        state.oauth_clients[client_id] = oauth_client_record(
            client_id, label, grant, SEEDED_SECRETS[client_id], org_id=None, created=created,
            redirect_uris=state.config["redirect_uris"], browser=True,
        )  # fmt: skip


def _seed_org(state: State, spec: dict, created: str) -> None:
    number, org_id = spec["number"], spec["id"]
    division = {
        "id": _uuid("0f", number),
        "name": "Home",
        "selfUri": f"/api/v2/authorization/divisions/{_uuid('0f', number)}",
    }
    state.divisions[division["id"]] = {**division, "_org_id": org_id}
    state.orgs[org_id] = {
        "id": org_id,
        "name": spec["name"],
        "defaultLanguage": "en-us",
        "defaultCountryCode": "US",
        "thirdPartyOrgName": spec["thirdPartyOrgName"],
        "domain": spec["thirdPartyOrgName"],
        "features": {"purecloud": True, "premiumApps": True},
        "version": 1,
        "state": "active",
        "productPlatform": "GenesysCloud",
        "voicemailEnabled": True,
        "selfUri": f"/api/v2/organizations/{org_id}",
        "_division": division,
        "_did": spec["did"],
    }
    role_ids = {}
    for offset, (role_name, policies) in enumerate(ROLE_POLICIES.items(), start=1):
        role_id = _uuid("0e", number + offset - 1)
        role_ids[role_name] = role_id
        state.roles[role_id] = role_record(
            role_id, role_name, f"Seeded {role_name} role", [
                {"domain": domain, "entityName": entity, "actionSet": actions, "allowConditions": False}
                for domain, entity, actions in policies
            ], org_id=org_id, default=True,
        )  # fmt: skip
    agent_count = sum(1 for *_, kind in spec["users"] if kind == "agent")
    for user_id, user_name, email, kind in spec["users"]:
        state.users[user_id] = {
            "id": user_id,
            "name": user_name,
            "email": email,
            "username": email,
            "state": "active",
            "division": division,
            "version": 1,
            "acdAutoAnswer": False,
            "chat": {"jabberId": f"{user_id}@{spec['thirdPartyOrgName']}.orgspan.com"},
            "selfUri": f"/api/v2/users/{user_id}",
            "_org_id": org_id,
            "_agent": kind == "agent",
        }
        for role_name in ROLES_BY_KIND[kind]:
            state.roles[role_ids[role_name]]["_user_ids"].append(user_id)
    for index, queue_name in enumerate(spec["queues"], start=1):
        queue_id = _uuid("0c", number + index - 1)
        state.queues[queue_id] = {
            "id": queue_id,
            "name": queue_name,
            "division": division,
            "description": f"{queue_name} queue",
            "dateCreated": created,
            "dateModified": created,
            "memberCount": agent_count,
            "userMemberCount": agent_count,
            "joinedMemberCount": agent_count,
            "skillEvaluationMethod": "ALL",
            "scoringMethod": "TimestampAndPriority",
            "autoAnswerOnly": False,
            "enableTranscription": False,
            "enableManualAssignment": False,
            "selfUri": f"/api/v2/routing/queues/{queue_id}",
            "_org_id": org_id,
        }
    for index, code_name in enumerate(WRAPUP_CODES, start=1):
        code_id = _uuid("0d", number * 10 + index)
        state.wrapup_codes[code_id] = {
            "id": code_id,
            "name": code_name,
            "division": division,
            "dateCreated": created,
            "createdBy": "system",
            "selfUri": f"/api/v2/routing/wrapupcodes/{code_id}",
            "_org_id": org_id,
        }
    client_id = spec["admin_client"]
    state.oauth_clients[client_id] = oauth_client_record(
        client_id, f"Simulator admin ({spec['name']})", "CLIENT-CREDENTIALS", SEEDED_SECRETS[client_id],
        org_id=org_id, created=created,
        role_divisions=[{"roleId": role_ids["Master Admin"], "divisionId": division["id"]}],
    )  # fmt: skip


def role_record(
    role_id: str, name: str, description: str, policies: list[dict], *, org_id: str, default: bool = False
) -> dict:
    return {
        "id": role_id,
        "name": name,
        "description": description,
        "permissionPolicies": policies,
        "default": default,
        "base": False,
        "roleNeedsUpdate": False,
        "selfUri": f"/api/v2/authorization/roles/{role_id}",
        "_org_id": org_id,
        "_user_ids": [],
    }


def oauth_client_record(
    client_id: str,
    name: str,
    grant: str,
    secret: str,
    *,
    org_id: str | None,
    created: str,
    redirect_uris: list[str] | None = None,
    role_divisions: list[dict] | None = None,
    browser: bool = False,
) -> dict:
    return {
        "id": client_id,
        "name": name,
        "description": "",
        "accessTokenValiditySeconds": 86400,
        "registeredRedirectUri": list(redirect_uris or []),
        "authorizedGrantType": grant,
        "scope": [],
        "roleDivisions": role_divisions or [],
        "state": "active",
        "dateCreated": created,
        "dateModified": created,
        "selfUri": f"/api/v2/oauth/clients/{client_id}",
        "_secret": secret,
        "_org_id": org_id,
        "_browser": browser,
    }
