"""The Freshdesk client, its error mapping, its host allow-list and its per-account rate budget.

Client behaviour is tested over real HTTP against the Freshdesk simulator (`freshdesk_sim`), asserting on what the
simulator recorded; the budget's arithmetic is also tested on its own with a fake clock.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache import caches

from screenpop.errors import UpstreamError, ValidationFailed
from screenpop.freshdesk import (
    FreshdeskAuthError,
    FreshdeskClient,
    FreshdeskInvalidRequest,
    FreshdeskNotFound,
    FreshdeskRateLimited,
    FreshdeskTransientError,
    RateBudget,
    freshdesk_base_url,
)
from screenpop.phones import contact_search_query, search_variants
from simulators.freshdesk.seed import demo_contact, demo_ticket_count
from tests.fixtures.processes import free_port

WINDOW_START = 1_700_000_040.0  # a whole minute since the epoch


class FakeClock:
    """Wall time that moves only when the budget sleeps (or a test says so)."""

    def __init__(self, now: float = WINDOW_START) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["default"].clear()


@pytest.fixture
def make_budget():
    """A factory of budgets on a fake clock; each test gets its own account unless it names one."""
    clock = FakeClock()
    account = f"https://t{uuid.uuid4().hex[:8]}.freshdesk.com"

    def make(plan: str = "growth", *, account: str = account, **options) -> RateBudget:
        return RateBudget(account, plan, clock=clock, sleep=clock.sleep, **options)

    make.clock = clock
    return make


@pytest.fixture
def make_client(freshdesk_sim, settings):
    """A factory of clients of the simulator, each with a real-time budget for the simulator's account."""
    settings.SCREENPOP_ALLOW_SIMULATORS = True

    def make(
        *, plan: str | None = "growth", api_key: str | None = None, window_seconds: float = 60, **options
    ) -> FreshdeskClient:
        budget = RateBudget(freshdesk_sim.base_url, plan, window_seconds=window_seconds) if plan else None
        options.setdefault("budget_wait", 0)
        return FreshdeskClient(freshdesk_sim.base_url, api_key or freshdesk_sim.api_key, budget=budget, **options)

    return make


def spend_credits(freshdesk_sim, credits: int) -> None:
    """Spend the account's credits as another app would, bypassing our client (a ticket list with its three
    includes costs 7 credits)."""
    while credits >= 7:
        response = freshdesk_sim.get("/api/v2/tickets", params={"include": "requester,stats,description"})
        assert response.headers["X-RateLimit-Used-CurrentRequest"] == "7"
        credits -= 7
    for _ in range(credits):
        assert freshdesk_sim.get("/api/v2/ticket_fields").status_code == 200


def statuses(freshdesk_sim, endpoint: str | None = None) -> list[int]:
    """The statuses the simulator answered, oldest first (for one endpoint name, e.g. "contacts.list")."""
    return [call["status"] for call in freshdesk_sim.requests() if endpoint in (None, call["endpoint"])]


# -- the host allow-list ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme", "https://acme.freshdesk.com"),
        ("acme.freshdesk.com", "https://acme.freshdesk.com"),
        ("ACME.Freshdesk.com", "https://acme.freshdesk.com"),
        ("https://acme.freshdesk.com", "https://acme.freshdesk.com"),
        ("https://acme.freshdesk.com/", "https://acme.freshdesk.com"),
    ],
)
def test_freshdesk_domains_become_https_base_urls(settings, value: str, expected: str) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    assert freshdesk_base_url(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "evil.com",
        "https://evil.com",
        "https://acme.freshdesk.com.evil.com",
        "acme.freshdesk.com.evil.com",
        "http://acme.freshdesk.com",
        "https://user@acme.freshdesk.com",
        "https://user:pw@acme.freshdesk.com",
        "https://acme.freshdesk.com:8443",
        "https://acme.freshdesk.com:443",
        "https://acme.freshdesk.com/api/v2",
        "https://acme.freshdesk.com?next=https://evil.com",
        "https://acme.freshdesk.com\\@evil.com",
        "https://eu.acme.freshdesk.com",
        "https://freshdesk.com",
        "ftp://acme.freshdesk.com",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
    ],
)
def test_hosts_outside_the_allow_list_are_refused(settings, value: str) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    with pytest.raises(ValidationFailed) as caught:
        freshdesk_base_url(value)
    assert caught.value.field == "freshdesk_domain"
    assert caught.value.detail


