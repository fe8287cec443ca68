"""Operations endpoints: liveness, readiness of every dependency, Prometheus metrics."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_cache_and_channel_layer(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok", "background": "ok"},
    }


def test_readyz_is_503_with_the_failing_part_named(client, settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}  # stores nothing
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"].startswith("failed")
    assert response.json()["checks"]["database"] == "ok"
    assert response.headers["Retry-After"] == "5"


def test_readyz_is_503_while_background_work_is_stuck(client, monkeypatch) -> None:
    """A process whose lookups or sweep make no progress is replaced by the orchestrator, even though it answers."""
    from screenpop import health

    monkeypatch.setattr(health, "background_stuck", lambda: "due lookups have not progressed for 31 s")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["checks"]["background"] == "failed: due lookups have not progressed for 31 s"
    assert response.json()["checks"]["database"] == "ok"


def test_metrics_need_the_token_when_one_is_set_and_one_in_production(client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    settings.METRICS_TOKEN = ""
    settings.PRODUCTION = True
    assert client.get("/metrics").status_code == 403


def test_metrics_are_prometheus_text_with_the_pipelines_series(client, settings) -> None:
    settings.METRICS_TOKEN = ""
    settings.PRODUCTION = False
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for series in (
        "screenpop_webhook_ack_seconds",
        "screenpop_pops_total",
        "screenpop_lookup_seconds",
        "screenpop_freshdesk_calls_total",
        "screenpop_breaker_open",
        "screenpop_open_sockets",
    ):
        assert f"# TYPE {series}" in text, series
