"""The install wizard's pages (`/install/`): thin views over `checks`, `services`, `provisioning` and `uninstall`.

The wizard is a top-level page (never framed), so it keeps its state in Django's server-side session: the admin's
Genesys access token and the PKCE verifier never reach the browser. Every POST carries the CSRF token; pages run no
inline script (strict CSP).
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from screenpop.errors import ScreenpopError, ValidationFailed
from screenpop.genesys.api import login_with_pkce_code
from screenpop.genesys.errors import GenesysAuthError
from screenpop.genesys.transport import authorize_url, pkce_challenge, pkce_verifier
from screenpop.install import blueprint, checks, links, provisioning, services, workflow
from screenpop.install import uninstall as uninstalling
from screenpop.install.call_check import CallCheckResult, answer_sentences, call_check_run
from screenpop.install.config import install_client_id
from screenpop.install.forms import FreshdeskForm, RegionForm, TestCallForm
from screenpop.install.session import (
    PENDING_LOGIN_KEY,
    SESSION_KEY,
    TEST_CALL_KEY,
    Wizard,
    page_context,
    wizard_from_session,
    wizard_page,
    wizard_save,
)
from screenpop.install.simulated_login import simulated_users
from screenpop.install.sync import needs_sync, queue_filters_sync
from screenpop.models import FreshdeskConnection, QueueFilter, Tenant
from screenpop.validation import genesys_base_url, genesys_environment, is_simulator_environment, simulators_allowed

LOGIN_PENDING_SECONDS = 600
QUEUES_PER_PAGE = 25


def callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('install:callback')}"


# -- 1. Log in ----------------------------------------------------------------------------------------------------


def _environment_hint(request: HttpRequest) -> str | None:
    for name in ("environment", "gcTargetEnv", "gcHostOrigin"):
        environment = genesys_environment(request.GET.get(name))
        if environment:
            return environment
    return None


def _simulator_environment(hint: str | None) -> str | None:
    if not simulators_allowed():
        return None
    if hint and is_simulator_environment(hint):
        return hint
    configured = getattr(settings, "GENESYS_SIMULATOR_URL", "")
    return genesys_environment(configured) if configured else None


def _login_form_page(request: HttpRequest, form: RegionForm, *, status: int = 200) -> HttpResponse:
    """The region form. Its POST is answered with a redirect to Genesys's login host, which the CSP's `form-action`
    must allow (browsers check it on the redirects that follow a form submission): exactly the login hosts of the
    regions offered."""
    context = page_context(
        wizard_from_session(request), None, "login", form=form, client_configured=bool(install_client_id())
    )
    context["sign_in_as"] = form["sign_in_as"] if "sign_in_as" in form.fields else None
    response = render(request, "install/start.html", context, status=status)
    origins = [genesys_base_url(environment, service="login") for environment, _ in form.fields["environment"].choices]
    response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]  # read by django-csp's middleware
    return response


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    hint = _environment_hint(request)
    simulator = _simulator_environment(hint)
    form = RegionForm(
        initial={"environment": hint or simulator},
        extra_environment=simulator,
        simulated_users=simulated_users(simulator),
    )
    return _login_form_page(request, form)


@require_POST
def login(request: HttpRequest) -> HttpResponseBase:
    simulator = _simulator_environment(request.POST.get("environment"))
    chosen_simulator = simulator if request.POST.get("environment") == simulator else None
    form = RegionForm(request.POST, extra_environment=simulator, simulated_users=simulated_users(chosen_simulator))
    if not install_client_id():
        messages.error(
            request, "This deployment has no Genesys OAuth client for the wizard (SCREENPOP_INSTALL_CLIENT_ID)."
        )
        return redirect("install:start")
    if not form.is_valid():
        return _login_form_page(request, form, status=400)
    environment = form.cleaned_data["environment"]
    verifier, state = pkce_verifier(), secrets.token_urlsafe(24)
    request.session.pop(SESSION_KEY, None)
    request.session[PENDING_LOGIN_KEY] = {
        "environment": environment,
        "verifier": verifier,
        "state": state,
        "started_at": time.time(),
    }
    return redirect(
        authorize_url(
            environment=environment,
            client_id=install_client_id(),
            redirect_uri=callback_url(),
            state=state,
            code_challenge=pkce_challenge(verifier),
            login_hint=form.cleaned_data.get("sign_in_as") or "",
        )
    )


@require_GET
def callback(request: HttpRequest) -> HttpResponseBase:
    pending = request.session.pop(PENDING_LOGIN_KEY, None)
    if not pending or time.time() - pending["started_at"] > LOGIN_PENDING_SECONDS:
        messages.error(request, "The login took too long or was started elsewhere. Log in again.")
        return redirect("install:start")
    if not hmac.compare_digest(str(request.GET.get("state", "")), pending["state"]):
        messages.error(request, "The login answer did not match the login this page started. Log in again.")
        return redirect("install:start")
    if request.GET.get("error") or not request.GET.get("code"):
        reason = request.GET.get("error_description") or request.GET.get("error") or "no authorization code"
        messages.error(request, f"Genesys Cloud did not log you in ({reason}). Log in again.")
        return redirect("install:start")
    try:
        login_result = login_with_pkce_code(
            environment=pending["environment"],
            client_id=install_client_id(),
            code=request.GET["code"],
            code_verifier=pending["verifier"],
            redirect_uri=callback_url(),
        )
        result = checks.install_check(login_result.api)
    except ScreenpopError as error:
        messages.error(request, error.detail)
        return redirect("install:start")
    wizard = Wizard(
        environment=pending["environment"],
        access_token=login_result.access_token,
        expires_at=time.time() + max(60, login_result.expires_in - 60),
        org_id=result.org_id,
        org_name=result.org_name,
        user_id=result.user_id,
        user_name=result.user_name,
        check=result.as_session(),
    )
    request.session.cycle_key()  # a new session id once logged in
    return _after_check(request, wizard)


def _after_check(request: HttpRequest, wizard: Wizard) -> HttpResponseBase:
    if wizard.check_ok:
        tenant = services.tenant_for_org(org_id=wizard.org_id, org_name=wizard.org_name, environment=wizard.environment)
        wizard.tenant_id = tenant.pk
    wizard_save(request, wizard)
    if not wizard.check_ok:
        return redirect("install:check")
    tenant = wizard.tenant()
    if tenant is not None and (tenant.genesys_objects or {}).get("installed_at"):
        return redirect("install:summary")
    return redirect("install:freshdesk")


@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponseBase:
    """What stops the install (product not available, permissions missing), each with what to do; "check again"."""
    wizard = wizard_from_session(request)
    if wizard is None:
        return redirect("install:start")
    if request.method == "POST":
        try:
            result = checks.install_check(wizard.api())
        except GenesysAuthError as error:
            request.session.pop(SESSION_KEY, None)
            messages.error(request, error.detail)
            return redirect("install:start")
        except ScreenpopError as error:
            messages.error(request, error.detail)
            return redirect("install:check")
        wizard.check = result.as_session()
        return _after_check(request, wizard)
    if wizard.check_ok and wizard.tenant():
        return redirect("install:freshdesk")
    missing = [checks.MissingPermission(*item) for item in wizard.check.get("missing_permissions") or []]
    context = page_context(
        wizard,
        None,
        "login",
        missing=missing,
        check=wizard.check,
        simulator=is_simulator_environment(wizard.environment),
    )
    return render(request, "install/check.html", context)


# -- 2. Freshdesk -------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_page()
def freshdesk(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponseBase:
    connection = FreshdeskConnection.objects.filter(tenant=tenant).first()
    if request.method == "POST":
        form = FreshdeskForm(request.POST)
        if form.is_valid():
            try:
                connection = services.freshdesk_connect(
                    tenant=tenant, domain=form.cleaned_data["domain"], api_key=form.cleaned_data["api_key"]
                )
            except ValidationFailed as error:
                form.add_error("api_key" if error.field == "freshdesk_api_key" else "domain", error.detail)
            else:
                limit = connection.rate_limit_per_minute
                allowance = f": {limit} API calls a minute ({connection.get_plan_display()})" if limit else ""
                messages.success(request, f"Connected to Freshdesk at {connection.domain}{allowance}.")
                return redirect("install:queues")
        status = 400
    else:
        form = FreshdeskForm(initial={"domain": connection.domain if connection else ""})
        status = 200
    context = page_context(wizard, tenant, "freshdesk", form=form, connection=connection)
    return render(request, "install/freshdesk.html", context, status=status)


# -- 3. Queues ----------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_page()
def queues(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponseBase:
    search = (request.GET.get("q") or request.POST.get("q") or "").strip()[:100]
    try:
        page = max(1, int(request.GET.get("page") or request.POST.get("page") or 1))
    except ValueError:
        page = 1
    if request.method == "POST":
        shown = {
            queue_id: request.POST.get(f"name-{queue_id}", "") for queue_id in request.POST.getlist("shown") if queue_id
        }
        added, removed = services.queue_filters_update(
            tenant=tenant, shown=shown, selected=request.POST.getlist("queue")
        )
        if added or removed:
            messages.success(request, f"Queue filters saved: {len(added)} added, {len(removed)} removed.")
            if needs_sync(tenant):
                result = queue_filters_sync(tenant=tenant)
                level = messages.SUCCESS if result.state == Tenant.SyncState.OK else messages.ERROR
                messages.add_message(request, level, result.detail)
        query = urlencode({key: value for key, value in (("q", search), ("page", page)) if value})
        return redirect(f"{reverse('install:queues')}?{query}" if query else reverse("install:queues"))
    pattern = f"*{search}*" if search else None
    listing = wizard.api().queues_page(name=pattern, page=page, page_size=QUEUES_PER_PAGE)
    selected = set(QueueFilter.objects.filter(tenant=tenant).values_list("queue_id", flat=True))
    rows = [
        {"id": queue["id"], "name": queue.get("name", queue["id"]), "selected": queue["id"] in selected}
        for queue in listing.get("entities") or []
    ]
    page_count = int(listing.get("pageCount") or 1)

    def page_url(number: int) -> str:
        return "?" + urlencode({key: value for key, value in (("q", search), ("page", number)) if value})

    context = page_context(
        wizard,
        tenant,
        "queues",
        rows=rows,
        search=search,
        page=page,
        page_count=page_count,
        total=listing.get("total", len(rows)),
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if listing.get("nextUri") else None,
        filters=QueueFilter.objects.filter(tenant=tenant),
    )
    return render(request, "install/queues.html", context)


# -- 4. Provision, summary, test call -----------------------------------------------------------------------------


def _planned_objects() -> list[tuple[str, str]]:
    return [
        (
            "Role (view queues; view and edit integrations and triggers; view conversations, their analytics and "
            "wrap-up codes)",
            blueprint.ROLE_NAME,
        ),
        ("OAuth client, client credentials, for keeping queues in sync", blueprint.SYNC_CLIENT_NAME),
        ("OAuth client for agents' panel login (authorization code with PKCE)", blueprint.PANEL_CLIENT_NAME),
        ("Credential (User Defined OAuth) for this app's webhook", blueprint.CREDENTIAL_NAME),
        ("Web Services Data Actions integration", blueprint.DATA_INTEGRATION_NAME),
        ("Data action", blueprint.DATA_ACTION_NAME),
        ("Interaction Widget", blueprint.WIDGET_NAME),
        ("Architect workflow, published in your home division", blueprint.WORKFLOW_NAME),
        ("Trigger on inbound calls (once the workflow is published)", blueprint.TRIGGER_NAME),
        ("Data action for wrap-ups", blueprint.WRAPUP_DATA_ACTION_NAME),
        ("Architect workflow for wrap-ups, published in your home division", blueprint.WRAPUP_WORKFLOW_NAME),
        (
            "Trigger on wrap-ups (after-call work ends: the call's note goes to Freshdesk)",
            blueprint.WRAPUP_TRIGGER_NAME,
        ),
    ]


@require_http_methods(["GET", "POST"])
@wizard_page()
def provision(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponseBase:
    if not FreshdeskConnection.objects.filter(tenant=tenant).exists():
        messages.warning(request, "Connect Freshdesk first.")
        return redirect("install:freshdesk")
    if request.method == "POST":
        report = provisioning.provision(tenant=tenant, api=wizard.api(), admin_user_id=wizard.user_id)
        if not report.ok:
            messages.error(request, f"The installation stopped: {report.error}")
            return redirect("install:summary")
        messages.success(request, "Installed." if report.changed else "Everything was already installed.")
        if report.changed:
            # The proof that the path works: Genesys runs the data action against our token endpoint and webhook.
            _keep_test_call(request, call_check_run(tenant=tenant, api=wizard.api(), phone=""))
            return redirect(f"{reverse('install:summary')}#test-call")
        return redirect("install:summary")
    context = page_context(wizard, tenant, "provision", planned=_planned_objects(), prefix=blueprint.PREFIX)
    return render(request, "install/provision.html", context)


@require_GET
@wizard_page()
def summary(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponse:
    objects = tenant.genesys_objects or {}
    last_run = objects.get("last_run") or {}
    context = page_context(
        wizard,
        tenant,
        "summary",
        installed=links.installed_objects(tenant),
        last_run=last_run,
        workflow_file=workflow.WORKFLOW_DOWNLOAD_NAME,
        test_form=TestCallForm(),
        test_call=request.session.pop(TEST_CALL_KEY, None),
        connection=FreshdeskConnection.objects.filter(tenant=tenant).first(),
        filters=QueueFilter.objects.filter(tenant=tenant),
        widget_url=blueprint.widget_url_template(tenant) if tenant.panel_client_id else "",
    )
    return render(request, "install/summary.html", context)


@require_POST
@wizard_page()
def test_call(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponseBase:
    form = TestCallForm(request.POST)
    phone = form.cleaned_data["phone"] if form.is_valid() else ""
    _keep_test_call(request, call_check_run(tenant=tenant, api=wizard.api(), phone=phone))
    return redirect(f"{reverse('install:summary')}#test-call")


def _keep_test_call(request: HttpRequest, result: CallCheckResult) -> None:
    """For the summary page to show once."""
    request.session[TEST_CALL_KEY] = {
        "ok": result.ok,
        "inputs": result.inputs,
        "answer": answer_sentences(result.answer) if result.ok else [],
        "detail": result.detail,
        "steps": [{"name": name, "ok": ok} for name, ok in result.steps],
    }


# -- 5. Uninstall, log out, the workflow file ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_page()
def uninstall(request: HttpRequest, wizard: Wizard, tenant: Tenant) -> HttpResponse:
    if request.method == "POST":
        report = uninstalling.uninstall(tenant=tenant, api=wizard.api())
        context = page_context(wizard, tenant, "summary", report=report.as_json(), ok=report.ok)
        return render(request, "install/uninstalled.html", context, status=200 if report.ok else 502)
    context = page_context(
        wizard, tenant, "summary", installed=links.installed_objects(tenant), prefix=blueprint.PREFIX
    )
    return render(request, "install/uninstall.html", context)


@require_POST
def logout(request: HttpRequest) -> HttpResponseBase:
    for key in (SESSION_KEY, PENDING_LOGIN_KEY, TEST_CALL_KEY):
        request.session.pop(key, None)
    messages.info(request, "Logged out of the installer.")
    return redirect("install:start")


@require_GET
def workflow_file(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(workflow.workflow_yaml(), content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{workflow.WORKFLOW_DOWNLOAD_NAME}"'
    return response
