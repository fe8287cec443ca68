"""A pop's life after the webhook (`screenpop.pops.services`) when Freshdesk hangs, crawls or comes back: the
breaker counts slow calls, the agent is told "unavailable" without waiting out long timeouts, and recent
"unavailable" pops are looked up again once Freshdesk answers (issue 18)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from screenpop.freshdesk.client import freshdesk_base_url
from screenpop.lookup.breaker import CircuitBreaker
from screenpop.models import Pop
from screenpop.pops.result import panel_state
from screenpop.pops.services import pop_lookup_run, pop_sweep

pytestmark = [pytest.mark.django_db(transaction=True)]

DANA = "tel:+15550199999"  # a seeded contact with tickets


@pytest.fixture
def screen_pop_deadlines(settings):
    """Short deadlines so a hang costs the tests a fraction of a second (the defaults are in settings.py)."""
    settings.SCREENPOP_FRESHDESK_CONNECT_SECONDS = 0.5
    settings.SCREENPOP_FRESHDESK_READ_SECONDS = 0.3
    settings.SCREENPOP_RETRY_DELAYS = [0.1, 0.2]
    return settings


@pytest.fixture
def make_pop(sim_tenant):
    tenant = sim_tenant("US")

    def make(conversation_id: str, *, phone: str = DANA, age_seconds: float = 0, **fields: Any) -> Pop:
        now = timezone.now()
        return Pop.objects.create(
            tenant=tenant, conversation_id=conversation_id, phone_raw=phone,
            received_at=now - timedelta(seconds=age_seconds), lease_owner="this-process",
            lease_expires_at=now + timedelta(minutes=1), **fields,
        )  # fmt: skip

    return make


def breaker_of(freshdesk_sim: Any) -> CircuitBreaker:
    return CircuitBreaker(freshdesk_base_url(freshdesk_sim.base_url))


def looked_up(pop: Pop) -> Pop:
    pop_lookup_run(pop_id=pop.pk, owner="this-process")
    pop.refresh_from_db()
    return pop


def test_the_simulator_can_hang_then_answer_again(freshdesk_sim) -> None:
    freshdesk_sim.configure(hang=True)
    with pytest.raises(requests.ReadTimeout):
        freshdesk_sim.get("/api/v2/contacts", timeout=0.3)
    freshdesk_sim.configure(hang=False)
    assert freshdesk_sim.get("/api/v2/contacts", timeout=5).status_code == 200
    assert [entry["endpoint"] for entry in freshdesk_sim.requests()] == ["contacts.list"]  # the hung one: no answer


def test_a_hung_freshdesk_is_unavailable_once_the_breaker_opens_not_after_every_retry(
    make_pop, freshdesk_sim, screen_pop_deadlines
) -> None:
    screen_pop_deadlines.SCREENPOP_BREAKER_FAILURES = 2
    freshdesk_sim.configure(hang=True)
    first = looked_up(make_pop("hang-1"))
    assert (first.state, first.attempts) == ("unavailable", 1), "told at the first timeout, not after retries"
    assert "did not answer" in first.detail
    assert breaker_of(freshdesk_sim).state() == "closed"
    second = looked_up(make_pop("hang-2"))
    assert (second.state, second.attempts) == ("unavailable", 1)
    assert breaker_of(freshdesk_sim).state() == "open", "the second timeout in a row opened the breaker"
    third = looked_up(make_pop("hang-3"))
    assert third.state == "unavailable"
    freshdesk_sim.configure(hang=False)
    assert freshdesk_sim.requests() == [], "the breaker kept the third lookup from calling a hung Freshdesk"


def test_an_error_answer_is_retried_before_unavailable(make_pop, freshdesk_sim, screen_pop_deadlines) -> None:
    """Unlike a hang, a quick 5xx costs the agent nothing to retry: 1 s / 5 s / 15 s (here shortened) first."""
    freshdesk_sim.configure(outage=True)
    pop = looked_up(make_pop("outage"))
    assert (pop.state, pop.attempts) == ("pending", 1)
    assert "retrying" in pop.detail


def test_a_slow_answer_counts_as_a_failure_for_the_breaker(make_pop, freshdesk_sim, screen_pop_deadlines) -> None:
    screen_pop_deadlines.SCREENPOP_BREAKER_FAILURES = 1
    screen_pop_deadlines.SCREENPOP_FRESHDESK_READ_SECONDS = 5
    screen_pop_deadlines.SCREENPOP_FRESHDESK_SLOW_SECONDS = 0.05
    freshdesk_sim.configure(latency_ms={"default": 150})
    pop = looked_up(make_pop("slow"))
    assert pop.state == "matched", "the answer itself is used"
    assert breaker_of(freshdesk_sim).state() == "open"


def test_a_quick_answer_keeps_the_breaker_closed(make_pop, freshdesk_sim, screen_pop_deadlines) -> None:
    screen_pop_deadlines.SCREENPOP_BREAKER_FAILURES = 1
    assert looked_up(make_pop("quick")).state == "matched"
    assert breaker_of(freshdesk_sim).state() == "closed"


def test_recent_unavailable_pops_are_looked_up_again_once_freshdesk_answers(
    make_pop, freshdesk_sim, screen_pop_deadlines
) -> None:
    screen_pop_deadlines.SCREENPOP_UNAVAILABLE_RETRY_SECONDS = 60
    recent = make_pop("recent", state="unavailable", attempts=3, completed_at=timezone.now())
    old = make_pop("old", age_seconds=120, state="unavailable", completed_at=timezone.now())
    errored = make_pop("errored", state="error", completed_at=timezone.now())
    breaker = breaker_of(freshdesk_sim)

    breaker.record_failure()
    for _ in range(screen_pop_deadlines.SCREENPOP_BREAKER_FAILURES):
        breaker.record_failure()
    assert breaker.state() == "open"
    assert pop_sweep(owner="this-process") == [], "nothing while the breaker is open"

    breaker.record_success()
    assert pop_sweep(owner="this-process") == [(recent.pk, recent.tenant_id)]
    recent.refresh_from_db()
    assert (recent.state, recent.attempts, recent.lease_owner) == ("pending", 3, "this-process")
    assert looked_up(recent).state == "matched"
    assert Pop.objects.get(pk=old.pk).state == "unavailable", "a call long over is left as it was"
    assert Pop.objects.get(pk=errored.pk).state == "error", "an error needs a person, not a retry"
    assert pop_sweep(owner="another-process") == []


def test_an_unavailable_pop_is_looked_up_again_a_bounded_number_of_times(make_pop, freshdesk_sim) -> None:
    from screenpop.pops.services import UNAVAILABLE_MAX_ATTEMPTS

    tried_enough = make_pop("tried-enough", state="unavailable", attempts=UNAVAILABLE_MAX_ATTEMPTS)
    assert pop_sweep(owner="this-process") == []
    assert Pop.objects.get(pk=tried_enough.pk).state == "unavailable"


def test_a_half_open_breaker_sends_one_unavailable_pop_as_the_probe(make_pop, freshdesk_sim, settings) -> None:
    settings.SCREENPOP_BREAKER_COOLDOWN = 0
    older = make_pop("older", age_seconds=5, state="unavailable", completed_at=timezone.now())
    newest = make_pop("newest", state="unavailable", completed_at=timezone.now())
    breaker = breaker_of(freshdesk_sim)
    for _ in range(settings.SCREENPOP_BREAKER_FAILURES):
        breaker.record_failure()
    assert breaker.state() == "half_open"
    assert pop_sweep(owner="this-process") == [(newest.pk, newest.tenant_id)]
    assert looked_up(newest).state == "matched"  # the probe: Freshdesk answers, the breaker closes
    assert breaker.state() == "closed"
    assert pop_sweep(owner="this-process") == [(older.pk, older.tenant_id)]


def test_the_calls_of_a_lookup_that_lost_its_lease_are_counted_as_repeated(make_pop, freshdesk_sim, monkeypatch):
    """A process that stalls past its lease loses the pop to another, which looks the caller up again: the first
    process's calls are counted in `screenpop_freshdesk_calls_repeated_total`."""
    from screenpop import metrics
    from screenpop.pops import services

    pop = make_pop("stalled")
    looked_up_for_real = services.caller_lookup

    def taken_over_meanwhile(**kwargs: Any) -> Any:
        Pop.objects.filter(pk=pop.pk).update(lease_owner="another-process")
        return looked_up_for_real(**kwargs)

    monkeypatch.setattr(services, "caller_lookup", taken_over_meanwhile)
    repeated_before = metrics.freshdesk_calls_repeated._value.get()
    lost_before = metrics.lookups_lost_lease._value.get()
    assert pop_lookup_run(pop_id=pop.pk, owner="this-process").state == "lost_lease"
    calls = len(freshdesk_sim.requests())
    assert calls >= 1
    assert metrics.freshdesk_calls_repeated._value.get() - repeated_before == calls
    assert metrics.lookups_lost_lease._value.get() - lost_before == 1


