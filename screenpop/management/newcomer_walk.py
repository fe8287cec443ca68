"""The newcomer's first hour in a real browser, step by step: the start page, the wizard (first as an agent, who is
told what is missing, then as the admin, from a fresh database to an install), the first pop in the demo desktop,
then the admin: the tenant's queue picker, its health page and the event log.

One walk serves two masters: the browser test (tests/test_newcomer_browser.py) runs it to check every screen, and
`manage.py screenshots` runs it to photograph each state for docs/screens/. Each step checks what the newcomer must
see and raises `WalkFailed` otherwise; every console error, page error, failed request and HTTP error answer is
recorded in `problems`, except the ones a step expects (`expecting`).

Development tooling: it needs Playwright (requirements-dev.txt), imported by the caller.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

VIEWPORT = {"width": 1366, "height": 860}
SETTLED_PANEL = "#sp-body[data-state=matched]"
STEP_TIMEOUT_MS = 30_000
# Browsers ask every page for /favicon.ico; the admin's pages (Django's own templates) name no icon.
ALWAYS_EXPECTED = (re.compile(r"/favicon\.ico$"),)


class WalkFailed(AssertionError):
    """A screen did not show what the newcomer must see."""


@dataclass
class NewcomerWalk:
    """`page` is a Playwright page (its viewport is set here); `shot(name)` is called at each state worth a picture
    (a no-op in the test). `admin_user`/`admin_password` log in to Django's admin."""

    page: Any
    base_url: str
    freshdesk_url: str
    freshdesk_api_key: str
    admin_user: str
    admin_password: str
    shot: Callable[[str], None] = lambda name: None
    problems: list[str] = field(default_factory=list)
    _expected: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.set_viewport_size(VIEWPORT)
        self.page.set_default_timeout(STEP_TIMEOUT_MS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._request_failed)
        self.page.on("response", self._response)

    # -- what counts as a problem ---------------------------------------------------------------------------------

    def _expected_url(self, url: str) -> bool:
        return any(pattern.search(url) for pattern in (*ALWAYS_EXPECTED, *self._expected))

    def _console(self, message: Any) -> None:
        # The browser's own "Failed to load resource" line repeats an HTTP error `_response` already judged.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        # A navigation away cancels the page's pending requests (net::ERR_ABORTED): not a failure of the screen.
        if "ERR_ABORTED" not in failure and not self._expected_url(request.url):
            self.problems.append(f"request failed: {request.method} {request.url} ({failure})")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not self._expected_url(response.url):
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    @contextlib.contextmanager
    def expecting(self, *url_patterns: str) -> Iterator[None]:
        """Within the block, errors on URLs matching these patterns are part of the story, not problems."""
        patterns = [re.compile(pattern) for pattern in url_patterns]
        self._expected.extend(patterns)
        try:
            yield
        finally:
            for pattern in patterns:
                self._expected.remove(pattern)

    # -- checks ---------------------------------------------------------------------------------------------------

    def _see(self, text: str, where: str = "body") -> None:
        locator = self.page.locator(where).filter(has_text=text).first
        try:
            locator.wait_for(state="visible")
        except Exception as error:  # Playwright's TimeoutError: say what was missing, on which page
            raise WalkFailed(f"{self.page.url}: {text!r} is not shown in {where}") from error

    def _at(self, path: str) -> None:
        self.page.wait_for_url(re.compile(re.escape(self.base_url + path) + r"(\?.*|#.*)?$"))

    # -- the walk -------------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.start_page()
        self.wizard_as_an_agent()
        self.wizard_install_as_the_admin()
        self.first_pop()
        self.admin_login()
        self.admin_queue_picker()
        self.admin_health()
        self.admin_event_log()

    def start_page(self) -> None:
        self.page.goto(self.base_url + "/")
        self._see("Freshdesk tickets on the agent's screen when the call rings", "h1")
        for name in ("Demo desktop", "Install into a Genesys Cloud organisation", "Admin", "API documentation"):
            if self.page.get_by_role("link", name=name, exact=True).count() != 1:
                raise WalkFailed(f"the start page has no link {name!r}")
        self.shot("01-start-page")

    def wizard_as_an_agent(self) -> None:
        self.page.get_by_role("link", name="Install into a Genesys Cloud organisation").click()
        self._at("/install/")
        self._see("Sign in to the simulated organisation as", "legend")
        self._see("Step 1 of 5", ".stepper")
        self.shot("02-wizard-who-are-you")
        self.page.get_by_label(re.compile(r"^Alex Agent, agent")).check()
        self.page.get_by_role("button", name="Log in with Genesys Cloud").click()
        self._at("/install/check/")
        self._see("permissions missing", "h2")
        self._see("sign in as the admin")
        self.shot("03-wizard-agent-lacks-permissions")
        self.page.get_by_role("button", name="Log out and sign in as the admin").click()
        self._at("/install/")

    def wizard_install_as_the_admin(self) -> None:
        self.page.get_by_label(re.compile(r"^Avery Admin, admin")).check()
        self.page.get_by_role("button", name="Log in with Genesys Cloud").click()
        self._at("/install/freshdesk/")
        self._see("Step 2 of 5", ".stepper")
        self.page.get_by_label("Freshdesk domain").fill(self.freshdesk_url)
        self.page.get_by_label("Freshdesk API key").fill(self.freshdesk_api_key)
        self.shot("04-wizard-freshdesk")
        self.page.get_by_role("button", name="Verify and save").click()
        self._at("/install/queues/")
        self._see("API calls a minute", ".messages")
        self.page.get_by_label("Search queues by name").fill("support")
        self.page.get_by_role("button", name="Search").click()
        self.page.get_by_role("checkbox", name="Support", exact=True).check()
        self.page.get_by_role("button", name="Save this page's choices").click()
        self._see("Chosen: 1 queue", "h2")
        self.shot("05-wizard-queues")
        self.page.get_by_role("link", name="Continue to the installation").click()
        self._at("/install/provision/")
        self._see("Step 4 of 5", ".stepper")
        self.shot("06-wizard-install")
        self.page.get_by_role("button", name="Install").click()
        self._at("/install/summary/")
        self._see("The webhook accepted the call and recorded screen pop", ".result")
        self._see("Step 5 of 5", ".stepper")
        if self.page.locator("table.objects a[href]").count() < 8:
            raise WalkFailed("the summary does not link the objects it created into Genesys Cloud")
        self.shot("07-wizard-summary")

    def first_pop(self) -> None:
        self.page.goto(self.base_url + "/demo/")
        self.page.locator("button.dm-ring[data-caller=known]").click()
        panel = self.page.frame_locator("#dm-widget")
        try:
            panel.locator(SETTLED_PANEL).wait_for(state="visible")
        except Exception as error:
            raise WalkFailed("the first call did not pop the caller's tickets in the demo desktop") from error
        self.page.wait_for_timeout(400)  # Spark's components settle
        self.shot("08-demo-first-pop")

    def admin_login(self) -> None:
        self.page.goto(self.base_url + "/admin/login/?next=/admin/")
        self.page.get_by_label("Username").fill(self.admin_user)
        self.page.get_by_label("Password").fill(self.admin_password)
        self.page.get_by_role("button", name="Log in").click()
        self._at("/admin/")

    def admin_queue_picker(self) -> None:
        self.page.goto(self.base_url + "/admin/screenpop/tenant/")
        self.page.get_by_role("link", name="Demo Org", exact=True).click()
        chosen, available = self.page.locator("#id_queues_to"), self.page.locator("#id_queues_from")
        chosen.wait_for()
        if chosen.locator("option").all_inner_texts() != ["Support"]:
            raise WalkFailed("the tenant's queue picker does not show the queue chosen in the wizard")
        if available.locator("option").count() < 20:
            raise WalkFailed("the queue picker does not offer the organisation's queues")
        available.select_option(label="Billing")
        self.page.locator("#id_queues_add").click()
        self._see("Genesys Cloud objects")
        self.page.locator("#id_queues_to").scroll_into_view_if_needed()
        self.shot("09-admin-queue-picker")
        self.page.get_by_role("button", name="Save and continue editing").click()
        self._see("Genesys Cloud updated", ".messagelist")
        self.page.locator("table.screenpop-objects").scroll_into_view_if_needed()
        self.shot("10-admin-tenant-objects")

    def admin_health(self) -> None:
        self.page.get_by_role("link", name="Last pop, Freshdesk budget and breaker, failures").first.click()
        self._see("Budget used this minute")
        self._see("Closed: lookups reach Freshdesk.")
        self.shot("11-admin-tenant-health")

    def admin_event_log(self) -> None:
        # A sender without credentials: the webhook refuses it, and the log says why.
        with self.expecting(r"/api/v1/genesys/events$"):
            status = self.page.evaluate(
                """async () => (await fetch("/api/v1/genesys/events", {method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({conversation_id: "no-credentials", phone_number: "tel:+15550100"}),
                })).status"""
            )
        if status != 401:
            raise WalkFailed(f"the webhook answered {status} to a sender without credentials")
        self.page.goto(self.base_url + "/admin/screenpop/eventlog/")
        self._see("Accepted", "#result_list")
        self._see("Unauthorised", "#result_list")
        # Django's changelist scrolls its table sideways inside the page: the reason must be in view without that.
        hidden = self.page.evaluate(
            """() => {
                const results = document.querySelector("#changelist .results");
                const reason = document.querySelector("#result_list td.field-reason_short");
                return {
                    overflow: results.scrollWidth - results.clientWidth,
                    reasonRight: reason.getBoundingClientRect().right,
                    page: document.documentElement.scrollWidth,
                };
            }"""
        )
        if hidden["overflow"] > 0 or hidden["reasonRight"] > VIEWPORT["width"] or hidden["page"] > VIEWPORT["width"]:
            raise WalkFailed(f"the event log does not fit a {VIEWPORT['width']}-px screen: {hidden}")
        self.shot("12-admin-event-log")
