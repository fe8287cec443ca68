"""Linking the call and the agent's notes in a real browser (chromium through Playwright), inside the demo desktop,
against both simulators: the fixtures and the world of `tests/test_panel_browser.py`. Every test fails on a console
error, a CSP violation or a request to another origin (`assert_clean`)."""

# ruff: noqa: F811 (the tests take the fixtures imported from test_panel_browser as arguments)
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from simulators.freshdesk.seed import DEMO_TICKETS, demo_contact
from tests.test_panel_browser import PanelWorld, browser, playwright, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def ticket_id(key: str) -> int:
    return next(ticket.id for ticket in DEMO_TICKETS if ticket.key == key)


def settled(panel: Any) -> Any:
    panel.locator("#sp-body[data-state=matched], #sp-body[data-state=no_match]").wait_for()
    return panel


def linked_to(panel: Any, ticket: int) -> None:
    panel.locator(f"#sp-link-current[data-ticket-id='{ticket}']").wait_for()


def test_a_picked_ticket_shows_in_a_second_panel_on_the_same_call(world: PanelWorld) -> None:
    conversation_id = world.call(demo_contact("us_e164").phone_e164)
    first = settled(world.open(conversation_id))
    second_page = world.page.context.new_page()
    second_page.on("console", world._console)
    second_page.on("pageerror", lambda error: world.problems.append(f"page error: {error}"))
    second_page.goto(f"{world.server.base_url}/demo/?conversation={conversation_id}")
    second = settled(second_page.frame_locator("#dm-widget"))
    assert second.locator("#sp-link-current").inner_text() == "No ticket chosen for this call yet."
    chosen = ticket_id("us_e164_receipt")

    first.locator("#sp-link-select").select_option(str(chosen))
    first.locator("#sp-link-button").click()

    linked_to(first, chosen)
    linked_to(second, chosen)  # pushed to the other panel, not reloaded
    assert "Receipt for March" in second.locator("#sp-link-current").inner_text()
    assert second.locator("#sp-link-current a").get_attribute("href").endswith(f"/a/tickets/{chosen}")
    world.shot("link-picked")
    world.assert_clean()


def test_search_by_number_email_and_company_then_link_a_result(world: PanelWorld) -> None:
    panel = settled(world.open(world.call(demo_contact("us_e164").phone_e164)))

    def search(text: str) -> list[str]:
        panel.locator("#sp-search-input").fill(text)
        panel.locator("#sp-search-button").click()
        panel.locator("#sp-search-results[data-state=done]").wait_for()
        return panel.locator(".sp-search-text a").all_inner_texts()

    by_number = search(f"#{ticket_id('uk_national_direct_debit')}")
    assert by_number == [f"#{ticket_id('uk_national_direct_debit')} Direct debit failed"]
    by_email = search("anna.fischer@example.de")
    assert by_email == [f"#{ticket_id('de_double_zero_address')} Lieferadresse ändern"]
    by_company = search("Globex")
    assert len(by_company) == 3
    assert panel.locator(".sp-search-result .sp-ticket-meta").first.inner_text().startswith("Globex GmbH")
    search("nobody-here@example.org")
    assert panel.locator("#sp-search-results .sp-empty").inner_text() == "No tickets found."

    search("Globex")
    wanted = ticket_id("de_national_invoice")
    panel.locator(f"#sp-result-link-{wanted}").click()

    linked_to(panel, wanted)
    world.shot("link-searched")
    world.assert_clean()


def test_a_search_failure_is_shown_in_the_agents_language(world: PanelWorld) -> None:
    panel = settled(world.open(world.call(demo_contact("us_e164").phone_e164), lang="fr"))
    world.freshdesk.configure(outage=True)

    panel.locator("#sp-search-input").fill("Globex")
    panel.locator("#sp-search-button").click()

    error = panel.locator("#sp-search-error")
    error.filter(has_text="Freshdesk").wait_for()
    assert error.inner_text() == "Freshdesk ne répond pas. Réessayez."
    world.freshdesk.configure(outage=False)
    world.assert_clean(expected_status=424)


def test_create_a_ticket_for_the_caller_and_link_it(world: PanelWorld) -> None:
    panel = settled(world.open(world.call(demo_contact("us_e164").phone_e164)))
    subject = panel.locator("#sp-new-subject")
    assert subject.input_value() == "Call from +1 201-555-0123"

    subject.fill("Callback about the upgrade")
    panel.locator("#sp-new-button").click()

    panel.locator("#sp-link-current", has_text="Callback about the upgrade").wait_for()
    linked = int(panel.locator("#sp-link-current").get_attribute("data-ticket-id"))
    ticket = world.freshdesk.get(f"/api/v2/tickets/{linked}").json()
    assert (ticket["subject"], ticket["requester_id"], ticket["source"]) == (
        "Callback about the upgrade",
        demo_contact("us_e164").id,
        3,
    )
    world.assert_clean()


def test_a_note_typed_in_the_panel_is_there_after_reopening(world: PanelWorld) -> None:
    conversation_id = world.call(demo_contact("us_e164").phone_e164)
    panel = settled(world.open(conversation_id))
    note = panel.locator("#sp-note")

    note.fill("Customer wants the invoice resent.\nCall back Friday.")
    panel.locator("#sp-note-status", has_text="Saved").wait_for()
    world.page.reload()
    panel = settled(world.page.frame_locator("#dm-widget"))
    panel.locator("#sp-notes[data-loaded=true]").wait_for()

    assert panel.locator("#sp-note").input_value() == "Customer wants the invoice resent.\nCall back Friday."
    world.assert_clean()


