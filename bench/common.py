"""What the benchmarks share: the machine, the two configurations, processes, tenants, simulators, tables, results.

Every benchmark runs real processes on loopback (uvicorn as in production, the Freshdesk simulator, PostgreSQL and
Redis for the production configuration), measures an anchor in the same run (the bare ASGI app of `bench.bare_asgi`
on the same uvicorn stack), prints a table with the target beside each figure, and writes its figures as JSON to
`bench/results/<name>.json` and its table to `bench/results/<name>.md`. Nothing passes or fails on wall-clock time:
the machine has 2 cores and other people's tests run beside it, so read figures against their anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402

from genesys_app.serving import UVICORN_OPTIONS  # noqa: E402
from tests.fixtures.freshdesk_sim import FreshdeskSim  # noqa: E402
from tests.fixtures.processes import free_port, running_process  # noqa: E402
from tests.fixtures.server import ScreenpopServer, server_database  # noqa: E402

if not django_settings.configured:
    # The bench process only signs panel tokens (django.core.signing reads SECRET_KEY_FALLBACKS); the servers it
    # starts have their own settings.
    django_settings.configure()

RESULTS_DIR = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# The same stack for the server under test and for the anchor (DESIGN.md §7 measured the anchor with these).
# The production options (genesys_app/serving.py) for the server and the anchor alike.
UVICORN_FLAGS = [*UVICORN_OPTIONS, "--log-level", "warning"]
SIMULATOR_API_KEY = "bench-freshdesk-key"
METRICS_TOKEN = "bench-metrics-token"
WEBHOOK_PATH = "/api/v1/genesys/events"
SUPPORT_QUEUE = "0c000000-0000-4000-8000-000000000001"

CONFIG_LABELS = {
    "embedded": "embedded (SQLite WAL, in-memory channel layer, local-memory cache)",
    "production": "production (PostgreSQL, Redis channel layer and cache)",
}


# -- command line ---------------------------------------------------------------------------------------------------


def parse_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """`--quick` (short runs), `--production` (PostgreSQL + Redis only), `--both` (embedded, then production)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short runs (~15-20 s), same shape")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--production", action="store_true", help="PostgreSQL + Redis instead of the embedded stack")
    group.add_argument("--both", action="store_true", help="embedded, then PostgreSQL + Redis")
    args = parser.parse_args(argv)
    args.configs = ["embedded", "production"] if args.both else ["production"] if args.production else ["embedded"]
    return args


# -- the machine ----------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, kernel, Python and the load average when asked (others' tests share the cores)."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        ram_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python_loop_ms": python_loop_ms(),
        "socket_round_trip_us": socket_round_trip_us(),
    }


