"""Shared fixtures. Fixture modules live in tests/fixtures/ and are all loaded here."""

from pathlib import Path

import pytest

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)


@pytest.fixture(scope="session", autouse=True)
def _static_files_as_deployed(django_db_blocker) -> None:
    """In the production configuration static files are served from the collected manifest, as after a deployment's
    `collectstatic`; collect them once per session so pages render as they would there."""
    from django.conf import settings

    if settings.PRODUCTION:
        from django.core.management import call_command

        with django_db_blocker.unblock():
            call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _no_connection_left_behind(django_db_setup, django_db_blocker) -> None:
    """Threads of the app under test (the webhook's database thread, `database_sync_to_async` workers) keep their
    own connections; end them before the test database is dropped, or PostgreSQL refuses to drop it."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
