"""`manage.py rundemo` (what `make run` runs): the whole product on a laptop, with no configuration.

It migrates, starts the Freshdesk and Genesys simulators as separate processes, seeds a demo tenant (idempotently)
whose Genesys org is the simulator's and whose Freshdesk is the simulator, provisions the simulated org the way the
install wizard would (data action, trigger, widget), points the simulated Freshdesk's "Trigger webhook" at this
server, prints the URLs and the admin login, and serves with uvicorn until Ctrl-C.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from genesys_app.serving import uvicorn_args
from screenpop import tenants
from screenpop.models import FreshdeskConnection, Tenant
from simulators.genesys.seed import CODE_CLIENT_ID, DEMO_ORG_ID, SEED

FRESHDESK_KEY = "demo-freshdesk-key"


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"{' '.join(process.args)} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise CommandError(f"{url} did not answer within {timeout:.0f} s")


class Command(BaseCommand):
    help = "Run the demo: simulators, a seeded tenant, and the server (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--freshdesk-port", type=int, default=8765)
        parser.add_argument("--genesys-port", type=int, default=8766)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SCREENPOP_DEV:
            raise CommandError("rundemo is a development command: run it with SCREENPOP_DEV=1 (make run does).")
        port, fd_port, gc_port = options["port"], options["freshdesk_port"], options["genesys_port"]
        base_url = f"http://127.0.0.1:{port}"
        # What the provisioning below writes into the simulated Genesys org (token URL, webhook, widget) must name
        # this server's port.
        settings.PUBLIC_BASE_URL = base_url
        logs = Path(settings.LOCAL_DIR) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        password = self._superuser()
        children: list[subprocess.Popen] = []
        try:
            freshdesk = self._spawn(
                ["-m", "simulators.freshdesk", "--port", str(fd_port), "--seed", "demo", "--api-key", FRESHDESK_KEY],
                logs / "freshdesk-simulator.log",
            )
            children.append(freshdesk)
            genesys = self._spawn(
                ["-m", "simulators.genesys", "--port", str(gc_port), "--seed", "demo",
                 "--redirect-uri", f"{base_url}/widget/", "--redirect-uri", f"{base_url}/install/callback/"],
                logs / "genesys-simulator.log",
            )  # fmt: skip
            children.append(genesys)
            _wait_until_up(f"http://127.0.0.1:{fd_port}/_sim/health", freshdesk)
            _wait_until_up(f"http://127.0.0.1:{gc_port}/_sim/health", genesys)
            env = {
                **os.environ,
                "PUBLIC_BASE_URL": base_url,
                "GENESYS_SIMULATOR_URL": f"http://127.0.0.1:{gc_port}",
                "FRESHDESK_SIMULATOR_URL": f"http://127.0.0.1:{fd_port}",
                # The install wizard logs admins in with the simulator's PKCE code client.
                "SCREENPOP_INSTALL_CLIENT_ID": os.environ.get("SCREENPOP_INSTALL_CLIENT_ID", CODE_CLIENT_ID),
            }
            server = subprocess.Popen([sys.executable, *uvicorn_args(host="127.0.0.1", port=port)], env=env)
            children.append(server)
            _wait_until_up(f"{base_url}/healthz", server)
            tenant = self._demo_tenant(fd_port=fd_port, gc_port=gc_port, base_url=base_url)
            self._provision(tenant, gc_port=gc_port)
            self._print_urls(base_url, password, fd_port, gc_port)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _spawn(self, args: list[str], log_path: Path) -> subprocess.Popen:
        log = open(log_path, "ab")  # noqa: SIM115 (the child keeps it open for its lifetime)
        return subprocess.Popen([sys.executable, *args], cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT)

    def _superuser(self) -> str:
        password_file = Path(settings.LOCAL_DIR) / "admin-password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        users = get_user_model().objects
        user = users.filter(username="admin").first() or users.create_superuser("admin", "admin@example.com", password)
        user.set_password(password)
        user.save()
        return password

    def _demo_tenant(self, *, fd_port: int, gc_port: int, base_url: str) -> Tenant:
        tenant = Tenant.objects.filter(genesys_org_id=DEMO_ORG_ID).first() or tenants.tenant_create(
            org_id=DEMO_ORG_ID,
            name="Demo Org",
            region=f"127.0.0.1:{gc_port}",
            phone_region="US",
            freshdesk_domain=f"http://127.0.0.1:{fd_port}",
            freshdesk_api_key=FRESHDESK_KEY,
        )
        tenant.region = f"127.0.0.1:{gc_port}"
        tenant.panel_client_id = tenant.panel_client_id or CODE_CLIENT_ID
        tenant.active = True
        tenant.save()
        connection = FreshdeskConnection.objects.get(tenant=tenant)
        connection.domain = f"http://127.0.0.1:{fd_port}"
        connection.webhook_secret = connection.webhook_secret or secrets.token_urlsafe(18)
        connection.save()
        # The simulated Freshdesk's automation rule "Trigger webhook", pointed at this server, so ticket changes made
        # in the simulator reach the panel live.
        requests.post(
            f"http://127.0.0.1:{fd_port}/_sim/config",
            json={
                "webhook": {
                    "url": f"{base_url}/api/v1/freshdesk/events/{tenant.freshdesk_webhook_token}",
                    "events": ["ticket_created", "ticket_updated"],
                    "content": "simple",
                    "username": "freshdesk",
                    "password": connection.webhook_secret,
                }
            },
            timeout=10,
        ).raise_for_status()
        return tenant

    def _provision(self, tenant: Tenant, *, gc_port: int) -> None:
        """Provision the simulated org as the install wizard would, with the simulator's admin client."""
        client_id, client_secret = SEED["clients"]["demo_admin"]
        report = io.StringIO()
        call_command("genesys_provision", "--org-id", tenant.genesys_org_id, "--client-id", client_id,
                     "--client-secret", client_secret, stdout=report)  # fmt: skip
        self.stdout.write("Provisioned the simulated Genesys org:\n" + report.getvalue())

    def _print_urls(self, base_url: str, password: str, fd_port: int, gc_port: int) -> None:
        lines = [
            "",
            "screenpop is running.",
            f"  Demo agent desktop   {base_url}/demo/",
            f"  Admin                {base_url}/admin/   (user admin, password {password})",
            f"  Install wizard       {base_url}/install/   (sign in as Avery Admin, the simulated org's admin)",
            f"  API docs             {base_url}/api/docs/",
            f"  Freshdesk simulator  http://127.0.0.1:{fd_port}/_sim/config",
            f"  Genesys simulator    http://127.0.0.1:{gc_port}/_sim/config",
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
