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
