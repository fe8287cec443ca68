"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import hmac
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from screenpop import metrics
from screenpop.scheduler import background_stuck

logger = logging.getLogger("screenpop.health")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was stored")
    cache.delete(key)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz"})
        await layer.receive(channel)

    async_to_sync(round_trip)()


def _check_background_work() -> None:
    reason = background_stuck()
    if reason is not None:
        raise RuntimeError(reason)


# An orchestrator that sees 503 takes the process out of rotation, and replaces it when it stays so (the probe's
# failure threshold); other clients wait this long before asking again.
READYZ_RETRY_AFTER_SECONDS = 5


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when this process can do its work: reach the database, the cache and the channel layer, and its
    background work (sweep, lookups) progresses; else 503 naming what failed, with `Retry-After`."""
    checks = {
        "database": _check_database,
        "cache": _check_cache,
        "channel_layer": _check_channel_layer,
        "background": _check_background_work,
    }
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:
            logger.error("readiness check %s failed: %s", name, error)
            results[name] = f"failed: {error}"
    ready = all(value == "ok" for value in results.values())
    body = {"status": "ready" if ready else "not_ready", "checks": results}
    if ready:
        return JsonResponse(body)
    return JsonResponse(body, status=503, headers={"Retry-After": str(READYZ_RETRY_AFTER_SECONDS)})


def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if expected:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), expected.encode()):
            return JsonResponse({"error": "not_authenticated", "detail": "Send the METRICS_TOKEN as a bearer token."},
                                status=401)  # fmt: skip
    elif settings.PRODUCTION:
        return JsonResponse(
            {"error": "permission_denied", "detail": "Set METRICS_TOKEN to expose /metrics."}, status=403
        )
    return HttpResponse(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)
