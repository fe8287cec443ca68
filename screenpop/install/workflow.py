"""The Architect workflow the trigger targets, shipped as Archy YAML (`genesys/workflow/freshdesk-screen-pop.yaml`):
the file, and the text the wizard publishes, which is the file with `division` set to the org's home division (its
name differs from org to org: admins rename it)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from screenpop.genesys.api import GenesysApi, wait_until
from screenpop.install.blueprint import WORKFLOW_NAME
from screenpop.install.errors import InstallNotPossible

WORKFLOW_FILE = Path(settings.BASE_DIR) / "genesys" / "workflow" / "freshdesk-screen-pop.yaml"
WRAPUP_WORKFLOW_FILE = WORKFLOW_FILE.with_name("freshdesk-wrap-up.yaml")
WORKFLOW_DOWNLOAD_NAME = WORKFLOW_FILE.name
JOB_WAIT_SECONDS = 120.0
JOB_POLL_SECONDS = 1.0


def workflow_yaml(file: Path = WORKFLOW_FILE) -> str:
    return file.read_text(encoding="utf-8")


def workflow_for_division(division_name: str, file: Path = WORKFLOW_FILE) -> str:
    """A shipped workflow as published into an org whose home division is `division_name` (comments dropped)."""
    document = yaml.safe_load(workflow_yaml(file))
    document["workflow"]["division"] = division_name
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def workflow_digest(text: str) -> str:
    """What the install records of the published text, so a re-run publishes again only when it changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def workflow_publish(*, api: GenesysApi, text: str, name: str = WORKFLOW_NAME) -> tuple[dict[str, Any], list[str]]:
    """Publish `text` through an Architect publish job (register, upload, poll until it ends), as CX-as-Code does.
    Returns the published flow and the job's messages (warnings). Raises `InstallNotPossible` when Genesys refuses
    the workflow (its messages say why) or is still publishing after `JOB_WAIT_SECONDS`."""
    job = api.flow_job_create()
    api.flow_job_upload(job, text.encode("utf-8"))
    answer: dict[str, Any] = {}

    def ended() -> bool:
        answer.update(api.flow_job(job["id"]))
        return answer.get("status") in ("Success", "Failure")

    if not wait_until(ended, timeout=JOB_WAIT_SECONDS, interval=JOB_POLL_SECONDS):
        raise InstallNotPossible(
            f"Genesys Cloud is still publishing the workflow (job {job['id']}). Run the installation again in a minute."
        )
    messages = [str(message.get("text") or "") for message in answer.get("messages") or []]
    if answer["status"] == "Failure":
        raise InstallNotPossible(
            f"Genesys Cloud refused to publish the workflow “{name}”: "
            + ("; ".join(messages) or "it gave no reason")
            + f". Report this to the app's support with the job id {job['id']}."
        )
    return api.flow(answer["flow"]["id"]), messages
