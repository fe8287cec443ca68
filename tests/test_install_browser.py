"""One full install through the wizard's pages in a real browser (Debian chromium driven by Playwright), against a
real server (uvicorn) and both simulators: log in with Genesys (PKCE), connect Freshdesk, pick a queue, install (the
workflow is published by the wizard), make a test call; then a call placed on the simulator pops through what was
installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from screenpop.install import blueprint
from tests.fixtures.genesys_sim import CODE_CLIENT_ID
from tests.fixtures.processes import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser_page(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        page = browser.new_page()
        problems: list[str] = []
        # Script errors and CSP violations; not "Failed to load resource" for a deliberate 400 or a missing favicon.
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if message.type == "error" and "Failed to load resource" not in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "response", lambda response: problems.append(f"500: {response.url}") if response.status >= 500 else None
        )
        page.problems = problems
        yield page
        browser.close()


def test_a_full_install_through_the_pages(screenpop_server, genesys_sim, freshdesk_sim, browser_page) -> None:
    server, page = screenpop_server, browser_page
    server.port = free_port()
    environment = urlsplit(genesys_sim.base_url).netloc
    genesys_sim.configure(
        redirect_uris=[f"{server.base_url}/install/callback/"], default_login_user="avery.admin@demo.example"
    )
    env = {
        "PUBLIC_BASE_URL": server.base_url,
        "SCREENPOP_INSTALL_CLIENT_ID": CODE_CLIENT_ID,
        "GENESYS_SIMULATOR_URL": genesys_sim.base_url,
    }

    with server.run(**env):
        page.goto(f"{server.base_url}/install/?environment={environment}")
        assert page.get_by_label("Your Genesys Cloud region").input_value() == environment
        page.get_by_role("button", name="Log in with Genesys Cloud").click()

        page.wait_for_url(f"{server.base_url}/install/freshdesk/")
        assert "Avery Admin · Demo Org" in page.locator("header").inner_text()
        page.get_by_label("Freshdesk domain").fill(freshdesk_sim.base_url)
        page.get_by_label("Freshdesk API key").fill("wrong-key")
        page.get_by_role("button", name="Verify and save").click()
        assert "Freshdesk refused this API key" in page.get_by_role("alert").inner_text()
        page.get_by_label("Freshdesk API key").fill(freshdesk_sim.api_key)
        page.get_by_role("button", name="Verify and save").click()

        page.wait_for_url(f"{server.base_url}/install/queues/")
        assert "Connected to Freshdesk" in page.get_by_role("status").inner_text()
        page.get_by_label("Search queues by name").fill("support")
        page.get_by_role("button", name="Search").click()
        assert page.get_by_role("checkbox").count() == 3  # Premium Support, Support, Technical Support
        page.get_by_role("checkbox", name="Support", exact=True).check()
        page.get_by_role("button", name="Save this page's choices").click()
        assert "Chosen: 1 queue" in page.get_by_role("heading", name="Chosen: 1 queue").inner_text()
        page.get_by_role("link", name="Continue to the installation").click()

        page.get_by_role("button", name="Install").click()
        page.wait_for_url(f"{server.base_url}/install/summary/#test-call")
        assert "Installed." in page.get_by_role("status").first.inner_text()
        # The install ended with a test call through Genesys's data action test endpoint.
        assert "The webhook accepted the call and recorded screen pop" in page.locator(".result").inner_text()
        objects = page.locator("table.objects").inner_text()
        for name in (blueprint.TRIGGER_NAME, blueprint.WIDGET_NAME, blueprint.PANEL_CLIENT_NAME, blueprint.ROLE_NAME):
            assert name in objects
        workflow_link = page.get_by_role("link", name=blueprint.WORKFLOW_NAME).first
        assert workflow_link.get_attribute("href").startswith(f"{genesys_sim.base_url}/architect/#/workflow/")
        with page.expect_download() as download:
            page.get_by_role("link", name="freshdesk-screen-pop.yaml").click()
        assert download.value.suggested_filename == "freshdesk-screen-pop.yaml"

        page.get_by_label("Caller's number for the test").fill("+15550199999")
        page.get_by_role("button", name="Make a test call").click()
        result = page.locator(".result").inner_text()
        assert "The webhook accepted the call and recorded screen pop" in result

        call = genesys_sim.place_call("+15550199998", "Support")
        (fired,) = call["triggers"]
        assert (fired["triggerName"], fired["webhook"]["status"]) == (blueprint.TRIGGER_NAME, 202)

        page.get_by_role("link", name="Uninstall…").click()
        page.get_by_role("button", name="Uninstall").click()
        assert page.get_by_role("heading", name="Uninstalled").is_visible()

    assert page.problems == []  # no CSP violation, no script error on any page
    assert genesys_sim.place_call("+15550199998", "Support")["triggers"] == []