def python_loop_ms(steps: int = 1_000_000, rounds: int = 3) -> float:
    """Milliseconds for `steps` additions in a Python loop, best of `rounds`: how fast this machine runs Python right
    now (with `socket_round_trip_us`, what tells a slowed machine from a slow change: on 2026-11-29 a machine whose
    Python ran at its usual speed gave a bare app of 11,000-17,000 requests/s instead of 46,000-48,000, its system
    calls were slow). Ratios to the anchor survive that; absolute latencies do not."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for step in range(steps):
            total += step
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def socket_round_trip_us(trips: int = 5_000, rounds: int = 3) -> float:
    """Microseconds for one byte sent and echoed back between two threads over a loopback TCP connection, best of
    `rounds`: the system calls and thread wake-ups every request of the benchmarks costs."""
    import threading

    best = float("inf")
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        with client, peer:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def echo() -> None:
                for _ in range(trips * rounds):
                    peer.sendall(peer.recv(1))

            echoer = threading.Thread(target=echo, daemon=True)
            echoer.start()
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(trips):
                    client.sendall(b"x")
                    client.recv(1)
                best = min(best, time.perf_counter() - started)
            echoer.join(timeout=10)
    return round(best / trips * 1e6, 1)


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine()
    load = ", ".join(str(value) for value in info["load_average"])
    return (
        f"{info['nproc']} CPU ({info['cpu']}), {info['ram_gib']} GiB RAM, Linux {info['kernel']}, "
        f"Python {info['python']}; load average at the start: {load}; a 1M-step Python loop "
        f"{info.get('python_loop_ms', '?')} ms, a loopback round trip {info.get('socket_round_trip_us', '?')} µs"
    )


# -- figures --------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def ms(seconds: float | None, digits: int = 1) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.{digits}f} ms"


@dataclass
class Table:
    """A markdown table of figures: what, measured, target, note. Readable in a terminal and in the README."""

    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, measured: str, target: str = "", note: str = "") -> None:
        self.rows.append((what, measured, target, note))

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| figure | measured | target | note |", "|---|---|---|---|"]
        lines += [f"| {what} | {measured} | {target} | {note} |" for what, measured, target, note in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def write_results(name: str, figures: dict[str, Any], tables: Sequence[Table], *, quick: bool) -> None:
    """Print the tables and write `bench/results/<name>.json` and `<name>.md`."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = "\n".join(table.markdown() for table in tables)
    print()
    print(text)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    document = {"benchmark": name, "date": stamp, "quick": quick, "machine": machine(), **figures}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    mode = " (quick)" if quick else ""
    (RESULTS_DIR / f"{name}.md").write_text(f"<!-- {name}{mode}, {stamp} -->\n{text}")
    print(f"figures: {RESULTS_DIR / f'{name}.json'}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- processes ------------------------------------------------------------------------------------------------------


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_up(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@contextlib.contextmanager
def uvicorn(app: str, *, env: dict[str, str], port: int | None = None, ready_path: str = "/healthz"):
    """Serve `app` (module:attribute) with one uvicorn process and `UVICORN_FLAGS`; yields (process, base URL).

    The process is uvicorn itself (no wrapper, no reloader, no workers), so its pid is the one to measure.
    """
    port = port or free_port()
    args = ["-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *UVICORN_FLAGS]
    base_url = f"http://127.0.0.1:{port}"
    with running_process(args, ready_url=f"{base_url}{ready_path}", env=env, timeout=30) as process:
        yield process, base_url


# -- the server under test --------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A migrated screenpop environment in one configuration (not serving yet: `stack.serve(...)`)."""

    config: str
    server: ScreenpopServer

    @property
    def label(self) -> str:
        return CONFIG_LABELS[self.config]

    @contextlib.contextmanager
    def serve(self, **extra_env: str) -> Iterator[tuple[subprocess.Popen, str]]:
        """Run the server (uvicorn, one process, `UVICORN_FLAGS`); yields (process, base URL)."""
        self.server.port = self.server.port or free_port()
        env = {**self.server.env, **extra_env}
        with uvicorn("genesys_app.asgi:application", env=env, port=self.server.port) as served:
            self.server.processes.append(served[0])
            yield served

    def sql(self, query: str) -> list[tuple]:
        return self.server.sql(query)


@contextlib.contextmanager
def screenpop_stack(config: str, *, workers: bool = True, **env: str) -> Iterator[Stack]:
    """A fresh database (SQLite file, or a new PostgreSQL database) with migrations applied, and the server's env.

    `production` adds `DATABASE_URL` (a database of its own, dropped afterwards) and `REDIS_URL` (with key and
    group prefixes of its own). Raises RuntimeError when PostgreSQL or Redis is not running.
    """
    if config == "production" and not (service_up("127.0.0.1", 5432) and service_up("127.0.0.1", 6379)):
        raise RuntimeError("the production configuration needs PostgreSQL on 127.0.0.1:5432 and Redis on :6379")
    with tempfile.TemporaryDirectory(prefix="screenpop-bench-") as directory, _database_env(config) as _:
        path = Path(directory)
        with server_database(path) as database_env:
            tag = uuid.uuid4().hex[:8]
            server_env = {
                **database_env,
                "SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
                "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "SCREENPOP_LOCAL_DIR": str(path / "local"),
                "SCREENPOP_ALLOW_SIMULATORS": "1",
                "SECURE_SSL_REDIRECT": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "LOG_LEVEL": "WARNING",
                "METRICS_TOKEN": METRICS_TOKEN,
                "CACHE_KEY_PREFIX": f"bench-{tag}",
                "CHANNEL_LAYER_PREFIX": f"bench-{tag}",
                "SCREENPOP_RUN_WORKERS": "1" if workers else "0",
                # The lead's periodic index refresh must not run during a measurement unless a benchmark asks.
                "SCREENPOP_INDEX_SYNC_SECONDS": str(10**9),
                # Nor the mirror's sync (bench/api_economy switches it on for its mirror accounts).
                "SCREENPOP_MIRROR_TICK_SECONDS": "0",
                **env,
            }
            if config == "production":
                server_env["REDIS_URL"] = REDIS_URL
            else:
                server_env.pop("DATABASE_URL", None)
            server = ScreenpopServer(directory=path, env=server_env)
            server.manage("migrate", "--noinput", "-v", "0")
            yield Stack(config=config, server=server)


@contextlib.contextmanager
def _database_env(config: str) -> Iterator[None]:
    """`server_database` reads DATABASE_URL from this process's environment: set it for production only."""
    before = os.environ.get("DATABASE_URL")
    if config == "production":
        os.environ["DATABASE_URL"] = POSTGRES_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = before


@dataclass
class Tenant:
    """A tenant installed through the operator's commands, with its webhook client."""

    id: int
    org_id: str
    client_id: str
    client_secret: str

    def token(self, base_url: str) -> str:
        """A webhook bearer token from the server's /oauth/token/ (client credentials, as Genesys gets one)."""
        response = requests.post(
            f"{base_url}/oauth/token/",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]


def tenant_install(stack: Stack, *, org_id: str, simulator: FreshdeskSim, plan: str = "growth") -> Tenant:
    server = stack.server
    tenant = server.manage_json(
        "tenant_create", "--org-id", org_id, "--name", f"Bench {org_id}", "--phone-region", "US",
        "--freshdesk-url", simulator.base_url, "--freshdesk-api-key", simulator.api_key, "--freshdesk-plan", plan,
    )  # fmt: skip
    credentials = server.manage_json("webhook_client_create", "--org-id", org_id)
    return Tenant(tenant["id"], org_id, credentials["client_id"], credentials["client_secret"])


def webhook_body(conversation_id: str, phone: str) -> bytes:
    """The body the Genesys data action sends (DESIGN.md §3)."""
    return json.dumps(
        {
            "conversation_id": conversation_id,
            "phone_number": f"tel:{phone}",
            "event_type": "INBOUND_CALL_START",
            "media_type": "VOICE",
            "direction": "INBOUND",
            "queue_id": SUPPORT_QUEUE,
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()


# -- the Freshdesk simulator ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def freshdesk_simulator(*, plan: str = "growth", seed: str = "demo") -> Iterator[FreshdeskSim]:
    """A Freshdesk simulator process of its own (its own account, so its own rate limits and our own budget)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    args = ["-m", "simulators.freshdesk", "--port", str(port), "--seed", seed, "--plan", plan]
    with running_process([*args, "--api-key", SIMULATOR_API_KEY], ready_url=f"{base_url}/_sim/health"):
        simulator = FreshdeskSim(base_url=base_url, api_key=SIMULATOR_API_KEY)
        try:
            yield simulator
        finally:
            simulator.session.close()


def simulator_log(simulator: FreshdeskSim, since: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The API calls the simulator answered after sequence number `since`, and the last sequence number."""
    body = simulator.control("GET", f"requests?since={since}")
    return body["requests"], body["last_seq"]


# Fictional numbers: NANP 555-0100..0199 under real area codes; not 201 or 212, which the demo seed uses.
KNOWN_AREA_CODES = (202, 203, 205, 206, 207, 208, 209, 210, 213, 214, 215, 216)
UNKNOWN_AREA_CODES = (646, 647, 649)


def fiction_numbers(count: int, *, area_codes: Sequence[int] = KNOWN_AREA_CODES, start: int = 0) -> list[str]:
    """`count` distinct E.164 numbers +1 AAA 555 01NN, from the `start`-th on."""
    numbers = []
    for index in range(start, start + count):
        area = area_codes[index // 100]
        numbers.append(f"+1{area}5550{100 + index % 100}")
    return numbers


def messy(e164: str, style: int) -> str:
    """How people type a US number into Freshdesk: the spellings the phone matching must see through."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    spellings = (
        f"({area}) {exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"+1 {area}-{exchange}-{line}",
        f"{area}{exchange}{line}",
        f"1{area}{exchange}{line}",
        f"+1 {area} {exchange} {line} x12",
        e164,
    )
    return spellings[style % len(spellings)]


def contacts_create(
    simulator: FreshdeskSim, numbers: Sequence[str], *, tickets_per_contact: Sequence[int] = (1,)
) -> list[dict[str, Any]]:
    """One contact per number, phone stored in a messy spelling, backdated a day (so search sees it at once, as it
    would an old customer), each with a few tickets. Returns the contacts as the simulator made them."""
    created = []
    backdated = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for index, number in enumerate(numbers):
        stored = messy(number, index)
        field_name = "mobile" if index % 9 == 4 else "phone"
        contact = simulator.create_contact(
            name=f"Bench Caller {index}", **{field_name: stored}, created_at=backdated, updated_at=backdated
        )
        for ticket in range(tickets_per_contact[index % len(tickets_per_contact)]):
            simulator.create_ticket(
                requester_id=contact["id"],
                subject=f"Bench ticket {ticket} of caller {index}",
                status=2 if ticket == 0 else 4,
                created_at=backdated,
            )
        created.append(contact)
    return created


# -- a small asyncio HTTP/1.1 client (keep-alive POSTs from the benchmark's own event loop) ---------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; `post()` sends a request and reads the whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self._writer.drain()
        status_line = await self._reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None


class HttpPool:
    """A few keep-alive connections: a request takes a free one, so a slow answer does not delay the next send."""

    def __init__(self, base_url: str, size: int = 8) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self._free: asyncio.Queue[HttpConnection] = asyncio.Queue()
        self._all = [HttpConnection(host, int(port)) for _ in range(size)]
        for connection in self._all:
            self._free.put_nowait(connection)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = await self._free.get()
        try:
            return await connection.post(path, body, headers)
        except Exception:
            await connection.close()
            raise
        finally:
            self._free.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()


def json_post_headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def panel_url(base_url: str, conversation_id: str) -> str:
    return base_url.replace("http://", "ws://") + f"/ws/pops/{conversation_id}/"


def panel_subprotocols(token: str | None) -> list[str] | None:
    """What a panel offers in `Sec-WebSocket-Protocol`: the token travels there, never in the URL."""
    return ["screenpop.v1", f"screenpop.token.{token}"] if token else None