def test_a_shared_numbers_last_choice_is_offered_first_on_its_next_call(world: PanelWorld) -> None:
    shared = demo_contact("au_shared_line_a").phone_e164
    chosen = ticket_id("au_shared_line_b_password")
    first = settled(world.open(world.call(shared)))
    first.locator("#sp-link-select").select_option(str(chosen))
    first.locator("#sp-link-button").click()
    linked_to(first, chosen)

    panel = settled(world.open(world.call(shared)))

    option = panel.locator("#sp-link-select option").first
    assert option.get_attribute("value") == str(chosen)
    assert option.inner_text() == f"Last chosen for this number: #{chosen} Shared office line: password reset"
    assert panel.locator("#sp-link-select").input_value() == str(chosen)
    world.assert_clean()


def test_the_demo_desktop_plays_the_whole_loop_to_the_note_on_the_ticket(world: PanelWorld) -> None:
    world.page.goto(f"{world.server.base_url}/demo/")
    world.page.locator("button[data-caller=known]").click()
    panel = settled(world.page.frame_locator("#dm-widget"))
    chosen = ticket_id("us_e164_upgrade")
    panel.locator("#sp-link-select").select_option(str(chosen))
    panel.locator("#sp-link-button").click()
    linked_to(panel, chosen)
    panel.locator("#sp-note").fill("Wants the Pro plan from next month.")
    panel.locator("#sp-note-status", has_text="Saved").wait_for()

    world.page.locator("#dm-wrapup").select_option("Follow-up needed")
    world.page.locator("#dm-end").click()

    world.page.locator("#dm-log", has_text='wrap-up "Follow-up needed"').wait_for()
    ended = [e for e in world.genesys.log(direction="in") if e["path"].endswith("/end") and e["method"] == "POST"]
    assert [e["body"]["wrapup"] for e in ended] == [{"code": "Follow-up needed", "notes": ""}]
    conversation_id = ended[0]["path"].split("/")[-2]
    assert "endTime" in world.genesys.control("GET", f"calls/{conversation_id}")
    world.page.locator("#dm-ticket-title", has_text=f"#{chosen} Upgrade to the Pro plan").wait_for()
    assert world.page.locator("#dm-end").is_disabled()
    # The loop closed: the wrap-up's trigger reached the webhook and the write-back put the call's note on the ticket.
    note = world.page.locator("#dm-ticket-notes li", has_text="Wants the Pro plan from next month.")
    note.wait_for(timeout=45_000)
    world.shot("demo-end-call")
    world.assert_clean()


def test_after_a_transfer_the_next_agent_sees_the_link_but_not_the_first_agents_note(world: PanelWorld) -> None:
    world.page.goto(f"{world.server.base_url}/demo/")
    world.page.locator("button[data-caller=known]").click()
    panel = settled(world.page.frame_locator("#dm-widget"))
    chosen = ticket_id("us_e164_receipt")
    panel.locator("#sp-link-select").select_option(str(chosen))
    panel.locator("#sp-link-button").click()
    linked_to(panel, chosen)
    panel.locator("#sp-note").fill("Alex's own words.")
    panel.locator("#sp-note-status", has_text="Saved").wait_for()

    world.page.locator("#dm-transfer").click()
    world.page.locator("#dm-log", has_text="transferred to Blair Agent").wait_for()

    panel = settled(world.page.frame_locator("#dm-widget"))
    linked_to(panel, chosen)
    panel.locator("#sp-notes[data-loaded=true]").wait_for()
    # The frame reloads for the next agent just after the log line: wait for the new panel's (empty) note, not the
    # old panel's, which may still be on screen for a moment.
    expect(panel.locator("#sp-note")).to_have_value("", timeout=10_000)
    world.assert_clean()


def test_click_to_dial_places_the_call_and_its_panel_pops_like_an_inbound_one(world: PanelWorld) -> None:
    world.page.goto(f"{world.server.base_url}/demo/")
    world.page.locator("button[data-caller=known]").click()
    panel = settled(world.page.frame_locator("#dm-widget"))
    first_conversation = world.page.locator("#dm-interaction code").inner_text()
    dial = panel.locator("#sp-dial-0")
    assert dial.get_attribute("data-number") == "+12015550123"

    dial.click()

    world.page.locator("#dm-log", has_text="outbound call placed from the panel").wait_for()
    placed = [e for e in world.genesys.log(direction="in") if e["path"] == "/api/v2/conversations/calls"]
    assert [(e["method"], e["status"], e["body"]) for e in placed] == [("POST", 200, {"phoneNumber": "+12015550123"})]
    new_conversation = world.page.locator("#dm-interaction code").inner_text()
    assert new_conversation != first_conversation
    panel = world.page.frame_locator("#dm-widget")
    panel.locator("#sp-body[data-state=matched]").wait_for()
    assert panel.locator("#sp-contact-name").inner_text() == "Jordan Blake"
    assert world.panel_frame().url.count(new_conversation) == 1
    world.shot("click-to-dial")
    world.assert_clean()
