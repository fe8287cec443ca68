"""Background work survives what an operator meets: a database connection that died with its server, a lookup that
crashed on an unreachable cache, a process that died holding leases (issue 18)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from screenpop import metrics
from screenpop.lookup import runner as lookup_runner
from screenpop.models import Pop
from screenpop.pops import services
from screenpop.storage.connections import database_work
from screenpop.storage.pops import pops_claim_due, pops_lease_renew

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def make_pop(make_tenant):
    tenant = make_tenant()

    def make(conversation_id: str, *, owner: str = "this-process", lease_seconds: float = 60, **fields: Any) -> Pop:
        now = timezone.now()
        return Pop.objects.create(
            tenant=tenant, conversation_id=conversation_id, phone_raw="tel:+15550199998", received_at=now,
            lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds), **fields,
        )  # fmt: skip

    return make


def _in_a_thread(function: Any) -> Any:
    """Run `function` in a thread of its own (a background thread has its own connections) and return its result."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_connection_killed_under_a_background_thread_is_replaced_by_its_next_unit_of_work(make_pop) -> None:
    """PostgreSQL ends the thread's session (as a restart does): the unit of work that meets the dead connection
    fails, including when the failure comes from `atomic().__enter__`, and the next one works on a fresh one."""
    if connection.vendor != "postgresql":
        pytest.skip("a server-side end of a session: the production configuration (PostgreSQL)")
    pop = make_pop("dead-connection")

    class Worker:
        """A long-lived background thread's connection, used one unit of work at a time."""

        def __init__(self) -> None:
            self.results: list[str] = []
            self.backend_pids: list[int] = []

        def unit(self, work: Any) -> None:
            try:
                with database_work():
                    self.results.append(work())
            except OperationalError:
                self.results.append("failed")

    from django.db import connections

    worker = Worker()
    jobs: list[Any] = []
    done = threading.Event()
    ready = threading.Event()
    go = threading.Event()

    def pid() -> str:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            worker.backend_pids.append(cursor.fetchone()[0])
        return "pid"

    def in_a_transaction() -> str:
        with transaction.atomic():
            return Pop.objects.get(pk=pop.pk).state

    def thread_body() -> None:
        worker.unit(pid)
        ready.set()
        go.wait(timeout=10)
        for job in jobs:
            worker.unit(job)
        connections.close_all()
        done.set()

    jobs.extend([in_a_transaction, in_a_transaction, in_a_transaction])
    thread = threading.Thread(target=thread_body)
    thread.start()
    assert ready.wait(timeout=10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [worker.backend_pids[0]])
    go.set()
    assert done.wait(timeout=30)
    thread.join()
    # The first unit after the kill fails (the connection was dead); every later one works on a fresh connection.
    assert worker.results == ["pid", "failed", "pending", "pending"]


def test_a_unit_of_work_closes_the_connection_when_the_database_is_unreachable(monkeypatch) -> None:
    """The error raised before Django's own bookkeeping runs (BEGIN on a dead connection) still drops the
    connection: the next unit connects afresh."""

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django never closes an in-memory SQLite database (it would lose the data)")

    def unit_then_raw_connection() -> tuple[object, object]:
        connection.ensure_connection()
        before = connection.connection
        with pytest.raises(OperationalError), database_work():
            raise OperationalError("the connection is closed")
        after = connection.connection
        connection.close()
        return before, after

    before, after = _in_a_thread(unit_then_raw_connection)
    assert before is not None
    assert after is None


def test_a_data_error_keeps_the_connection() -> None:
    from django.db import DataError

    def unit() -> tuple[object, object]:
        connection.ensure_connection()
        before = connection.connection
        with pytest.raises(DataError), database_work():
            raise DataError("a value the column cannot take")
        after = connection.connection
        connection.close()
        return before, after

    before, after = _in_a_thread(unit)
    assert before is after


async def test_a_crashed_lookup_is_tried_again_by_its_process_not_left_for_the_lease(monkeypatch) -> None:
    """The cache (or the database) raises during a lookup: the runner tries the pop again shortly, itself."""
    attempts: list[int] = []

    def flaky(*, pop_id: int, owner: str) -> services.RunOutcome:
        attempts.append(pop_id)
        if len(attempts) < 3:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return services.RunOutcome(state="matched")

    monkeypatch.setattr(lookup_runner, "pop_lookup_run", flaky)
    monkeypatch.setattr(lookup_runner, "CRASH_RETRY_SECONDS", (0.01, 0.02))
    crashes_before = metrics.lookup_crashes._value.get()
    runner = lookup_runner.LookupRunner(owner="this-process", concurrency=2)
    runner.start()
    try:
        runner.schedule([(7, 1)])
        assert runner.held() == [7]
        for _ in range(200):
            if len(attempts) == 3 and not runner.held():
                break
            await asyncio.sleep(0.01)
    finally:
        await runner.stop()
    assert attempts == [7, 7, 7]
    assert runner.held() == [], "a finished pop is no longer held (its lease is not renewed)"
    assert metrics.lookup_crashes._value.get() - crashes_before == 2


