"""The panel of a pop answered from the tenant's mirror, in a real browser (the panel's fixtures are
tests/test_panel_browser.py's): shown at once with the mirror's age, then refreshed in place by one Freshdesk call."""

from __future__ import annotations

import time

import pytest

from simulators.freshdesk.seed import demo_contact
from tests import test_panel_browser
from tests.test_panel_browser import PanelWorld

# The panel's fixtures, shared: a real browser on a server with the demo org installed.
playwright, browser, world = test_panel_browser.playwright, test_panel_browser.browser, test_panel_browser.world

MIRROR_ON = {
    "SCREENPOP_MIRROR_TICK_SECONDS": "0.5",
    "SCREENPOP_MIRROR_SYNC_SECONDS": "3600",  # no periodic catch-up: only the pop's refresh may read tickets
    "SCREENPOP_MIRROR_REFRESH_SECONDS": "0",
}


def wait_for_live_mirror(world: PanelWorld, seconds: float = 20.0) -> None:
    """The first sync ends with its ticket walk's short page (the seed fits in one)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        walks = [
            entry
            for entry in world.freshdesk.requests()
            if entry["endpoint"] == "tickets.list" and entry["query"].get("order_type") == ["asc"]
        ]
        if walks:
            time.sleep(0.5)  # the round writes its page and goes live
            return
        time.sleep(0.2)
    raise AssertionError("the mirror's first sync did not finish")


@pytest.mark.parametrize("world", [MIRROR_ON], indirect=True)
def test_a_pop_from_the_mirror_shows_its_age_and_is_refreshed_in_place(world: PanelWorld) -> None:
    wait_for_live_mirror(world)
    contact = demo_contact("us_e164")
    world.freshdesk.advance_clock(5)
    world.freshdesk.update_ticket(1070, subject="Upgrade to the Pro plan — quote sent")  # after the mirror's copy
    world.freshdesk.clear_requests()

    panel = world.open(world.call(contact.phone_e164))
    panel.locator("#sp-body[data-state=matched]").wait_for()
    panel.locator(".sp-ticket-subject", has_text="quote sent").wait_for()

    assert panel.locator("#sp-contact-name").inner_text() == "Jordan Blake"
    assert panel.locator("#sp-as-of").inner_text().startswith("Freshdesk as of ")
    assert panel.locator(".sp-as-of").is_visible()
    calls = [(entry["endpoint"], entry["query"]) for entry in world.freshdesk.requests()]
    # No contact search and no requester's ticket list: one ticket-list call, the mirror's refresh of what changed.
    assert [endpoint for endpoint, _ in calls] == ["tickets.list"]
    assert "requester_id" not in calls[0][1]
    world.assert_clean()


@pytest.mark.parametrize(
    "world",
    [{**MIRROR_ON, "SCREENPOP_MIRROR_SYNC_SECONDS": "3", "SCREENPOP_MIRROR_REFRESH_SECONDS": "600"}],
    indirect=True,
)
def test_a_change_the_mirror_learns_reaches_the_panel_in_place(world: PanelWorld) -> None:
    wait_for_live_mirror(world)
    panel = world.open(world.call(demo_contact("us_parenthesised").phone_e164))
    panel.locator("#sp-body[data-state=matched]").wait_for()
    world.page.evaluate("document.getElementById('dm-widget').style.height = '320px'")  # the panel scrolls
    frame = world.panel_frame()
    target = panel.locator(".sp-ticket").nth(3)
    ticket_id = int(target.get_attribute("data-ticket-id"))
    frame.evaluate("document.querySelectorAll('.sp-ticket').forEach((li) => { li.dataset.marker = 'original'; })")
    target.locator("a").focus()
    frame.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    scroll_before = frame.evaluate("window.scrollY")

    # No webhook: the mirror's own catch-up (every 3 s here) finds the change and pushes it.
    world.freshdesk.advance_clock(5)
    world.freshdesk.update_ticket(ticket_id, subject="Engineer booked for Tuesday")

    updated = panel.locator(f".sp-ticket[data-ticket-id='{ticket_id}']")
    updated.locator(".sp-ticket-subject", has_text="Engineer booked").wait_for()
    assert frame.evaluate("[...document.querySelectorAll('.sp-ticket')].every((li) => li.dataset.marker)")
    assert frame.evaluate("document.activeElement.closest('.sp-ticket').dataset.ticketId") == str(ticket_id)
    assert frame.evaluate("window.scrollY") == scroll_before
    world.assert_clean()
