"""The Architect workflow the trigger targets, shipped as an importable file (the public API cannot build a flow's
logic simply): where it is, what it maps, and, on a simulator only, importing it without Archy."""

from __future__ import annotations

from pathlib import Path

import requests
from django.conf import settings

from screenpop.install.blueprint import DATA_ACTION_NAME, WORKFLOW_NAME
from screenpop.install.errors import GenesysUnavailable, InstallNotPossible
from screenpop.models import Tenant
from screenpop.validation import genesys_base_url, is_simulator_environment, simulators_allowed

WORKFLOW_FILE = Path(settings.BASE_DIR) / "genesys" / "workflow" / "freshdesk-screen-pop.yaml"
WORKFLOW_DOWNLOAD_NAME = WORKFLOW_FILE.name

# What the YAML does, as the Genesys simulator's imported flows express it: data action input ← event field. The
# workflow converts the event's epoch-millisecond `eventTime` to ISO 8601; the simulator's `timestamp` is exactly that.
SIMULATOR_INPUT_MAPPING = {
    "conversationId": "conversationId",
    "ani": "ani",
    "queueId": "queueId",
    "mediaType": "mediaType",
    "direction": "direction",
    "participantId": "participantId",
    "eventTime": "timestamp",
}


def workflow_yaml() -> str:
    return WORKFLOW_FILE.read_text(encoding="utf-8")


def simulator_import_possible(tenant: Tenant) -> bool:
    return simulators_allowed() and is_simulator_environment(tenant.region)


def simulator_workflow_import(tenant: Tenant) -> dict:
    """Import the workflow into the tenant's Genesys *simulator* (development only), as an admin would with Archy."""
    if not simulator_import_possible(tenant):
        raise InstallNotPossible("Only a Genesys simulator can import the workflow this way; use Archy or Architect.")
    body = {
        "name": WORKFLOW_NAME,
        "type": "workflow",
        "dataActionName": DATA_ACTION_NAME,
        "org": tenant.genesys_org_id,
        "inputMapping": SIMULATOR_INPUT_MAPPING,
    }
    try:
        response = requests.post(f"{genesys_base_url(tenant.region)}/_sim/flows", json=body, timeout=10)
        response.raise_for_status()
    except requests.RequestException as error:
        raise GenesysUnavailable(f"The Genesys simulator did not import the workflow: {error}") from error
    return response.json()