def test_simulator_hosts_pass_only_when_the_setting_is_on(settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    assert freshdesk_base_url("http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert freshdesk_base_url("http://localhost:8123/") == "http://localhost:8123"
    for still_refused in (
        "http://127.0.0.1",
        "http://127.0.0.1:8123/api",
        "http://10.0.0.1:8123",
        "http://evil.com:80",
    ):
        with pytest.raises(ValidationFailed):
            freshdesk_base_url(still_refused)


# -- the budget on its own --------------------------------------------------------------------------------------


def test_budget_refuses_beyond_the_plan_limit_with_retry_after(make_budget) -> None:
    budget = make_budget("growth")
    make_budget.clock.now += 15
    assert budget.limit("contacts_list") == 18  # 20 per minute less the 10% margin
    for _ in range(18):
        budget.acquire("contacts_list", 1, block_up_to=0)
    with pytest.raises(FreshdeskRateLimited) as caught:
        budget.acquire("contacts_list", 1, block_up_to=0)
    # The calls sit in the 5-second bucket [15, 20), which leaves the sliding minute at 80 at the latest.
    assert caught.value.retry_after == pytest.approx(65, abs=0.1)
    assert isinstance(caught.value, UpstreamError)
    # Other kinds still have room in the account's total.
    budget.acquire("tickets_list", 1, block_up_to=0)
    assert budget.remaining("total") == 180 - 19


def test_budget_waits_for_room_when_allowed_to(make_budget) -> None:
    budget = make_budget("growth")
    for _ in range(18):
        budget.acquire("contacts_list", 1, block_up_to=0)
    with pytest.raises(FreshdeskRateLimited):
        budget.acquire("contacts_list", 1, block_up_to=60)
    assert make_budget.clock.slept == []
    budget.acquire("contacts_list", 1, block_up_to=70)
    assert make_budget.clock.slept == [pytest.approx(65, abs=0.1)]
    assert budget.remaining("contacts_list") == 17


def test_budget_minute_slides_so_no_burst_fits_across_a_minute_boundary(make_budget) -> None:
    budget = make_budget("growth")
    make_budget.clock.now += 55
    for _ in range(18):
        budget.acquire("contacts_list", 1)
    make_budget.clock.now += 6  # past the clock's minute boundary, but only 6 s after the burst
    with pytest.raises(FreshdeskRateLimited):
        budget.acquire("contacts_list", 1)


def test_budget_is_shared_by_instances_for_the_same_account_only(make_budget) -> None:
    first, second = make_budget("growth"), make_budget("growth")
    other_account = make_budget("growth", account="https://other.freshdesk.com")
    for _ in range(9):
        first.acquire("tickets_list", 1)
        second.acquire("tickets_list", 1)
    with pytest.raises(FreshdeskRateLimited):
        first.acquire("tickets_list", 1)
    other_account.acquire("tickets_list", 1)


def test_budget_adopts_the_servers_lower_remaining(make_budget) -> None:
    budget = make_budget("growth")
    budget.acquire("other", 1)
    # Another app on the account has spent most of the minute.
    budget.observe(status=200, headers={"X-RateLimit-Total": "200", "X-RateLimit-Remaining": "25"})
    assert budget.remaining("total") == 180 - 175
    # A server that counts fewer calls than we do never lowers our count (ours includes calls in flight).
    budget.observe(status=200, headers={"X-RateLimit-Total": "200", "X-RateLimit-Remaining": "199"})
    assert budget.remaining("total") == 5


def test_budget_learns_the_plan_from_the_total_header(make_budget) -> None:
    budget = make_budget("growth")
    budget.observe(status=200, headers={"X-RateLimit-Total": "400", "X-RateLimit-Remaining": "399"})
    assert (budget.limit("total"), budget.limit("contacts_list")) == (360, 90)


def test_budget_honours_retry_after_for_the_whole_account(make_budget) -> None:
    budget = make_budget("enterprise")
    budget.observe(status=429, headers={"Retry-After": "30"})
    with pytest.raises(FreshdeskRateLimited) as caught:
        make_budget("enterprise").acquire("other", 1, block_up_to=5)
    assert caught.value.retry_after == pytest.approx(30)
    budget.acquire("other", 1, block_up_to=31)
    assert make_budget.clock.slept == [pytest.approx(30)]


def test_budget_refuses_a_call_that_can_never_fit(make_budget) -> None:
    with pytest.raises(ValueError):
        make_budget("growth").acquire("contacts_list", 19)
    with pytest.raises(ValueError):
        make_budget("growth").acquire("no_such_kind", 1)  # type: ignore[arg-type]


@pytest.mark.redis
def test_budget_counters_are_shared_across_clients_through_redis(settings, redis_url: str) -> None:
    """With the Redis cache (production), concurrent budgets for one account never overspend it together."""
    settings.CACHES = {
        **settings.CACHES,
        "budget": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    account = f"https://r{uuid.uuid4().hex[:8]}.freshdesk.com"
    granted: list[int] = []
    refused: list[int] = []

    def worker() -> None:
        # One budget object per thread, as each process would have its own.
        budget = RateBudget(account, "growth", cache_alias="budget", window_seconds=3600)
        for _ in range(10):
            try:
                budget.acquire("contacts_list", 1, block_up_to=0)
                granted.append(1)
            except FreshdeskRateLimited:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) <= 18
    assert len(granted) + len(refused) == 60
    assert RateBudget(account, "growth", cache_alias="budget", window_seconds=3600).remaining("contacts_list") == (
        18 - len(granted)
    )


# -- the client over HTTP, against the simulator ----------------------------------------------------------------


def test_phone_filter_sends_plus_encoded_and_finds_the_contact(make_client, freshdesk_sim) -> None:
    contact = demo_contact("us_e164")
    found = make_client().list_contacts(phone=contact.phone)
    assert [item["id"] for item in found] == [contact.id]
    [call] = freshdesk_sim.requests()
    assert "phone=%2B12015550123" in call["raw_query"]
    assert call["query"]["phone"] == ["+12015550123"]


def test_search_by_phone_variants_finds_a_messily_stored_number(make_client, freshdesk_sim) -> None:
    contact = demo_contact("us_parenthesised")
    query = contact_search_query(search_variants(contact.phone_e164))
    result = make_client().search_contacts(query)
    assert contact.id in [item["id"] for item in result["results"]]
    [call] = freshdesk_sim.requests()
    assert call["query"]["query"] == [f'"{query}"']
    assert "%2B15550199999" in call["raw_query"]


def test_tickets_of_a_caller_and_of_an_unknown_requester(make_client, freshdesk_sim) -> None:
    client = make_client()
    contact = demo_contact("us_extension")
    tickets = client.list_tickets(
        requester_id=contact.id, updated_since="2000-01-01T00:00:00Z", order_by="updated_at", per_page=100
    )
    assert len(tickets) == demo_ticket_count("us_extension")
    assert {ticket["requester_id"] for ticket in tickets} == {contact.id}
    # Freshdesk answers 400 "There is no contact matching the given requester_id": that is "no tickets".
    assert client.list_tickets(requester_id=42) == []
    assert statuses(freshdesk_sim, "tickets.list") == [200, 400]


def test_get_ticket_fields_and_verify(make_client, freshdesk_sim) -> None:
    client = make_client()
    ticket_id = client.list_tickets(requester_id=demo_contact("uk_national").id)[0]["id"]
    assert client.get_ticket(ticket_id)["id"] == ticket_id
    assert any(field["name"] == "status" for field in client.ticket_fields())
    assert client.verify() == 200
    freshdesk_sim.configure(plan="pro")
    assert client.verify() == 400


def test_create_phone_ticket_with_phone_defaults(make_client, freshdesk_sim) -> None:
    ticket = make_client().create_ticket(
        phone="+15550199999", name="Dana Whitfield", subject="Call back", description="<p>Asked for a call back</p>"
    )
    assert (ticket["source"], ticket["status"], ticket["priority"]) == (3, 2, 1)
    [call] = freshdesk_sim.requests()
    assert (call["method"], call["status"], call["body"]["phone"]) == ("POST", 201, "+15550199999")


def test_bad_api_key_is_an_auth_error(make_client) -> None:
    with pytest.raises(FreshdeskAuthError) as caught:
        make_client(api_key="wrong-key").list_contacts(phone="+15550199999")
    assert (caught.value.status, caught.value.freshdesk_code) == (401, "invalid_credentials")
    assert "API key" in caught.value.detail


def test_plan_without_api_is_an_auth_error(make_client, freshdesk_sim) -> None:
    freshdesk_sim.configure(plan="free")
    with pytest.raises(FreshdeskAuthError) as caught:
        make_client().verify()
    assert caught.value.status == 403


def test_unknown_ticket_is_not_found(make_client) -> None:
    with pytest.raises(FreshdeskNotFound) as caught:
        make_client().get_ticket(999_999_999)
    assert caught.value.status == 404


def test_invalid_request_surfaces_freshdesks_errors(make_client) -> None:
    with pytest.raises(FreshdeskInvalidRequest) as caught:
        make_client().create_ticket(email="dana.whitfield@example.com", subject="s", description="d", priority=9)
    assert caught.value.status == 400
    assert "priority" in [error["field"] for error in caught.value.errors]
    assert "priority" in caught.value.detail


def test_invalid_search_query_is_an_invalid_request(make_client) -> None:
    with pytest.raises(FreshdeskInvalidRequest) as caught:
        make_client().search_contacts("phone:'+15550199999' OR")
    assert caught.value.status == 400


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(make_client, freshdesk_sim, status: int) -> None:
    freshdesk_sim.configure(error_rate=1.0, error_statuses=[status])
    with pytest.raises(FreshdeskTransientError) as caught:
        make_client().list_contacts(mobile="+15550199999")
    assert caught.value.status == status


def test_outage_is_transient(make_client, freshdesk_sim) -> None:
    freshdesk_sim.configure(outage=True)
    with pytest.raises(FreshdeskTransientError) as caught:
        make_client().verify()
    assert caught.value.status == 503


def test_slow_answer_is_a_transient_timeout(make_client, freshdesk_sim) -> None:
    freshdesk_sim.configure(latency_ms={"contacts.list": 1500})
    with pytest.raises(FreshdeskTransientError) as caught:
        make_client(read_timeout=0.3).list_contacts(phone="+15550199999")
    assert "did not answer" in caught.value.detail
    assert caught.value.status is None


def test_nothing_listening_is_transient(settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = True
    client = FreshdeskClient(f"http://127.0.0.1:{free_port()}", "key", budget=None, connect_timeout=0.5)
    with pytest.raises(FreshdeskTransientError):
        client.verify()


def test_simulator_host_refused_unless_the_setting_is_on(freshdesk_sim, settings) -> None:
    settings.SCREENPOP_ALLOW_SIMULATORS = False
    with pytest.raises(ValidationFailed):
        FreshdeskClient(freshdesk_sim.base_url, freshdesk_sim.api_key, budget=None)
    with pytest.raises(ValidationFailed):
        FreshdeskClient("https://acme.freshdesk.com.evil.com", "key", budget=None)
    assert freshdesk_sim.requests() == []


def test_pagination_follows_link_and_stays_bounded(make_client, freshdesk_sim) -> None:
    client = make_client()
    bounded = list(client.iter_contacts_updated_since("2000-01-01T00:00:00Z", max_pages=2, per_page=5))
    assert len(bounded) == 10
    calls = freshdesk_sim.requests()
    assert [call["query"].get("page") for call in calls] == [["1"], ["2"]]
    freshdesk_sim.clear_requests()
    everyone = list(client.iter_contacts_updated_since("2000-01-01T00:00:00Z", max_pages=50, per_page=10))
    pages = len(freshdesk_sim.requests())
    assert pages == -(-len(everyone) // 10)  # stopped where Link rel=next ended, far below the bound
    assert len({contact["id"] for contact in everyone}) == len(everyone) > 10


def test_a_burst_beyond_the_plan_earns_no_429(make_client, freshdesk_sim) -> None:
    """30 contact lookups on Growth (contacts list: 20/min): the budget sends 18 and refuses the rest itself."""
    client = make_client(plan="growth")
    sent, refused = 0, []
    for _ in range(30):
        try:
            client.list_contacts(phone="+15550199999")
            sent += 1
        except FreshdeskRateLimited as error:
            refused.append(error.retry_after)
    assert (sent, len(refused)) == (18, 12)
    assert all(0 < retry_after <= 65 for retry_after in refused)
    assert statuses(freshdesk_sim) == [200] * 18


def test_a_burst_waits_for_room_when_the_budget_may_wait(make_client, freshdesk_sim) -> None:
    """With the simulator's minute lasting one real second, a budget allowed to wait sends all 30, none refused."""
    freshdesk_sim.configure(clock_speed=60)
    client = make_client(plan="growth", window_seconds=1, budget_wait=5)
    for _ in range(30):
        client.list_contacts(phone="+15550199999")
    assert statuses(freshdesk_sim) == [200] * 30


def test_429_retry_after_blocks_the_account_until_then(make_client, freshdesk_sim) -> None:
    """Another app spends the whole account; our call gets the 429, and the budget holds the next one back."""
    freshdesk_sim.configure(plan="trial")
    spend_credits(freshdesk_sim, 50)
    freshdesk_sim.configure(clock_speed=60)  # the minute now lasts a second: Retry-After counts in seconds
    client = make_client(plan="trial", window_seconds=1)
    with pytest.raises(FreshdeskRateLimited) as caught:
        client.verify()
    assert caught.value.status == 429
    assert 1 <= caught.value.retry_after <= 2
    answered = len(freshdesk_sim.requests())
    with pytest.raises(FreshdeskRateLimited):
        client.verify()  # refused by the budget: Freshdesk never sees it
    assert len(freshdesk_sim.requests()) == answered
    client.budget_wait = 3
    assert client.verify() == 50  # waits out Retry-After, then goes through
    assert statuses(freshdesk_sim, "agents.me") == [429, 200], "sent before Retry-After, it would be refused again"


def test_budget_adopts_what_other_apps_spent(make_client, freshdesk_sim) -> None:
    freshdesk_sim.configure(plan="trial")
    spend_credits(freshdesk_sim, 45)
    client = make_client(plan="trial")
    client.verify()  # X-RateLimit-Remaining: 4, fewer than our own count (1 of 45) leaves
    with pytest.raises(FreshdeskRateLimited):
        client.verify()
    assert statuses(freshdesk_sim, "agents.me") == [200]


@pytest.mark.redis
def test_on_redis_a_reservation_is_one_script_call(settings, redis_url: str) -> None:
    """On Redis the check-and-reserve is one round trip (a script) where the cache API took ten, on the same keys:
    what the script reserved is what `remaining()` reads through the cache, and a refusal gives its credits back."""
    import redis

    settings.CACHES = {
        **settings.CACHES,
        "budget": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    server = redis.Redis.from_url(redis_url)
    budget = RateBudget(f"https://s{uuid.uuid4().hex[:8]}.freshdesk.com", "growth", cache_alias="budget")

    def script_calls() -> int:
        stats = server.info("commandstats")
        return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))

    before = script_calls()
    for _ in range(18):  # Growth's 20 contact lists a minute, less the 10% margin
        budget.acquire("contacts_list", 1, block_up_to=0)
    assert script_calls() - before >= 18
    assert budget.remaining("contacts_list") == 0
    assert budget.remaining("total") == 180 - 18
    with pytest.raises(FreshdeskRateLimited) as refused:
        budget.acquire("contacts_list", 1, block_up_to=0)
    assert 55 < refused.value.retry_after <= 65  # when the oldest bucket holding the calls leaves the minute
    assert budget.remaining("total") == 180 - 18, "the refused call's reservation on the total was given back"
