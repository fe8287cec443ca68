"""Storage: what each hot path costs in statements (pinned, so a change that adds a round trip shows), the columns
our statements write, and the write transactions' ordering with publishing."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import psycopg
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from screenpop import publishing
from screenpop.lookup import flight
from screenpop.lookup.service import LookupResult
from screenpop.models import EventLog, Pop, PopContact, PopTicket
from screenpop.panel_tokens import panel_token_issue
from screenpop.pops.result import PopResult
from screenpop.pops.services import pop_lookup_run
from screenpop.storage import transactions
from screenpop.storage.columns import InsertShape
from screenpop.storage.webhook import events_record
from screenpop.webhook import callers
from screenpop.webhook.intake import submission_from_request

pytestmark = [pytest.mark.django_db(transaction=True)]

POSTGRESQL = connection.vendor == "postgresql"


@contextmanager
def statements_counted():
    """Count the statements the webhook's writers send through the driver (they bypass Django's cursor)."""
    sent: list[str] = []
    if POSTGRESQL:
        original = psycopg.Cursor.execute

        def counted(self, query, *args, **kwargs):
            sent.append(str(query))
            return original(self, query, *args, **kwargs)

        psycopg.Cursor.execute = counted
        try:
            yield sent
        finally:
            psycopg.Cursor.execute = original
        return
    connection.ensure_connection()
    raw = connection.connection
    raw.set_trace_callback(
        lambda sql: sent.append(sql) if sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE")) else None
    )
    try:
        yield sent
    finally:
        raw.set_trace_callback(None)


def _submission(token: str, conversation_id: str) -> object:
    body = (
        f'{{"conversation_id": "{conversation_id}", "phone_number": "tel:+15550199999", '
        '"event_type": "INBOUND_CALL_START", "media_type": "VOICE", "direction": "INBOUND"}'
    ).encode()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return submission_from_request(body=body, headers=headers)


def test_a_webhook_batch_costs_one_write_once_its_callers_are_known(
    make_tenant, make_webhook_client, token_for
) -> None:
    tenant = make_tenant()
    token = token_for(make_webhook_client(tenant))
    callers.forget()
    with statements_counted() as cold:
        replies = events_record([_submission(token, "conv-1"), _submission(token, "conv-1")], lease_owner="me")
    assert [reply.status for reply in replies] == [202, 200]
    with statements_counted() as warm:
        replies = events_record([_submission(token, "conv-2"), _submission(token, "conv-3")], lease_owner="me")
    assert [reply.status for reply in replies] == [202, 202]
    # PostgreSQL: the token owners, the queue filters, then the pops and the event rows in ONE statement.
    # SQLite: the same reads, then the pops' insert, their ids as one row, and the event rows' insert.
    assert len(cold) == (3 if POSTGRESQL else 5), cold
    assert len(warm) == (1 if POSTGRESQL else 3), warm
    assert EventLog.objects.count() == 4
    assert list(EventLog.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "accepted", "duplicate", "accepted", "accepted",
    ]  # fmt: skip


def _leased_pop(tenant, conversation_id: str) -> Pop:
    now = timezone.now()
    return Pop.objects.create(
        tenant=tenant, conversation_id=conversation_id, phone_raw="tel:+15550199999", received_at=now,
        lease_owner="me", lease_expires_at=now + timezone.timedelta(minutes=1),
    )  # fmt: skip


def test_a_cached_lookup_reads_the_pop_and_finishes_in_one_write(make_tenant, django_assert_num_queries) -> None:
    tenant = make_tenant(freshdesk_domain="acme.freshdesk.com", freshdesk_api_key="key")
    ticket = {"id": 41, "subject": "Broken", "status": 2, "status_label": "Open", "priority": 1,
              "priority_label": "Low", "updated_at": "2026-11-28T12:00:00Z",
              "url": "https://acme.freshdesk.com/a/tickets/41"}  # fmt: skip
    shown = PopResult("+1 555-019-9999", ({"id": 7, "name": "Dana", "tickets": [ticket]},), "search")
    found = LookupResult("matched", "+15550199999", shown, freshdesk_calls=2, source="search")
    cache.set(flight.result_key(tenant.pk, "+15550199999"), found.as_dict())
    first, second = _leased_pop(tenant, "conv-a"), _leased_pop(tenant, "conv-b")
    callers.forget()
    # The pop; its tenant with the Freshdesk connection (remembered for a moment after); the finish: on PostgreSQL
    # one statement, on SQLite BEGIN IMMEDIATE, the guarded update, what the pop shows (tickets, contacts), COMMIT.
    with django_assert_num_queries(3 if POSTGRESQL else 7):
        assert pop_lookup_run(pop_id=first.pk, owner="me").state == "matched"
    with django_assert_num_queries(2 if POSTGRESQL else 6):
        assert pop_lookup_run(pop_id=second.pk, owner="me").state == "matched"
    second.refresh_from_db()
    assert second.result["contacts"][0]["tickets"] == [ticket]
    assert second.result["source"] == "cache"
    assert list(PopTicket.objects.filter(pop=second).values_list("ticket_id", flat=True)) == [41]
    assert list(PopContact.objects.filter(pop=second).values_list("contact_id", flat=True)) == [7]


def test_the_pop_rest_read_is_one_query(client, make_tenant, django_assert_num_queries) -> None:
    tenant = make_tenant()
    _leased_pop(tenant, "conv-r")
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id="conv-r", user_id="agent")
    with django_assert_num_queries(1):
        response = client.get("/api/v1/pops/conv-r", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["state"] == "pending"


async def test_the_sockets_connect_is_one_query(settings, make_tenant) -> None:
    settings.SCREENPOP_RUN_WORKERS = False
    from genesys_app.asgi import application

    tenant = await database_sync_to_async(make_tenant)()
    await database_sync_to_async(_leased_pop)(tenant, "conv-w")
    token = panel_token_issue(tenant_id=tenant.pk, conversation_id="conv-w", user_id="agent")
    # The consumer's reads run in the thread database_sync_to_async uses: count on that thread's connection.
    captured = CaptureQueriesContext(connection)
    await database_sync_to_async(captured.__enter__)()
    socket = WebsocketCommunicator(
        application,
        "/ws/pops/conv-w/",
        headers=[(b"origin", b"http://testserver")],
        subprotocols=["screenpop.v1", f"screenpop.token.{token}"],
    )
    connected, _ = await socket.connect()
    assert connected
    state = await socket.receive_json_from(timeout=5)
    await database_sync_to_async(captured.__exit__)(None, None, None)
    queries = await database_sync_to_async(lambda: captured.captured_queries)()
    await socket.disconnect()
    assert state["state"] == "pending"
    assert len(queries) == 1, queries


def test_insert_shapes_write_every_column_of_their_model() -> None:
    for model in (Pop, EventLog):
        shape = InsertShape(model)
        expected = {field.column for field in model._meta.concrete_fields if not field.primary_key}
        assert {column.strip('"`') for column in shape.columns} == expected
        now = timezone.now()
        (row,) = shape.rows([{"received_at": now}], datetime_as=str, json_as=lambda value: value)
        assert len(row) == len(shape.columns)
        assert row[shape.position("received_at")] == str(now)


def test_a_pops_publish_waits_for_the_commit_and_not_inside_the_writer_lock(make_tenant, monkeypatch) -> None:
    """A pop's state is pushed after its transaction commits, and (SQLite) after this process's writer lock is
    released: the push waits for the event loop, and the webhook's next batch must not wait for it."""
    pushes: list[tuple[str, bool]] = []

    def group_send(group: str, message: dict) -> None:
        others_may_write: list[bool] = []

        def other_writer() -> None:
            taken = transactions.sqlite_writer.acquire(timeout=0.5)
            if taken:
                transactions.sqlite_writer.release()
            others_may_write.append(taken)

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
        pushes.append((message["state"]["state"], others_may_write[0]))

    monkeypatch.setattr(publishing, "group_send", group_send)
    tenant = make_tenant()
    with transactions.write_transaction():
        pop = Pop.objects.create(
            tenant=tenant, conversation_id="c-1", phone_raw="tel:+15550100", received_at=timezone.now()
        )
        with transactions.write_transaction():  # a nested one leaves the push to the outermost
            publishing.pop_publish_on_commit(pop)
        assert pushes == [], "nothing is pushed before the commit"
    assert pushes == [("pending", True)]

    def publish_then_fail() -> None:
        with transactions.write_transaction():
            publishing.pop_publish_on_commit(pop)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert pushes == [("pending", True)], "a rolled-back transaction pushes nothing"
