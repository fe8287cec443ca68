"""`manage.py screenshots` (`make screenshots`): photograph every screen of the newcomer's first hour.

    .venv/bin/python manage.py screenshots [--out docs/screens]

It starts its own world, apart from `make run`'s: both simulators and a server on free ports, on a fresh SQLite
database in a temporary directory, with an admin user; then Debian's chromium (through Playwright) walks the
newcomer's path (`screenpop.management.newcomer_walk`, the walk tests/test_newcomer_browser.py checks) and saves
one 1366-px PNG per state. It fails, saving nothing more, when a screen does not show what it must or the browser
saw an error. Development only: it needs requirements-dev.txt (Playwright) and chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from genesys_app.serving import uvicorn_args
from screenpop.management.commands.rundemo import FRESHDESK_KEY, _wait_until_up
from screenpop.management.newcomer_walk import NewcomerWalk, WalkFailed
from simulators.genesys.seed import CODE_CLIENT_ID

ADMIN_USER = "admin"
# The environment the command's own server must not inherit: its database and cache are its own.
INHERITED_OUT = ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "SCREENPOP_LOCAL_DIR", "PUBLIC_BASE_URL", "PORT")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Command(BaseCommand):
    help = "Photograph each screen of the newcomer's path (start page, wizard, first pop, admin) into --out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "screens"))

    def handle(self, *args: Any, **options: Any) -> None:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            raise CommandError("screenshots needs Debian's chromium: apt-get install chromium")
        try:
            # Development-only dependency, imported only when photographing.
            from playwright.sync_api import sync_playwright  # noqa: PLC0415
        except ImportError as error:
            raise CommandError(
                "screenshots needs Playwright: it comes with requirements-dev.txt (make install)"
            ) from error
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="screenpop-screens-") as directory:
            children: list[subprocess.Popen] = []
            try:
                base_url, freshdesk_url = self._start_world(Path(directory), children)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                    try:
                        walk = NewcomerWalk(
                            page=browser.new_page(),
                            base_url=base_url,
                            freshdesk_url=freshdesk_url,
                            freshdesk_api_key=FRESHDESK_KEY,
                            admin_user=ADMIN_USER,
                            admin_password=self._password,
                            shot=lambda name: self._shot(walk, out, name),
                        )
                        walk.run()
                    except WalkFailed as error:
                        raise CommandError(f"A screen is wrong, nothing more photographed: {error}") from error
                    finally:
                        browser.close()
            finally:
                for child in reversed(children):
                    child.terminate()
                for child in children:
                    try:
                        child.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
        if walk.problems:
            raise CommandError("The browser saw errors:\n  " + "\n  ".join(walk.problems))
        self.stdout.write(f"Screens saved in {out}.")

    def _shot(self, walk: NewcomerWalk, out: Path, name: str) -> None:
        path = out / f"{name}.png"
        walk.page.screenshot(path=str(path))
        self.stdout.write(f"  {path.name}")

    def _start_world(self, directory: Path, children: list[subprocess.Popen]) -> tuple[str, str]:
        """Both simulators and a server on free ports, on a fresh database with an admin user; returns the
        server's and the Freshdesk simulator's URLs."""
        port, fd_port, gc_port = _free_port(), _free_port(), _free_port()
        base_url = f"http://127.0.0.1:{port}"
        freshdesk_url, genesys_url = f"http://127.0.0.1:{fd_port}", f"http://127.0.0.1:{gc_port}"
        env = {key: value for key, value in os.environ.items() if key not in INHERITED_OUT}
        env.update(
            SQLITE_PATH=str(directory / "screens.sqlite3"),
            SCREENPOP_LOCAL_DIR=str(directory / "local"),
            SCREENPOP_DEV="1",
            DEBUG="0",
            PUBLIC_BASE_URL=base_url,
            GENESYS_SIMULATOR_URL=genesys_url,
            FRESHDESK_SIMULATOR_URL=freshdesk_url,
            SCREENPOP_INSTALL_CLIENT_ID=CODE_CLIENT_ID,
        )
        log = open(directory / "world.log", "ab")  # noqa: SIM115 (the children keep it open)

        def spawn(arguments: list[str]) -> subprocess.Popen:
            child = subprocess.Popen(
                [sys.executable, *arguments], cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            children.append(child)
            return child

        freshdesk = spawn(["-m", "simulators.freshdesk", "--port", str(fd_port), "--seed", "demo",
                           "--api-key", FRESHDESK_KEY])  # fmt: skip
        redirects = ["--redirect-uri", f"{base_url}/widget/", "--redirect-uri", f"{base_url}/install/callback/"]
        genesys = spawn(["-m", "simulators.genesys", "--port", str(gc_port), "--seed", "demo", *redirects])
        self._password = "screens-" + os.urandom(6).hex()
        for command in (
            ["manage.py", "migrate", "--noinput", "-v", "0"],
            ["manage.py", "shell", "-c", "from django.contrib.auth import get_user_model\n"
             f"get_user_model().objects.create_superuser({ADMIN_USER!r}, 'admin@example.com', {self._password!r})"],
        ):  # fmt: skip
            done = subprocess.run([sys.executable, *command], cwd=settings.BASE_DIR, env=env, capture_output=True)
            if done.returncode != 0:
                raise CommandError(f"{' '.join(command[:2])} failed: {done.stderr.decode()[-2000:]}")
        _wait_until_up(f"{freshdesk_url}/_sim/health", freshdesk)
        _wait_until_up(f"{genesys_url}/_sim/health", genesys)
        server = spawn(uvicorn_args(host="127.0.0.1", port=port))
        _wait_until_up(f"{base_url}/healthz", server)
        return base_url, freshdesk_url