async def test_a_lookup_that_always_crashes_is_let_go_after_a_bounded_number_of_tries(monkeypatch) -> None:
    attempts: list[int] = []

    def broken(*, pop_id: int, owner: str) -> services.RunOutcome:
        attempts.append(pop_id)
        raise KeyError("a bug, not an outage")

    monkeypatch.setattr(lookup_runner, "pop_lookup_run", broken)
    monkeypatch.setattr(lookup_runner, "CRASH_RETRY_SECONDS", (0.001,))
    monkeypatch.setattr(lookup_runner, "CRASH_RETRY_LIMIT", 4)
    runner = lookup_runner.LookupRunner(owner="this-process", concurrency=2)
    runner.start()
    try:
        runner.schedule([(9, 1)])
        for _ in range(200):
            if len(attempts) == 4 and not runner.held():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert attempts == [9, 9, 9, 9]
    assert runner.held() == [], "let go: its lease expires and the sweep takes it up later"


def test_leases_are_renewed_for_the_held_pops_only(make_pop) -> None:
    held = make_pop("held", lease_seconds=1)
    not_held = make_pop("not-held", lease_seconds=1)
    other_process = make_pop("other", owner="another-process", lease_seconds=1)
    finished = make_pop("finished", lease_seconds=1, state=Pop.State.MATCHED)
    renewed = pops_lease_renew(owner="this-process", pop_ids=[held.pk, other_process.pk, finished.pk])
    assert renewed == 1
    expiries = dict(Pop.objects.values_list("conversation_id", "lease_expires_at"))
    assert expiries["held"] > held.lease_expires_at
    for pop in (not_held, other_process, finished):
        assert expiries[pop.conversation_id] == pop.lease_expires_at


def test_renewing_nothing_costs_no_query(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        assert pops_lease_renew(owner="this-process", pop_ids=[]) == 0


def test_one_sweep_takes_every_expired_pop_not_one_batch(make_pop) -> None:
    """A process that starts after another died takes all of its pops at once, `limit` at a time."""
    expired = [make_pop(f"dead-{number}", owner="dead-process", lease_seconds=-1).pk for number in range(7)]
    never_leased = make_pop("never-leased", owner="", lease_seconds=-1).pk
    alive = make_pop("alive", owner="live-process", lease_seconds=60)
    taken_over_before = metrics.pops_taken_over._value.get()
    claimed = services.pop_claim_all_due(owner="new-process", limit=3)
    assert sorted(pop_id for pop_id, _ in claimed) == sorted([*expired, never_leased])
    assert set(Pop.objects.filter(pk__in=expired).values_list("lease_owner", flat=True)) == {"new-process"}
    assert metrics.pops_taken_over._value.get() - taken_over_before == 7, "counted: their lookups may be repeated"
    assert Pop.objects.get(pk=alive.pk).lease_owner == "live-process"
    assert pops_claim_due(owner="new-process", limit=3) == []


async def test_the_scheduler_renews_the_runners_leases_while_a_lookup_runs(make_pop, monkeypatch, settings) -> None:
    """A lookup slower than the lease keeps its pop: the scheduler's renewal extends the lease while it runs, so no
    other process's sweep takes it."""
    from asgiref.sync import sync_to_async

    from screenpop import scheduler

    settings.SCREENPOP_LEASE_SECONDS = 0.4
    settings.SCREENPOP_SWEEP_SECONDS = 3600
    pop = await sync_to_async(make_pop)("slow-lookup", lease_seconds=0.4)
    release = threading.Event()
    claimed_by_others: list[list] = []

    def slow(*, pop_id: int, owner: str) -> services.RunOutcome:
        release.wait(timeout=10)
        return services.RunOutcome(state="matched")

    monkeypatch.setattr(lookup_runner, "pop_lookup_run", slow)
    runner = scheduler.scheduler_start("this-process")
    try:
        runner.schedule([(pop.pk, pop.tenant_id)])
        for _ in range(12):  # three leases long
            await asyncio.sleep(0.1)
            claimed_by_others.append(await sync_to_async(pops_claim_due)(owner="another-process", limit=10))
    finally:
        release.set()
        await scheduler.scheduler_stop()
    assert claimed_by_others == [[]] * 12
    assert (await Pop.objects.aget(pk=pop.pk)).lease_owner == "this-process"


async def test_background_work_is_stuck_while_due_lookups_make_no_progress(monkeypatch, settings) -> None:
    """`/readyz`'s background check: a lookup that never ends (a thread stuck on a dead socket) makes the process
    stuck once the threshold passes; a lookup that ends makes it move again."""
    from screenpop import scheduler

    settings.SCREENPOP_SWEEP_SECONDS = 0.05
    settings.SCREENPOP_STUCK_SECONDS = 0.2
    release = threading.Event()

    def hanging(*, pop_id: int, owner: str) -> services.RunOutcome:
        release.wait(timeout=10)
        return services.RunOutcome(state="matched")

    monkeypatch.setattr(lookup_runner, "pop_lookup_run", hanging)
    runner = scheduler.scheduler_start("this-process")
    reasons: list[str | None] = []
    try:
        assert scheduler.background_stuck() is None, "idle is not stuck"
        runner.schedule([(1, 1)])
        for _ in range(100):
            reasons.append(scheduler.background_stuck())
            if reasons[-1] is not None:
                break
            await asyncio.sleep(0.05)
        release.set()
        for _ in range(100):
            if not runner.held():
                break
            await asyncio.sleep(0.02)
        after = scheduler.background_stuck()
    finally:
        release.set()
        await scheduler.scheduler_stop()
    assert reasons[-1] is not None
    assert "due lookups have not progressed" in reasons[-1]
    assert after is None
    assert scheduler.background_stuck() is None, "a process that runs no background work is not stuck"
