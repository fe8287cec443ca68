"""Prometheus metrics of this process, served at /metrics (one registry per process; scrape each process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry(auto_describe=True)

webhook_ack_seconds = Histogram(
    "screenpop_webhook_ack_seconds",
    "Time from request start to the webhook's answer.",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0),
    registry=registry,
)
webhook_responses = Counter(
    "screenpop_webhook_responses_total", "Webhook answers by HTTP status.", ["status"], registry=registry
)
webhook_batch_size = Histogram(
    "screenpop_webhook_batch_size",
    "Submissions recorded per transaction.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 512),
    registry=registry,
)
webhook_batches = Counter(
    "screenpop_webhook_batches_total",
    "Webhook batches, by the writer they went to: the event loop, or a database thread (SQLite's write lock was taken, "
    "or the batch holds HMAC-signed requests).",
    ["writer"],
    registry=registry,
)
pops_completed = Counter("screenpop_pops_total", "Pops finished, by outcome.", ["state"], registry=registry)
writeback_attempts = Counter(
    "screenpop_writeback_attempts_total",
    "Wrap-up write attempts, by outcome (written, skipped, retry, failed, lost).",
    ["outcome"],
    registry=registry,
)
lookup_seconds = Histogram(
    "screenpop_lookup_seconds",
    "Time of one caller lookup against Freshdesk (one attempt).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
    registry=registry,
)
freshdesk_calls = Counter(
    "screenpop_freshdesk_calls_total",
    "Freshdesk API calls, by HTTP status (0 = no answer).",
    ["status"],
    registry=registry,
)
breaker_open = Gauge(
    "screenpop_breaker_open",
    "1 while the circuit breaker of a Freshdesk account is open.",
    ["account"],
    registry=registry,
)
open_sockets = Gauge("screenpop_open_sockets", "Panel WebSockets open in this process.", registry=registry)
lookup_crashes = Counter(
    "screenpop_lookup_crashes_total",
    "Lookups that raised (the database or the cache unreachable); each is tried again shortly by the same process.",
    registry=registry,
)
freshdesk_slow_lookups = Counter(
    "screenpop_freshdesk_slow_lookups_total",
    "Lookups that succeeded but slower than SCREENPOP_FRESHDESK_SLOW_SECONDS per call; each counts as a failure "
    "for the account's circuit breaker.",
    registry=registry,
)
pops_taken_over = Counter(
    "screenpop_pops_taken_over_total",
    "Pending pops leased from another process whose lease expired (it died or stalled). Each may repeat the "
    "Freshdesk calls of at most one lookup attempt that process had in flight, so the repeats are bounded by its "
    "SCREENPOP_LOOKUP_CONCURRENCY per lease.",
    registry=registry,
)
lookups_lost_lease = Counter(
    "screenpop_lookups_lost_lease_total",
    "Lookups that ended after another process had taken their pop over (nothing of theirs was written).",
    registry=registry,
)
freshdesk_calls_repeated = Counter(
    "screenpop_freshdesk_calls_repeated_total",
    "Freshdesk calls made by lookups that lost their lease: the process that took the pop over makes them again.",
    registry=registry,
)
