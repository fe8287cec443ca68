"""The Architect workflow the trigger targets, shipped as Archy YAML (`genesys/workflow/freshdesk-screen-pop.yaml`):
the file, and the text the wizard publishes, which is the file with `division` set to the org's home division (its
name differs from org to org: admins rename it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from django.conf import settings

WORKFLOW_FILE = Path(settings.BASE_DIR) / "genesys" / "workflow" / "freshdesk-screen-pop.yaml"
WORKFLOW_DOWNLOAD_NAME = WORKFLOW_FILE.name


def workflow_yaml() -> str:
    return WORKFLOW_FILE.read_text(encoding="utf-8")


def workflow_for_division(division_name: str) -> str:
    """The shipped workflow as published into an org whose home division is `division_name` (comments dropped)."""
    document = yaml.safe_load(workflow_yaml())
    document["workflow"]["division"] = division_name
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def workflow_digest(text: str) -> str:
    """What the install records of the published text, so a re-run publishes again only when it changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
