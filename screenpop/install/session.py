"""The wizard's state in Django's server-side session, and the decorator its pages share.

The admin's Genesys access token lives here only (never in a cookie or a page); the session cookie carries the
session id. A page decorated with `wizard_page` runs for a logged-in admin who passed the checks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render

from screenpop.errors import ScreenpopError
from screenpop.genesys.api import GenesysApi, api_with_token
from screenpop.genesys.errors import GenesysAuthError
from screenpop.models import Tenant

SESSION_KEY = "screenpop_install"
PENDING_LOGIN_KEY = "screenpop_install_login"
TEST_CALL_KEY = "screenpop_install_test_call"
STEPS = [
    ("login", "Log in"),
    ("freshdesk", "Connect Freshdesk"),
    ("queues", "Choose queues"),
    ("provision", "Install"),
    ("summary", "Summary"),
]


@dataclass
class Wizard:
    """What the session remembers of the logged-in admin (server-side only)."""

    environment: str
    access_token: str
    expires_at: float
    org_id: str
    org_name: str
    user_id: str
    user_name: str
    check: dict[str, Any]
    tenant_id: int | None = None

    def api(self) -> GenesysApi:
        return api_with_token(self.environment, self.access_token)

    def tenant(self) -> Tenant | None:
        return Tenant.objects.filter(pk=self.tenant_id, genesys_org_id=self.org_id).first() if self.tenant_id else None

    @property
    def check_ok(self) -> bool:
        return bool(self.check.get("product_available")) and not self.check.get("missing_permissions")


def wizard_from_session(request: HttpRequest) -> Wizard | None:
    data = request.session.get(SESSION_KEY)
    if not data:
        return None
    wizard = Wizard(**data)
    return wizard if wizard.expires_at > time.time() else None


def wizard_save(request: HttpRequest, wizard: Wizard) -> None:
    request.session[SESSION_KEY] = asdict(wizard)


def wizard_page(
    *, needs_tenant: bool = True
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A page for a logged-in admin who passed the checks (and, with `needs_tenant`, whose tenant exists). A Genesys
    refusal of the token sends the admin back to the login; other failures show what happened and what to do."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            wizard = wizard_from_session(request)
            if wizard is None:
                if request.session.get(SESSION_KEY):
                    messages.warning(request, "Your Genesys Cloud session has expired. Log in again.")
                request.session.pop(SESSION_KEY, None)
                return redirect("install:start")
            if not wizard.check_ok:
                return redirect("install:check")
            tenant = wizard.tenant()
            if needs_tenant and tenant is None:
                return redirect("install:check")
            try:
                return view(request, wizard, tenant, *args, **kwargs)
            except GenesysAuthError as error:
                request.session.pop(SESSION_KEY, None)
                messages.error(request, error.detail)
                return redirect("install:start")
            except ScreenpopError as error:
                return render(
                    request,
                    "install/error.html",
                    {"error": error, "retry_url": request.get_full_path(), "wizard": wizard, "tenant": tenant},
                    status=error.status_code if error.status_code >= 500 else 409,
                )

        return wrapper

    return decorate


def page_context(wizard: Wizard | None, tenant: Tenant | None, current: str, **extra: Any) -> dict[str, Any]:
    """What every wizard page shows: who is logged in, and the stepper (each step done, current or to do)."""
    keys = [key for key, _ in STEPS]
    position = keys.index(current) if current in keys else 0
    stepper = [
        {"key": key, "label": label, "state": "done" if index < position else "current" if index == position else ""}
        for index, (key, label) in enumerate(STEPS)
    ]
    return {
        "wizard": wizard,
        "tenant": tenant,
        "steps": STEPS,
        "stepper": stepper,
        "step_number": position + 1,
        "current": current,
        **extra,
    }