def test_a_pop_looked_up_again_that_fails_again_tells_its_panels_nothing_new(
    make_pop, freshdesk_sim, screen_pop_deadlines, monkeypatch
) -> None:
    """The agent reads "not answering, retrying"; a re-lookup while Freshdesk still fails publishes nothing (but the
    last one, below), and its result is published when there is one."""
    from screenpop.pops import services

    published: list[str] = []
    monkeypatch.setattr(services, "pop_publish_on_commit", lambda pop: published.append(pop.state))
    told = make_pop("told", state="unavailable", attempts=1, completed_at=timezone.now())
    assert pop_sweep(owner="this-process") == [(told.pk, told.tenant_id)]
    freshdesk_sim.configure(outage=True)
    assert looked_up(told).state == "pending", "a quick 5xx is retried (attempt 2 of 1 + 2 retries)"
    assert looked_up(told).state == "unavailable"
    assert published == [], "nothing new for the panel: still unavailable"
    assert pop_sweep(owner="this-process") == [(told.pk, told.tenant_id)]
    freshdesk_sim.configure(outage=False)
    assert looked_up(told).state == "matched"
    assert published == ["matched"]


# -- what the panel is told while Freshdesk fails (issue 24) --------------------------------------------------------


def test_a_failed_attempt_is_published_at_once_as_retrying(
    make_pop, freshdesk_sim, screen_pop_deadlines, monkeypatch
) -> None:
    """The first quick 5xx reaches the panels as "not answering, retrying" while the retries go on, in the agent's
    words (a code), with an admin's detail that carries no doubled punctuation."""
    from screenpop.pops import services

    published: list[dict[str, Any]] = []
    monkeypatch.setattr(
        services, "pop_publish_on_commit", lambda pop: published.append(panel_state(pop, conversation_id="x"))
    )
    freshdesk_sim.configure(outage=True)
    pop = looked_up(make_pop("outage"))

    assert [(s["state"], s["reason"], s["retrying"]) for s in published] == [
        ("pending", "freshdesk_not_answering", True)
    ]
    assert published[0]["retry_until"] == pop.next_attempt_at.isoformat().replace("+00:00", "Z")
    assert not re.search(r"\.[.;)]", pop.detail), pop.detail


