"""Retention: event-log rows, pops (with what they showed) and expired OAuth tokens are deleted after their time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken

from screenpop import scheduler
from screenpop.lookup.runner import LookupRunner
from screenpop.models import EventLog, Pop, PopContact, PopTicket
from screenpop.retention import purge_due, purge_old_records
from screenpop.storage import retention as storage_retention


def _event(tenant, days_ago: float, conversation_id: str) -> EventLog:
    return EventLog.objects.create(
        tenant=tenant,
        received_at=timezone.now() - timedelta(days=days_ago),
        outcome=EventLog.Outcome.ACCEPTED,
        status_code=202,
        conversation_id=conversation_id,
    )


def _pop(tenant, days_ago: float, conversation_id: str) -> Pop:
    pop = Pop.objects.create(
        tenant=tenant,
        conversation_id=conversation_id,
        phone_raw="tel:+15550100",
        received_at=timezone.now() - timedelta(days=days_ago),
        state=Pop.State.MATCHED,
    )
    PopTicket.objects.create(pop=pop, ticket_id=int(days_ago * 10) + 1, updated_at=pop.received_at)
    PopContact.objects.create(pop=pop, contact_id=int(days_ago * 10) + 1)
    return pop


@pytest.fixture
def records(make_tenant):
    """Five event-log rows and five pops past 30 days, two of each within them."""
    tenant = make_tenant()
    old = [(_event(tenant, 31 + n, f"old-{n}"), _pop(tenant, 31 + n, f"old-{n}")) for n in range(5)]
    recent = [(_event(tenant, n + 0.5, f"new-{n}"), _pop(tenant, n + 0.5, f"new-{n}")) for n in (0, 28)]
    return tenant, old, recent


@pytest.mark.django_db
def test_rows_past_the_retention_period_are_deleted_in_chunks_and_recent_ones_kept(
    records, settings, monkeypatch
) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 30
    monkeypatch.setattr(storage_retention, "CHUNK", 2)  # five old rows: three chunks each
    _, _, recent = records

    report = purge_old_records()

    assert (report.events, report.pops) == (5, 5)
    assert sorted(EventLog.objects.values_list("conversation_id", flat=True)) == ["new-0", "new-28"]
    assert sorted(Pop.objects.values_list("conversation_id", flat=True)) == ["new-0", "new-28"]
    # What an old pop showed went with it; the recent pops keep theirs.
    assert set(PopTicket.objects.values_list("pop_id", flat=True)) == {pop.pk for _, pop in recent}
    assert set(PopContact.objects.values_list("pop_id", flat=True)) == {pop.pk for _, pop in recent}


@pytest.mark.django_db
def test_a_second_purge_finds_nothing_more(records, settings) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 30
    purge_old_records()
    again = purge_old_records()
    assert (again.events, again.pops) == (0, 0)
    assert EventLog.objects.count() == Pop.objects.count() == 2


@pytest.mark.django_db
def test_retention_zero_keeps_everything(records, settings) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 0
    report = purge_old_records()
    assert report.cutoff is None
    assert EventLog.objects.count() == Pop.objects.count() == 7
    assert purge_due(owner="p1") is None


@pytest.mark.django_db
def test_expired_oauth_tokens_are_cleared_and_valid_ones_kept(make_tenant, make_webhook_client, settings) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 30
    application = make_webhook_client(make_tenant()).webhook_client.application
    now = timezone.now()
    AccessToken.objects.create(application=application, token="expired-token", expires=now - timedelta(hours=2))
    AccessToken.objects.create(application=application, token="valid-token", expires=now + timedelta(hours=1))

    purge_old_records()

    assert list(AccessToken.objects.filter(application=application).values_list("token", flat=True)) == ["valid-token"]


@pytest.mark.django_db
def test_one_process_purges_per_interval(records, settings) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 30
    cache.delete("retention-purge")
    first = purge_due(owner="process-1")
    assert first is not None
    assert first.events == 5
    _event(records[0], 40, "older-still")
    assert purge_due(owner="process-2") is None  # process-1 purged within the hour
    assert EventLog.objects.filter(conversation_id="older-still").exists()


@pytest.mark.django_db
def test_the_command_reports_what_it_deleted(records, settings) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 90
    out = StringIO()
    call_command("purge_old_records", "--days", "33", stdout=out)  # old-2, old-3, old-4 are past 33 days
    assert out.getvalue().startswith("Deleted 3 event-log rows and 3 pops received before ")
    assert EventLog.objects.count() == 4
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("purge_old_records", "--days", "0", stdout=StringIO())
    settings.SCREENPOP_RETENTION_DAYS = 0
    out = StringIO()
    call_command("purge_old_records", stdout=out)
    assert "Retention is off" in out.getvalue()
    assert EventLog.objects.count() == 4


@pytest.mark.django_db(transaction=True)
async def test_the_servers_background_work_purges(records, settings, monkeypatch) -> None:
    settings.SCREENPOP_RETENTION_DAYS = 30
    await asyncio.to_thread(cache.delete, "retention-purge")
    monkeypatch.setattr(scheduler, "PURGE_FIRST_DELAY_SECONDS", 0.0)
    settings.SCREENPOP_SWEEP_SECONDS = 3600
    runner = LookupRunner(owner="purging-process", concurrency=1)
    runner.start()
    jobs = scheduler.Scheduler("purging-process", runner)
    try:
        old_events = EventLog.objects.filter(conversation_id__startswith="old-")
        old_pops = Pop.objects.filter(conversation_id__startswith="old-")
        # The purge deletes the old events, then the old pops, each in transactions of their own: wait for both.
        for _ in range(100):
            if not await asyncio.to_thread(old_events.exists) and not await asyncio.to_thread(old_pops.exists):
                break
            await asyncio.sleep(0.05)
        assert not await asyncio.to_thread(old_events.exists)
        assert not await asyncio.to_thread(old_pops.exists)
        assert await asyncio.to_thread(Pop.objects.count) == 2
    finally:
        await jobs.stop()
        await runner.stop()
