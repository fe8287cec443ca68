"""The Genesys webhook, through its real ASGI entry point (the fast path), with a real database.

`transactional_db`: the webhook records in its own database thread, which must see the rows the test made.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.utils import timezone
from oauth2_provider.models import AccessToken

from screenpop.models import EventLog, Pop, QueueFilter
from screenpop.webhook.signing import signature_compute

pytestmark = [pytest.mark.django_db(transaction=True)]

PATH = "/api/v1/genesys/events"


def call_event(**overrides: Any) -> dict[str, Any]:
    body = {
        "conversation_id": "3e4f5a6b-0000-4000-8000-000000000001",
        "phone_number": "tel:+15550199999",
        "event_type": "INBOUND_CALL_START",
        "timestamp": "2026-11-28T12:00:00Z",
        "queue_id": "queue-support",
        "media_type": "VOICE",
        "direction": "INBOUND",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def tenant_with_token(make_tenant, make_webhook_client, token_for):
    def make(**tenant_fields: Any) -> tuple[Any, str]:
        tenant = make_tenant(**tenant_fields)
        issued = make_webhook_client(tenant)
        return tenant, token_for(issued)

    return make


async def post(
    app,
    body: Any,
    *,
    token: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    payload = raw if raw is not None else json.dumps(body).encode()
    all_headers = [(b"content-type", content_type), *(headers or [])]
    if token:
        all_headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = HttpCommunicator(app, "POST", PATH, body=payload, headers=all_headers)
    response = await communicator.get_response(timeout=10)
    return response["status"], json.loads(response["body"] or b"{}")


def sync(coroutine):  # the tests are sync so the ORM can be used freely around the async calls
    return asyncio.run(coroutine)


def test_an_inbound_call_is_accepted_and_recorded_before_the_ack(app, tenant_with_token) -> None:
    tenant, token = tenant_with_token()
    status, body = sync(post(app, call_event(extra_field="kept"), token=token))
    assert status == 202
    assert body["status"] == "accepted"
    pop = Pop.objects.get(pk=body["pop_id"])
    assert (pop.tenant, pop.conversation_id, pop.phone_raw, pop.state) == (
        tenant,
        "3e4f5a6b-0000-4000-8000-000000000001",
        "tel:+15550199999",
        "pending",
    )
    event = EventLog.objects.get()
    assert (event.outcome, event.status_code, event.tenant) == ("accepted", 202, tenant)
    assert event.payload["extra_field"] == "kept", "unknown fields are kept in the record"


def test_text_and_times_are_stored_exactly_as_received(app, tenant_with_token) -> None:
    """The batch reaches the database as JSON on PostgreSQL and as driver parameters on SQLite: quotes,
    backslashes, accents, emoji and an offset-bearing instant must come out as they went in."""
    from django.utils import timezone

    _, token = tenant_with_token()
    odd = 'Queue "Support" \\ Zürich 🎧 {x}'
    before = timezone.now()
    status, body = sync(post(app, call_event(queue_id=odd, note=["a'b", 'c"d', "e\\f", "\u00e9\u2028"]), token=token))
    after = timezone.now()
    assert status == 202
    pop = Pop.objects.get(pk=body["pop_id"])
    event = EventLog.objects.get()
    assert (pop.queue_id, pop.result) == (odd, {})
    assert (event.payload["queue_id"], event.payload["note"]) == (odd, ["a'b", 'c"d', "e\\f", "\u00e9\u2028"])
    assert before <= pop.received_at == event.received_at <= after
    assert pop.updated_at <= pop.lease_expires_at


def test_epoch_millisecond_event_time_is_recorded_as_iso(app, tenant_with_token) -> None:
    _, token = tenant_with_token()
    status, _ = sync(post(app, call_event(timestamp="1795870800000"), token=token))
    assert status == 202
    assert EventLog.objects.get().payload["timestamp"] == "2026-11-28T13:00:00Z"


def test_second_event_for_the_conversation_is_a_duplicate(app, tenant_with_token) -> None:
    _, token = tenant_with_token()
    first = sync(post(app, call_event(), token=token))
    transfer = sync(post(app, call_event(participant_id="second-agent"), token=token))
    assert first[0] == 202
    assert transfer == (200, {"status": "duplicate", "pop_id": first[1]["pop_id"]})
    assert Pop.objects.count() == 1
    assert list(EventLog.objects.order_by("received_at").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_concurrent_redeliveries_make_one_pop(app, tenant_with_token) -> None:
    _, token = tenant_with_token()

    async def storm():
        return await asyncio.gather(*(post(app, call_event(), token=token) for _ in range(10)))

    replies = sync(storm())
    statuses = sorted(status for status, _ in replies)
    assert statuses == [200] * 9 + [202]
    assert len({body["pop_id"] for _, body in replies}) == 1
    assert Pop.objects.count() == 1


def test_parallel_group_commits_keep_one_pop_per_conversation(tenant_with_token) -> None:
    """Several batches in flight at once (SCREENPOP_WEBHOOK_WRITERS > 1): redeliveries that land in different
    batches, even in transactions committing side by side, still make one pop each, and every reply names that pop."""
    from screenpop.webhook.committer import GroupCommitter
    from screenpop.webhook.intake import submission_from_request

    _, token = tenant_with_token()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    conversations = [f"parallel-{number}" for number in range(5)]
    committer = GroupCommitter(slots=3)

    async def storm() -> list[Any]:
        replies = []
        for wave in range(6):  # six waves of every conversation, each wave split over the free slots
            submissions = [
                submission_from_request(body=json.dumps(call_event(conversation_id=c)).encode(), headers=headers)
                for c in conversations
            ]
            replies += await asyncio.gather(*(committer.submit(submission) for submission in submissions))
            if wave % 2:
                await asyncio.sleep(0)
        return replies

    try:
        replies = sync(storm())
    finally:
        committer.close()
    assert sorted(reply.status for reply in replies) == [200] * 25 + [202] * 5
    pops = dict(Pop.objects.values_list("conversation_id", "id"))
    assert sorted(pops) == conversations
    assert {reply.body["pop_id"] for reply in replies} == set(pops.values())
    assert EventLog.objects.count() == 30
    assert EventLog.objects.filter(outcome="accepted").count() == 5


def test_on_postgresql_the_webhooks_statements_are_prepared_once(tenant_with_token) -> None:
    """Django turns psycopg's prepared statements off; the webhook's own connection turns them back on, or
    PostgreSQL parses, analyses and plans the batch statement again for every batch."""
    from django.db import connection

    from screenpop.storage.webhook_postgres import AsyncRecorder
    from screenpop.webhook.intake import submission_from_request

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements: the production configuration")
    _, token = tenant_with_token()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    recorder = AsyncRecorder()

    async def batches_then_prepared() -> list[tuple]:
        for number in range(8):
            body = json.dumps(call_event(conversation_id=f"prepared-{number}")).encode()
            replies = await recorder.record([submission_from_request(body=body, headers=headers)], lease_owner="me")
            assert replies[0].status == 202
        async with recorder._connection.cursor() as cursor:
            await cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
            return await cursor.fetchall()

    try:
        prepared = sync(batches_then_prepared())
    finally:
        recorder.close()
    executions = [count for statement, count in prepared if statement.startswith("WITH ins AS (INSERT INTO")]
    assert executions == [8]  # one prepared statement, run for every batch


def test_same_conversation_id_in_two_tenants_makes_two_pops(app, tenant_with_token) -> None:
    tenant_a, token_a = tenant_with_token()
    tenant_b, token_b = tenant_with_token()
    assert sync(post(app, call_event(), token=token_a))[0] == 202
    assert sync(post(app, call_event(), token=token_b))[0] == 202
    assert set(Pop.objects.values_list("tenant_id", flat=True)) == {tenant_a.pk, tenant_b.pk}


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [(None, "Authorization: Bearer"), ("Bearer not-a-token", "not valid"), ("Basic abc", "Authorization: Bearer")],
)
def test_missing_or_bad_credentials_are_401_and_recorded(app, tenant_with_token, authorization, detail) -> None:
    tenant_with_token()
    headers = [(b"authorization", authorization.encode())] if authorization else []
    status, body = sync(post(app, call_event(), headers=headers))
    assert status == 401
    assert detail in body["detail"]
    assert not Pop.objects.exists()
    event = EventLog.objects.get()
    assert (event.outcome, event.status_code, event.tenant) == ("unauthorized", 401, None)


def test_expired_token_is_401(app, tenant_with_token) -> None:
    _, token = tenant_with_token()
    assert sync(post(app, call_event(conversation_id="before-expiry"), token=token))[0] == 202
    access_token = AccessToken.objects.get()
    access_token.expires = timezone.now() - timedelta(seconds=1)
    access_token.save()
    status, body = sync(post(app, call_event(), token=token))
    assert (status, "expired" in body["detail"]) == (401, True)


def test_revoked_client_token_is_refused_at_once(app, make_tenant, make_webhook_client, token_for) -> None:
    from screenpop.tenants import webhook_client_revoke

    tenant = make_tenant()
    issued = make_webhook_client(tenant)
    token = token_for(issued)
    assert sync(post(app, call_event(conversation_id="c-before"), token=token))[0] == 202
    webhook_client_revoke(webhook_client=issued.webhook_client)
    status, body = sync(post(app, call_event(conversation_id="c-after"), token=token))
    assert status == 403
    assert "revoked" in body["detail"]
    assert not Pop.objects.filter(conversation_id="c-after").exists()


def test_inactive_tenant_is_403(app, tenant_with_token) -> None:
    tenant, token = tenant_with_token()
    tenant.active = False
    tenant.save()
    assert sync(post(app, call_event(), token=token))[0] == 403


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"phone_number": "${callerId}"}, "phone_number", "${callerId}"),
        ({"phone_number": "tel:${phoneNumbers[0].value}"}, "phone_number", "tel:${phoneNumbers[0].value}"),
        ({"phone_number": ""}, "phone_number", ""),
        ({"phone_number": "tel:"}, "phone_number", "tel:"),
        ({"phone_number": None}, "phone_number", None),
        ({"conversation_id": "${callId}"}, "conversation_id", "${callId}"),
        ({"conversation_id": "$!{callId}"}, "conversation_id", "$!{callId}"),
        ({"conversation_id": ""}, "conversation_id", ""),
        ({"conversation_id": "../../etc/passwd"}, "conversation_id", "../../etc/passwd"),
        ({"timestamp": "${startTime}"}, "timestamp", "${startTime}"),
        ({"timestamp": "yesterday"}, "timestamp", "yesterday"),
        ({"queue_id": "${queueId}"}, "queue_id", "${queueId}"),
        ({"phone_number": {"nested": 1}}, "phone_number", {"nested": 1}),
    ],
)
def test_unresolved_or_invalid_fields_are_422_naming_the_field(app, tenant_with_token, overrides, field, value) -> None:
    tenant, token = tenant_with_token()
    status, body = sync(post(app, call_event(**overrides) if value is not None else _without(field), token=token))
    assert status == 422
    assert body["field"] == field
    assert body["value"] == value
    assert body["error"] == "validation_failed"
    assert not Pop.objects.exists()
    event = EventLog.objects.get()
    assert (event.outcome, event.status_code, event.field, event.tenant) == ("rejected", 422, field, tenant)


def _without(field: str) -> dict[str, Any]:
    body = call_event()
    del body[field]
    return body


@pytest.mark.parametrize(
    ("raw", "field"), [(b"{not json", "body"), (b"[1, 2]", "body"), (b"\xff\xfe", "body"), (b"", "body")]
)
def test_bodies_that_are_not_a_json_object_are_422(app, tenant_with_token, raw, field) -> None:
    _, token = tenant_with_token()
    status, body = sync(post(app, None, token=token, raw=raw))
    assert (status, body["field"]) == (422, field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'"phone_number": "tel:+1555\\u00000199"', "phone_number"),
        (b'"phone_number": "tel:+15550199", "queue_id": "\\ud800"', "queue_id"),
        (b'"phone_number": "tel:+15550199", "caller": {"name": ["\\u0000"]}', "caller"),
        (b'"phone_number": "tel:+15550199", "k\\u0000": 1', "body"),
        (b'"phone_number": "tel:+15550199", "name": "\xed\xa0\x80"', "name"),
    ],
)
def test_text_a_database_cannot_store_is_422_and_logged(app, tenant_with_token, raw, field) -> None:
    """A NUL or a lone surrogate (PostgreSQL refuses the first in text and jsonb; no driver encodes the second) is
    refused with the field, and the refusal is logged with the body as text the database can store."""
    tenant, token = tenant_with_token()
    body = b'{"conversation_id": "nul-1", ' + raw + b"}"
    status, reply = sync(post(app, None, token=token, raw=body))
    assert (status, reply["field"]) == (422, field)
    assert "NUL" in reply["detail"]
    event = EventLog.objects.get()
    assert (event.outcome, event.status_code, event.field, event.tenant) == ("rejected", 422, field, tenant)
    assert "nul-1" in json.dumps(event.payload), "the body is logged, as raw text or with the bad bytes replaced"
    assert sync(post(app, call_event(), token=token))[0] == 202, "and the next call is recorded as usual"


def test_a_body_nested_too_deeply_is_422_not_a_crash(app, tenant_with_token) -> None:
    _, token = tenant_with_token()
    raw = b'{"conversation_id": "deep", "phone_number": "tel:+15550199", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    status, reply = sync(post(app, None, token=token, raw=raw))
    assert (status, reply["field"]) == (422, "body")
    assert EventLog.objects.get().status_code == 422


_LAX_START = b'{"conversation_id": "lax-1", "phone_number": "tel:+15550199", '


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        (_LAX_START + b'"big": 100000000000000000000000}', pytest.approx(1e23)),
        (_LAX_START + b'"ratio": NaN}', None),
        (b"\xef\xbb\xbf" + _LAX_START + b'"x": 1}', 1),
    ],
    ids=["integer-past-64-bits", "nan", "byte-order-mark"],
)
def test_bodies_only_the_standard_parser_reads_are_accepted_and_logged(app, tenant_with_token, raw, logged) -> None:
    """The fast JSON parser refuses what the standard library reads (a huge integer, NaN, a byte-order mark); such
    a body is read the standard way and recorded like any other, its odd value kept as JSON can hold it (SQLite's
    JSON keeps the huge integer as a float; NaN, which JSON has not, becomes null)."""
    _, token = tenant_with_token()
    status, reply = sync(post(app, None, token=token, raw=raw))
    assert status == 202, reply
    event = EventLog.objects.get()
    assert (event.outcome, event.conversation_id) == ("accepted", "lax-1")
    assert [value for key, value in event.payload.items() if key in ("big", "ratio", "x")] == [logged]


def test_a_row_the_database_refuses_fails_alone_not_its_batch(tenant_with_token) -> None:
    """Defence in depth behind validation: were a value the database cannot store to reach a batch, the batch is
    recorded again one submission at a time, so the callers batched with it are still answered 202."""
    from screenpop.webhook.committer import GroupCommitter
    from screenpop.webhook.intake import submission_from_request

    _, token = tenant_with_token()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    submissions = [
        submission_from_request(body=json.dumps(call_event(conversation_id=f"batch-{n}")).encode(), headers=headers)
        for n in range(3)
    ]
    submissions[1].event.queue_id = "queue-\ud800"  # past validation, as a bug of ours might let it
    committer = GroupCommitter(slots=1)

    async def together() -> list[Any]:
        return await asyncio.gather(*(committer.submit(submission) for submission in submissions))

    try:
        replies = sync(together())
    finally:
        committer.close()
    assert [reply.status for reply in replies] == [202, 503, 202]
    assert sorted(Pop.objects.values_list("conversation_id", flat=True)) == ["batch-0", "batch-2"]
    assert sorted(EventLog.objects.values_list("conversation_id", "status_code")) == [
        ("batch-0", 202),
        ("batch-2", 202),
    ]


def test_wrong_content_type_is_415_and_large_body_is_413(app, tenant_with_token) -> None:
    _, token = tenant_with_token()
    assert sync(post(app, call_event(), token=token, content_type=b"text/plain"))[0] == 415
    huge = call_event(padding="x" * (64 * 1024))
    assert sync(post(app, huge, token=token))[0] == 413
    assert not Pop.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"media_type": "CHAT"}, "media_type"),
        ({"media_type": "EMAIL"}, "media_type"),
        ({"media_type": "CALLBACK"}, "media_type"),
        ({"direction": "OUTBOUND"}, "direction"),
        ({"event_type": "CALL_TRANSFERRED"}, "event_type"),
    ],
)
def test_non_inbound_voice_events_are_ignored_with_a_reason(app, tenant_with_token, overrides, reason) -> None:
    _, token = tenant_with_token()
    status, body = sync(post(app, call_event(**overrides), token=token))
    assert status == 200
    assert body["status"] == "ignored"
    assert reason in body["reason"]
    assert not Pop.objects.exists()
    assert EventLog.objects.get().outcome == "ignored"


def test_queue_filters_are_enforced_server_side(app, tenant_with_token) -> None:
    tenant, token = tenant_with_token()
    assert sync(post(app, call_event(conversation_id="c-any", queue_id="queue-x"), token=token))[0] == 202
    QueueFilter.objects.create(tenant=tenant, queue_id="queue-support", name="Support")
    status, body = sync(post(app, call_event(conversation_id="c-billing", queue_id="queue-billing"), token=token))
    assert (status, body["status"]) == (200, "ignored")
    assert "queue-billing" in body["reason"]
    assert sync(post(app, call_event(conversation_id="c-support", queue_id="queue-support"), token=token))[0] == 202


def test_the_panel_of_an_ignored_call_is_told_why_from_the_event_log(
    app, client, tenant_with_token, django_assert_num_queries
) -> None:
    """A call that will never pop: its panel's REST state says why, in a code the panel translates."""
    from screenpop.panel_tokens import panel_token_issue

    tenant, token = tenant_with_token()
    QueueFilter.objects.create(tenant=tenant, queue_id="queue-support", name="Support")
    sync(post(app, call_event(conversation_id="c-billing", queue_id="queue-billing"), token=token))
    sync(post(app, call_event(conversation_id="c-chat", queue_id="queue-support", media_type="CHAT"), token=token))
    assert sorted(EventLog.objects.values_list("conversation_id", "field")) == [
        ("c-billing", "queue_id"),
        ("c-chat", "media_type"),
    ]

    def state_of(conversation_id: str) -> dict[str, Any]:
        grant = panel_token_issue(tenant_id=tenant.pk, conversation_id=conversation_id, user_id="agent")
        response = client.get(f"/api/v1/pops/{conversation_id}", HTTP_AUTHORIZATION=f"Bearer {grant}")
        assert response.status_code == 200
        return response.json()

    with django_assert_num_queries(2):  # the pop, then the event log
        billing = state_of("c-billing")
    assert (billing["state"], billing["reason"], billing["retrying"]) == ("pending", "call_queue_not_watched", False)
    assert state_of("c-chat")["reason"] == "call_not_inbound_voice"
    assert state_of("c-never-heard-of")["reason"] == "waiting_for_call_event"
    tenant.active = False  # uninstalled: the webhook refuses its calls
    tenant.save()
    assert sync(post(app, call_event(conversation_id="c-refused", queue_id="queue-support"), token=token))[0] == 403
    assert state_of("c-refused")["reason"] == "call_refused"
    other = tenant_with_token()[0]
    grant = panel_token_issue(tenant_id=other.pk, conversation_id="c-billing", user_id="agent")
    response = client.get("/api/v1/pops/c-billing", HTTP_AUTHORIZATION=f"Bearer {grant}")
    assert response.json()["reason"] == "waiting_for_call_event", f"tenant {other.pk} never sees another's log"


