"""The newcomer's first hour in a real browser (Debian chromium through Playwright) against a real server and both
simulators, from a fresh database: the start page, the wizard as an agent (told what is missing) then as the admin
(to an install and its test call), the first pop in the demo desktop, the admin's queue picker, the tenant's health
page and the event log. Any console error, page error, failed request or HTTP error answer fails the test, unless a
step expects it. The walk is `screenpop.management.newcomer_walk`, which `manage.py screenshots` also runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from screenpop.management.newcomer_walk import NewcomerWalk, WalkFailed
from tests.fixtures.genesys_sim import CODE_CLIENT_ID
from tests.fixtures.processes import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_USER, ADMIN_PASSWORD = "newcomer-admin", "pw-for-tests-only"


@pytest.fixture
def browser_page(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield browser.new_page()
        browser.close()


@pytest.fixture
def newcomer_world(screenpop_server, genesys_sim, freshdesk_sim, browser_page) -> Iterator[NewcomerWalk]:
    """A fresh database with an admin user, a server in development mode (the demo desktop, the simulators), and
    the walk on a browser page."""
    server = screenpop_server
    server.port = free_port()
    genesys_sim.configure(redirect_uris=[f"{server.base_url}/install/callback/", f"{server.base_url}/widget/"])
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.create_superuser({ADMIN_USER!r}, 'n@example.com', {ADMIN_PASSWORD!r})",
    )
    env = {
        "SCREENPOP_DEV": "1",
        "PUBLIC_BASE_URL": server.base_url,
        "SCREENPOP_INSTALL_CLIENT_ID": CODE_CLIENT_ID,
        "GENESYS_SIMULATOR_URL": genesys_sim.base_url,
        "FRESHDESK_SIMULATOR_URL": freshdesk_sim.base_url,
    }
    with server.run(**env):
        yield NewcomerWalk(
            page=browser_page,
            base_url=server.base_url,
            freshdesk_url=freshdesk_sim.base_url,
            freshdesk_api_key=freshdesk_sim.api_key,
            admin_user=ADMIN_USER,
            admin_password=ADMIN_PASSWORD,
        )


def test_the_newcomer_walks_from_the_start_page_to_a_first_pop_and_the_admin(newcomer_world, genesys_sim) -> None:
    walk = newcomer_world

    walk.run()

    assert walk.problems == []
    # The install made the trigger the first pop came through, and it carries the next call too.
    call = genesys_sim.place_call("+12015550123", "Support")
    assert [trigger["webhook"]["status"] for trigger in call["triggers"]] == [202]


def test_the_walk_catches_a_failed_request_the_step_does_not_expect(newcomer_world) -> None:
    walk = newcomer_world
    walk.page.goto(walk.base_url + "/")

    walk.page.evaluate("fetch('/no-such-page/').catch(() => null)")
    walk.page.wait_for_timeout(300)
    with walk.expecting(r"/also-missing/$"):
        walk.page.evaluate("fetch('/also-missing/').catch(() => null)")
        walk.page.wait_for_timeout(300)

    assert [problem for problem in walk.problems if "/no-such-page/" in problem] == [
        f"HTTP 404: GET {walk.base_url}/no-such-page/"
    ]
    assert not any("/also-missing/" in problem for problem in walk.problems)


def test_the_walk_fails_when_a_screen_lacks_what_the_newcomer_must_see(newcomer_world) -> None:
    walk = newcomer_world
    walk.page.set_default_timeout(1500)
    walk.page.goto(walk.base_url + "/healthz")

    with pytest.raises(WalkFailed, match="is not shown"):
        walk._see("Freshdesk tickets on the agent's screen", "h1")