def test_a_hang_is_unavailable_and_retrying_while_the_sweep_will_look_again(
    make_pop, freshdesk_sim, screen_pop_deadlines
) -> None:
    screen_pop_deadlines.SCREENPOP_UNAVAILABLE_RETRY_SECONDS = 60
    freshdesk_sim.configure(hang=True)
    pop = looked_up(make_pop("hang"))
    state = panel_state(pop, conversation_id="hang")
    assert (state["state"], state["reason"], state["retrying"]) == ("unavailable", "freshdesk_not_answering", True)
    assert state["retry_until"] == (pop.received_at + timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
    assert not re.search(r"\.[.;)]", pop.detail), pop.detail

    screen_pop_deadlines.SCREENPOP_UNAVAILABLE_RETRY_SECONDS = 0
    assert panel_state(pop, conversation_id="hang")["retrying"] is False, "no sweep: the agent's retry only"
    screen_pop_deadlines.SCREENPOP_UNAVAILABLE_RETRY_SECONDS = 60
    Pop.objects.filter(pk=pop.pk).update(received_at=timezone.now() - timedelta(seconds=61))
    pop.refresh_from_db()
    assert panel_state(pop, conversation_id="hang")["retrying"] is False, "the call is long over"


def test_the_last_failed_look_again_is_published_so_the_panel_stops_saying_retrying(
    make_pop, freshdesk_sim, screen_pop_deadlines, monkeypatch
) -> None:
    from screenpop.pops import services
    from screenpop.pops.reasons import UNAVAILABLE_MAX_ATTEMPTS

    screen_pop_deadlines.SCREENPOP_UNAVAILABLE_RETRY_SECONDS = 60
    screen_pop_deadlines.SCREENPOP_RETRY_DELAYS = []
    published: list[dict[str, Any]] = []
    monkeypatch.setattr(
        services, "pop_publish_on_commit", lambda pop: published.append(panel_state(pop, conversation_id="x"))
    )
    almost = make_pop(
        "almost", state="unavailable", attempts=UNAVAILABLE_MAX_ATTEMPTS - 1, completed_at=timezone.now(),
        reason="freshdesk_not_answering",
    )  # fmt: skip
    assert pop_sweep(owner="this-process") == [(almost.pk, almost.tenant_id)]
    freshdesk_sim.configure(outage=True)
    assert looked_up(almost).state == "unavailable"
    assert [(s["state"], s["retrying"]) for s in published] == [("unavailable", False)]


@pytest.mark.parametrize(
    ("phone", "reason"),
    [("tel:anonymous", "number_anonymous"), ("tel:private", "number_withheld"), ("tel:+12015550111", "no_contact")],
)
def test_a_caller_without_a_contact_gets_a_reason(make_pop, freshdesk_sim, phone, reason) -> None:
    pop = looked_up(make_pop(f"no-match-{reason}", phone=phone))
    assert (pop.state, pop.reason) == ("no_match", reason)


def test_a_refused_api_key_is_an_error_the_agent_can_name(make_pop, freshdesk_sim) -> None:
    from screenpop.models import FreshdeskConnection

    pop = make_pop("wrong-key")
    connection = FreshdeskConnection.objects.get(tenant_id=pop.tenant_id)
    connection.api_key = "not-the-key"
    connection.save()
    pop = looked_up(pop)
    state = panel_state(pop, conversation_id="wrong-key")
    assert (state["state"], state["reason"], state["retrying"]) == ("error", "freshdesk_key_refused", False)