def test_hmac_signed_requests(app, make_tenant) -> None:
    tenant = make_tenant()
    tenant.webhook_signing_secret = "signing-key"
    tenant.save()
    body = json.dumps(call_event()).encode()

    def signed(timestamp: int, key: str = "signing-key") -> list[tuple[bytes, bytes]]:
        signature = signature_compute(key=key, timestamp=str(timestamp), body=body)
        return [
            (b"x-screenpop-org", tenant.genesys_org_id.encode()),
            (b"x-screenpop-timestamp", str(timestamp).encode()),
            (b"x-screenpop-signature", signature.encode()),
        ]

    now = int(time.time())
    assert sync(post(app, None, raw=body, headers=signed(now - 400)))[0] == 401, "outside the 5-minute window"
    assert sync(post(app, None, raw=body, headers=signed(now, key="wrong")))[0] == 401
    status, reply = sync(post(app, None, raw=body, headers=signed(now)))
    assert (status, reply["status"]) == (202, "accepted")
    assert Pop.objects.get().tenant == tenant


def test_get_is_405(app) -> None:
    async def get():
        communicator = HttpCommunicator(app, "GET", PATH)
        return await communicator.get_response()

    assert sync(get())["status"] == 405


def test_openapi_schema_documents_the_webhook(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/genesys/events"]["post"]
    assert {"202", "200", "401", "403", "413", "415", "422"} <= set(operation["responses"])
    assert "$esc.jsonString(${input.ani})" in operation["description"]
    assert client.get("/api/docs/").status_code == 200


def test_the_event_loop_never_waits_for_a_writer_of_its_own_process(tenant_with_token) -> None:
    """SQLite: while a lookup thread holds the process's writer lock, the event loop's recorder hands the batch
    back at once (None) without opening a transaction; the database thread then records it."""
    import threading

    from screenpop.storage.transactions import sqlite_writer
    from screenpop.storage.webhook_sqlite import LoopRecorder
    from screenpop.webhook.intake import submission_from_request

    _, token = tenant_with_token()
    submission = submission_from_request(
        body=json.dumps(call_event(conversation_id="while-locked")).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    taken, release = threading.Event(), threading.Event()

    def lookup_saving() -> None:
        with sqlite_writer:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=lookup_saving)
    holder.start()
    taken.wait(10)
    recorder = LoopRecorder()
    try:
        assert recorder.record([submission], lease_owner="test") is None
        assert holder.is_alive(), "it answered while the lock was still held: it did not wait for it"
        assert recorder._connection is None, "nothing was opened, nothing written"
    finally:
        release.set()
        holder.join(10)
        recorder.close()
    assert not Pop.objects.filter(conversation_id="while-locked").exists()


def test_the_drf_webhook_answers_503_with_retry_after_while_the_database_is_unreachable(
    client, tenant_with_token, monkeypatch
) -> None:
    """Where Django serves the webhook (runserver, the demo), an unreachable database is a 503 that says when to
    retry, as the fast path's is, never a 500."""
    from django.db import OperationalError

    from screenpop.api import views

    _, token = tenant_with_token()

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(views, "events_record", unreachable)
    response = client.post(
        PATH, data=json.dumps(call_event()), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "unavailable"


def test_the_fast_path_answers_503_with_retry_after_while_the_database_is_unreachable(
    app, tenant_with_token, monkeypatch
) -> None:
    from django.db import OperationalError

    from screenpop.storage import webhook

    _, token = tenant_with_token()

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the connection is closed")

    monkeypatch.setattr(webhook.WebhookWriters, "on_loop", unreachable)
    monkeypatch.setattr(webhook.WebhookWriters, "in_thread", unreachable)
    body = json.dumps(call_event()).encode()
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]

    async def posted() -> dict[str, Any]:
        return await HttpCommunicator(app, "POST", PATH, body=body, headers=headers).get_response(timeout=10)

    response = sync(posted())
    assert response["status"] == 503
    assert (b"retry-after", b"1") in response["headers"]
