"""Settings: embedded defaults with an empty environment; production refuses to start without its secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode") if connection.vendor == "sqlite" else None
    journal = cursor.fetchone()[0] if connection.vendor == "sqlite" else None
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "journal": journal,
    "transaction_mode": settings.DATABASES["default"].get("OPTIONS", {}).get("transaction_mode"),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "secret_len": len(settings.SECRET_KEY),
    "frame_ancestors": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-ancestors"],
}))
"""


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ["PATH"],
        "HOME": env.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "genesys_app.settings",
    }
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_with_no_environment(tmp_path: Path) -> None:
    env = {"SCREENPOP_LOCAL_DIR": str(tmp_path / "local"), "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    result = run_python(PROBE, env)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["engine"] == "django.db.backends.sqlite3"
    assert facts["journal"] == "wal"
    assert facts["transaction_mode"] == "IMMEDIATE"
    assert facts["layer"] == "channels.layers.InMemoryChannelLayer"
    assert facts["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert facts["debug"] is False
    assert facts["secret_len"] >= 50
    assert facts["frame_ancestors"] == ["'none'"]
    secrets_file = tmp_path / "local" / "secrets.json"
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    generated = json.loads(secrets_file.read_text())
    # A second start reuses the same generated secrets.
    again = run_python(PROBE, env)
    assert again.returncode == 0
    assert json.loads(secrets_file.read_text()) == generated


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_secrets(tmp_path: Path, missing: str) -> None:
    env = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/screenpop",
        "SECRET_KEY": "x" * 60,
        "FIELD_ENCRYPTION_KEY": "Yk9pM0x2c0x6Q0lZc2h0b2R4b2V0Z2xCSHRWd2Nkc2s=",
        "SCREENPOP_LOCAL_DIR": str(tmp_path / "local"),
    }
    del env[missing]
    result = run_python("", env, "manage.py", "check")
    assert result.returncode != 0
    assert f"{missing} must be set in the environment" in result.stderr
    assert not (tmp_path / "local").exists(), "production must not generate local secrets"


def test_check_deploy_is_clean_in_production_mode(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/screenpop",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": "k" + "9f3Jq2LwX7pZ1vB8nR4tY6uH0cE5sD2aG7kM3xQ8wV1" * 2,
        "FIELD_ENCRYPTION_KEY": "Yk9pM0x2c0x6Q0lZc2h0b2R4b2V0Z2xCSHRWd2Nkc2s=",
        "ALLOWED_HOSTS": "screenpop.example.com",
        "PUBLIC_BASE_URL": "https://screenpop.example.com",
    }
    result = run_python("", env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_panel_frame_ancestors_cover_every_genesys_region() -> None:
    from django.conf import settings

    from screenpop.regions import GENESYS_ENVIRONMENTS

    assert {f"https://apps.{env}" for env in GENESYS_ENVIRONMENTS} <= set(settings.FRAME_ANCESTORS)
    assert len(GENESYS_ENVIRONMENTS) == 17


def test_the_embedded_cache_keeps_breakers_and_budgets_beside_thousands_of_callers(settings) -> None:
    """LocMemCache's default of 300 entries evicted lookup results and, with them, the breaker and the budget."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from screenpop.freshdesk.budget import RateBudget
    from screenpop.lookup.breaker import CircuitBreaker

    cache = caches["default"]
    if not isinstance(cache, LocMemCache):
        pytest.skip("the embedded configuration's cache (the production one is Redis, which does not evict here)")
    settings.SCREENPOP_BREAKER_FAILURES = 1
    breaker = CircuitBreaker("https://acme.freshdesk.com")
    breaker.record_failure()
    budget = RateBudget("https://acme.freshdesk.com", "growth")
    budget.acquire("contacts_list", 1, block_up_to=0)
    budget_keys_before = {key for key in cache._cache if "freshdesk-budget" in key}
    assert budget_keys_before, "the budget counted the call in the cache"
    for number in range(5_000):
        cache.set(f"lookup:caller-{number}", {"state": "matched", "contacts": []}, timeout=60)
    assert breaker.state() == "open"
    assert cache.get("lookup:caller-0") is not None, "the first caller's result is still cached"
    assert budget_keys_before <= set(cache._cache)
