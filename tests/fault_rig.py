"""Faults injected as an operator meets them, for `tests/test_faults.py` and `bench/faults.py` (issue 18).

`FaultRig` runs the production configuration on services of its own, never the machine's shared ones: a PostgreSQL
cluster made with `initdb` in a temporary directory on a free port (restarted with `pg_ctl restart -m fast`), a
`redis-server` on a free port without persistence (stopped and started again on the same port), a real screenpop
server process (uvicorn; SIGKILLed and replaced by a fresh one), and a Freshdesk simulator (its `hang` knob).

It sends webhook events at a fixed rate (open loop, as Genesys's triggers arrive), retrying a refused event after
its `Retry-After` the way the data action would, records when each was acknowledged, and reads the pops from the
database directly (no server in the way) to tell when each finished.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import requests
from cryptography.fernet import Fernet
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from genesys_app.serving import uvicorn_args
from tests.fixtures.processes import free_port, running_process
from tests.fixtures.server import ScreenpopServer

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
FINAL_STATES = ("matched", "no_match", "unavailable", "error")


def services_available() -> str | None:
    """What is missing to run the fault rig, or None."""
    if not (POSTGRES_BIN / "initdb").exists():
        return f"PostgreSQL's initdb in {POSTGRES_BIN} (set POSTGRES_BIN)"
    if shutil.which("redis-server") is None:
        return "redis-server on the PATH"
    return None


def _as_postgres_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root (a container's CI user often is): run its commands as `postgres` then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class OwnPostgres:
    """A PostgreSQL cluster of its own: `initdb` into a temporary directory, served on a free port (trust auth)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, *args]
        subprocess.run(_as_postgres_user(command), check=True, capture_output=True, timeout=timeout)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        initdb = [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        subprocess.run(_as_postgres_user([*initdb, "--no-sync"]), check=True, capture_output=True, timeout=120)
        self._pg_ctl("start", "-w")

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is ended, the server comes back; returns once it accepts."""
        self._pg_ctl("restart", "-m", "fast", "-w")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._pg_ctl("stop", "-m", "immediate", "-w", timeout=30)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class OwnRedis:
    """A `redis-server` of its own on a free port, without persistence; stopped and started on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*args, "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), _connected("127.0.0.1", self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def _connected(host: str, port: int) -> Iterator[None]:
    import socket

    with socket.create_connection((host, port), timeout=0.5):
        yield


@dataclass
class Sent:
    """One event: its conversation, when it was first sent, when it was acknowledged (202/200) and how."""

    conversation_id: str
    phone: str
    first_sent: float
    acked_at: float | None = None
    status: int | None = None
    ack_seconds: float | None = None  # the round trip of the request that was acknowledged
    refusals: list[str] = field(default_factory=list)  # statuses or errors before the ack, with Retry-After seen


class FaultRig:
    """The production configuration on services of its own. Use as a context manager, then `serve()`."""

    def __init__(self, simulator: Any, *, server_env: dict[str, str] | None = None) -> None:
        self.simulator = simulator
        self.extra_env = server_env or {}
        self._stack = contextlib.ExitStack()
        self.server: ScreenpopServer
        self.postgres: OwnPostgres
        self.redis: OwnRedis
        self.tenant_id = 0
        self.org_id = "org-faults"
        self.credentials: dict[str, str] = {}
        self._token: str | None = None
        self.database_name = "screenpop_faults"
        # Several server processes behind a load balancer: the URLs the load and the panels spread over (empty: the
        # one server of `serve()`).
        self.targets: list[str] = []

    def __enter__(self) -> FaultRig:
        directory = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="screenpop-faults-")))
        os.chmod(directory, 0o755)
        self.postgres = OwnPostgres(directory / "postgres")
        self.postgres.start()
        self._stack.callback(self.postgres.stop)
        self.redis = OwnRedis(directory)
        self.redis.start()
        self._stack.callback(self.redis.stop)
        with psycopg.connect(self.postgres.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database_name}"')
        env = {
            "DATABASE_URL": self.postgres.url(self.database_name),
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "faults-" + uuid.uuid4().hex * 2,
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SCREENPOP_LOCAL_DIR": str(directory / "local"),
            "SCREENPOP_ALLOW_SIMULATORS": "1",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "SCREENPOP_INDEX_SYNC_SECONDS": str(10**9),
            # The faults are those of lookups against Freshdesk: no mirror answering in their place.
            "SCREENPOP_MIRROR_TICK_SECONDS": "0",
            "METRICS_TOKEN": "faults-metrics-token",
            **self.extra_env,
        }
        self.server = ScreenpopServer(directory=directory, env=env)
        self.server.manage("migrate", "--noinput", "-v", "0")
        tenant = self.server.manage_json(
            "tenant_create", "--org-id", self.org_id, "--name", "Faults", "--phone-region", "US",
            "--freshdesk-url", self.simulator.base_url, "--freshdesk-api-key", self.simulator.api_key,
            "--freshdesk-plan", "enterprise",
        )  # fmt: skip
        self.tenant_id = tenant["id"]
        self.credentials = self.server.manage_json("webhook_client_create", "--org-id", self.org_id)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    # -- the server ----------------------------------------------------------------------------------------------

    def serve(self, **extra_env: str) -> contextlib.AbstractContextManager[subprocess.Popen]:
        return self.server.run(**extra_env)

    def fresh_server(self) -> contextlib.AbstractContextManager[subprocess.Popen]:
        """Another server process on another port (after a SIGKILL, the old port may linger)."""
        self.server.port = free_port()
        return self.server.run()

    def token(self) -> str:
        if self._token is None:
            response = requests.post(
                f"{self.target(0)}/oauth/token/",
                data={"grant_type": "client_credentials"},
                auth=(self.credentials["client_id"], self.credentials["client_secret"]),
                timeout=10,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    # -- load ----------------------------------------------------------------------------------------------------

    def target(self, turn: int) -> str:
        """The server URL for a request's `turn`-th try: round robin over `targets`, as a load balancer does (a try
        that meets a stopped process goes to the next one)."""
        return self.targets[turn % len(self.targets)] if self.targets else self.server.base_url

    def send_open_loop(
        self,
        phones: list[str],
        *,
        rate: float,
        give_up_after: float = 40.0,
        during: Callable[[float], None] | None = None,
        conversation_ids: list[str] | None = None,
    ) -> list[Sent]:
        """Send one event per phone at `rate` a second (open loop: on schedule, whatever the answers), each retried
        after a refusal (503 with `Retry-After`, a refused connection) until acknowledged or `give_up_after`
        seconds. `during(elapsed)` is called from this thread about every 50 ms while sending (to inject faults).
        Returns every event with how it ended."""
        token = self.token()
        ids = conversation_ids or [f"fault-{uuid.uuid4()}" for _ in phones]
        events = [Sent(conversation_id, phone, 0.0) for conversation_id, phone in zip(ids, phones, strict=True)]
        turns = itertools.count()
        local = threading.local()

        def session() -> requests.Session:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            return local.session

        def deliver(event: Sent) -> None:
            body = json.dumps({
                "conversation_id": event.conversation_id, "phone_number": f"tel:{event.phone}",
                "event_type": "INBOUND_CALL_START", "media_type": "VOICE", "direction": "INBOUND",
            })  # fmt: skip
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            deadline = time.monotonic() + give_up_after
            while time.monotonic() < deadline:
                sent = time.perf_counter()
                try:
                    response = session().post(
                        f"{self.target(next(turns))}/api/v1/genesys/events", data=body, headers=headers, timeout=5
                    )
                except requests.RequestException as error:
                    event.refusals.append(type(error).__name__)
                    time.sleep(0.5)
                    continue
                if response.status_code in (200, 202):
                    event.acked_at, event.status = time.time(), response.status_code
                    event.ack_seconds = time.perf_counter() - sent
                    return
                retry_after = response.headers.get("Retry-After")
                event.refusals.append(f"{response.status_code} retry-after={retry_after}")
                time.sleep(float(retry_after) if retry_after else 1.0)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=48, thread_name_prefix="genesys") as pool:
            for index, event in enumerate(events):
                due = started + index / rate
                while (now := time.monotonic()) < due:
                    if during is not None:
                        during(now - started)
                    time.sleep(min(0.05, due - now))
                event.first_sent = time.time()
                pool.submit(deliver, event)
            if during is not None:
                while any(event.acked_at is None for event in events) and time.monotonic() - started < 60:
                    during(time.monotonic() - started)
                    time.sleep(0.05)
        return events

    # -- observation ---------------------------------------------------------------------------------------------

    def pops(self) -> dict[str, tuple[str, float | None, int]]:
        """conversation id -> (state, completed at as a Unix time, Freshdesk calls), read from the database."""
        return {conversation: row[:3] for conversation, row in self.pop_rows().items()}

    def pop_rows(self) -> dict[str, tuple]:
        """conversation id -> (state, completed at, Freshdesk calls, attempts, detail, received at), Unix times."""
        with psycopg.connect(self.postgres.url(self.database_name), connect_timeout=5) as connection:
            rows = connection.execute(
                "SELECT conversation_id, state, EXTRACT(EPOCH FROM completed_at)::float8, freshdesk_calls, attempts, "
                "detail, EXTRACT(EPOCH FROM received_at)::float8 FROM screenpop_pop"
            ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}

    def wait_until_settled(self, conversation_ids: list[str], *, timeout: float) -> dict[str, tuple]:
        """Poll until none of `conversation_ids` is pending (or `timeout`); returns the last reading."""
        deadline = time.monotonic() + timeout
        pops: dict[str, tuple] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                pops = self.pops()
                if all(pops.get(conversation, ("pending",))[0] in FINAL_STATES for conversation in conversation_ids):
                    return pops
            time.sleep(0.1)
        return pops

    def wait_until_looked_up_again(self, conversation_ids: list[str], *, timeout: float) -> dict[str, float]:
        """Poll until every one of `conversation_ids` has finished in a state other than "unavailable" (or
        `timeout`); returns conversation -> when it finished, for those that did."""
        deadline = time.monotonic() + timeout
        done: dict[str, float] = {}
        while time.monotonic() < deadline:
            pops = self.pops()
            done = {
                conversation: pops[conversation][1]
                for conversation in conversation_ids
                if conversation in pops and pops[conversation][0] in FINAL_STATES[:2] and pops[conversation][1]
            }
            if len(done) == len(conversation_ids):
                break
            time.sleep(0.1)
        return done

    def readyz(self) -> int:
        return requests.get(f"{self.server.base_url}/readyz", timeout=10).status_code

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on the serving process (`/metrics`; no METRICS_TOKEN outside production)."""
        token = self.server.env.get("METRICS_TOKEN", "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        text = requests.get(f"{self.server.base_url}/metrics", headers=headers, timeout=10).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#") and line.split("{")[0].split(" ")[0] == name
        )

    # -- panels --------------------------------------------------------------------------------------------------

    def panel_socket(self, conversation_id: str, turn: int = 0) -> tuple[str, list[str]]:
        """A panel's socket URL (its `turn`-th connection: see `target`) and the subprotocols that carry its token."""
        token = self.server.panel_token(tenant_id=self.tenant_id, conversation_id=conversation_id)
        base = self.target(turn).replace("http://", "ws://")
        return base + f"/ws/pops/{conversation_id}/", ["screenpop.v1", f"screenpop.token.{token}"]


def settled_figures(events: list[Sent], pops: dict[str, tuple], *, recovered_at: float) -> dict[str, Any]:
    """What the issue asks of a fault: every acknowledged event has its pop, none pending, and the time from
    recovery (or from the last acknowledgement, if later) to the last pop finished."""
    acked = [event for event in events if event.status == 202]
    finished = [pops[event.conversation_id] for event in acked if event.conversation_id in pops]
    pending = [
        event.conversation_id for event in acked if pops.get(event.conversation_id, ("pending",))[0] == "pending"
    ]
    completions = [completed for _, completed, _ in finished if completed is not None]
    acks = sorted(event.ack_seconds for event in acked if event.ack_seconds is not None)
    delays = sorted(
        pops[event.conversation_id][1] - event.acked_at
        for event in acked
        if event.acked_at is not None and pops.get(event.conversation_id, (None, None))[1] is not None
    )
    start = max([recovered_at, *[event.acked_at for event in acked if event.acked_at is not None]])
    return {
        "sent": len(events),
        "acknowledged": len(acked),
        "duplicates": sum(1 for event in events if event.status == 200),
        "never_acknowledged": sum(1 for event in events if event.acked_at is None),
        "refused_then_retried": sum(1 for event in events if event.refusals),
        "refusals_without_retry_after": sum(
            1 for event in events for refusal in event.refusals if refusal.startswith("5") and "=None" in refusal
        ),
        "without_pop": sum(1 for event in acked if event.conversation_id not in pops),
        "pending": len(pending),
        "states": {state: sum(1 for found in finished if found[0] == state) for state in FINAL_STATES},
        "recovery_to_last_pop_s": (max(completions) - start) if completions else None,
        "ack_to_pop_p50_s": delays[len(delays) // 2] if delays else None,
        "ack_to_pop_max_s": delays[-1] if delays else None,
        "ack_p50_s": _nearest_rank(acks, 0.50),
        "ack_p99_s": _nearest_rank(acks, 0.99),
    }


def _nearest_rank(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.999999) - 1))]


# -- scenarios (the test runs them small, the benchmark large) --------------------------------------------------------

# Seeded Freshdesk contacts (simulators/freshdesk/seed.py): their results are cached after the first lookup, so a run
# costs few Freshdesk calls and the rate budget never holds a lookup back; the faults are the database's and Redis's.
KNOWN_CALLERS = ["+15550199998", "+15550199999", "+81312345678", "+12015550123", "+12125550172"]


def searched_number(raw_query: str) -> str:
    """The number a Freshdesk contact search looks for: the last ten digits of its first full spelling (a number's
    spellings may be split over two queries, `phones.contact_search_queries`; both name it)."""
    for spelling in re.findall(r"'([^']*)'", unquote(raw_query)):
        digits = re.sub(r"\D", "", spelling)
        if len(digits) >= 10:
            return digits[-10:]
    return raw_query


def search_repeats(requests: list[dict[str, Any]]) -> dict[str, int]:
    """Searches made again, per number searched: calls beyond one per distinct query of that number."""
    calls: dict[str, int] = {}
    queries: dict[str, set[str]] = {}
    for call in requests:
        if "search" in call["endpoint"]:
            number = searched_number(call["raw_query"])
            calls[number] = calls.get(number, 0) + 1
            queries.setdefault(number, set()).add(call["raw_query"])
    return {number: calls[number] - len(queries[number]) for number in calls}


def known_callers(count: int) -> list[str]:
    return [KNOWN_CALLERS[index % len(KNOWN_CALLERS)] for index in range(count)]


def unknown_callers(count: int) -> list[str]:
    """Numbers no seeded contact has (646 is not an area code of the seed): each lookup calls Freshdesk."""
    return [f"+1646{index // 10000 % 1000:03d}{index % 10000:04d}" for index in range(count)]


class Fault:
    """Calls `inject` once, from the load's thread, when the load has run `at` seconds; records when it was over."""

    def __init__(self, at: float, inject: Callable[[], None]) -> None:
        self.at = at
        self.inject = inject
        self.started_at: float | None = None
        self.recovered_at: float | None = None

    def __call__(self, elapsed: float) -> None:
        if self.started_at is None and elapsed >= self.at:
            self.started_at = time.time()
            self.inject()
            self.recovered_at = time.time()


class Panel(threading.Thread):
    """An agent's panel: connect, read the state, reconnect on a close the way `live.js` does (backoff with jitter,
    0.5-1 s first), until `stop`. Records every close code, handshake refusal and state received."""

    def __init__(self, rig: FaultRig, conversation_id: str) -> None:
        super().__init__(daemon=True)
        self.rig = rig
        self.conversation_id = conversation_id
        self.stop = threading.Event()
        self.connections: list[float] = []  # when each connection got its first state
        self.closes: list[int | None] = []
        self.refusals: list[tuple[float, str]] = []
        self.live_at_stop = False  # connected, with its state, when told to stop
        self.last_state: str | None = None  # the pop's state in the last message received

    def run(self) -> None:
        backoff = [0.5, 1.0, 2.0]
        failures = 0
        turn = hash(self.conversation_id) % 1000  # panels start spread over the servers
        while not self.stop.is_set():
            turn += 1
            try:
                url, subprotocols = self.rig.panel_socket(self.conversation_id, turn)
                origin = self.rig.server.base_url
                with ws_connect(url, origin=origin, subprotocols=subprotocols, open_timeout=5) as socket:
                    failures = 0
                    first = True
                    while not self.stop.is_set():
                        try:
                            message = socket.recv(timeout=0.2)
                        except TimeoutError:
                            continue
                        if '"pop.state"' in message:
                            self.last_state = json.loads(message).get("state")
                            if first:
                                self.connections.append(time.time())
                                first = False
                    self.live_at_stop = not first
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
            except InvalidStatus as refused:
                self.refusals.append((time.time(), f"HTTP {refused.response.status_code}"))
            except (OSError, TimeoutError) as error:
                self.refusals.append((time.time(), type(error).__name__))
            if self.stop.is_set():
                return
            delay = backoff[min(failures, len(backoff) - 1)]
            failures += 1
            self.stop.wait(delay / 2 + delay / 2 * (hash((self.name, failures)) % 100) / 100)


def _conversations(events: list[Sent]) -> list[str]:
    return [event.conversation_id for event in events]


def scenario_postgresql_restart(rig: FaultRig, *, count: int, rate: float, at: float, settle: float) -> dict:
    """`pg_ctl restart -m fast` `at` seconds into an open-loop load of `count` events."""
    with rig.serve():
        restart = Fault(at, rig.postgres.restart)
        events = rig.send_open_loop(known_callers(count), rate=rate, during=restart)
        assert restart.recovered_at is not None, "the load ended before the restart"
        pops = rig.wait_until_settled(_conversations(events), timeout=settle)
        figures = settled_figures(events, pops, recovered_at=restart.recovered_at)
        figures["restart_s"] = restart.recovered_at - (restart.started_at or restart.recovered_at)
        figures["readyz_after"] = rig.readyz()
    return figures


def scenario_redis_outage(
    rig: FaultRig, *, count: int, rate: float, at: float, outage: float, panels: int, late_panels: int, settle: float
) -> tuple[dict, list[Panel], list[Panel], Fault]:
    """Redis stopped `at` seconds into the load for `outage` seconds, with `panels` open throughout and
    `late_panels` opening as Redis comes back. Returns the figures, both groups of panels and the outage's start."""
    with rig.serve():
        open_panels = [Panel(rig, f"fault-panel-{number}") for number in range(panels)]
        for panel in open_panels:
            panel.start()
        opening: list[Panel] = []

        def start_redis() -> None:
            rig.redis.start()
            opening.extend(Panel(rig, f"fault-late-{number}") for number in range(late_panels))
            for panel in opening:
                panel.start()

        stop = Fault(at, rig.redis.stop)
        start = Fault(at + outage, start_redis)
        events = rig.send_open_loop(
            known_callers(count), rate=rate, during=lambda elapsed: (stop(elapsed), start(elapsed))
        )
        assert start.recovered_at is not None, "the load ended before Redis came back"
        pops = rig.wait_until_settled(_conversations(events), timeout=settle)
        figures = settled_figures(events, pops, recovered_at=start.recovered_at)
        time.sleep(3)  # the panels' backoff after the outage: 0.5 s to 2 s
        for panel in open_panels + opening:
            panel.stop.set()
        for panel in open_panels + opening:
            panel.join(timeout=10)
    everyone = open_panels + opening
    figures["panels_live_at_end"] = sum(panel.live_at_stop for panel in everyone)
    figures["panels"] = len(everyone)
    figures["panel_closes_by_code"] = {
        str(code): sum(panel.closes.count(code) for panel in everyone)
        for code in {c for p in everyone for c in p.closes}
    }
    figures["panel_http_5xx"] = sum(
        1 for panel in everyone for _, refusal in panel.refusals if refusal.startswith("HTTP 5")
    )
    return figures, open_panels, opening, stop


def scenario_freshdesk_hang(rig: FaultRig, *, count: int, rate: float, settle: float) -> dict:
    """Freshdesk hangs (accepts, never answers) while `count` calls arrive; then it answers again."""
    with rig.serve():
        rig.simulator.configure(hang=True)
        events = rig.send_open_loop(unknown_callers(count), rate=rate)
        pops = rig.wait_until_settled(_conversations(events), timeout=settle)
        told = {
            event.conversation_id: (pops[event.conversation_id][0], pops[event.conversation_id][1] - event.acked_at)
            for event in events
            if event.acked_at is not None and event.conversation_id in pops and pops[event.conversation_id][1]
        }
        rig.simulator.configure(hang=False)
        answered_at = time.time()
        again = rig.wait_until_looked_up_again(_conversations(events), timeout=settle)
    seconds = [seconds for _, seconds in told.values()]
    return {
        "sent": len(events),
        "told": len(told),
        "told_unavailable": sum(1 for state, _ in told.values() if state == "unavailable"),
        "event_to_unavailable_p50_s": sorted(seconds)[len(seconds) // 2] if seconds else None,
        "event_to_unavailable_max_s": max(seconds) if seconds else None,
        "looked_up_again": len(again),
        "answering_to_last_lookup_s": (max(again.values()) - answered_at) if again else None,
    }


def scenario_killed_process(rig: FaultRig, *, count: int, rate: float, latency_ms: int, settle: float) -> dict:
    """SIGKILL once `count` events are acknowledged (lookups in flight), then a fresh process on the same database."""
    rig.simulator.configure(latency_ms={"default": latency_ms})
    with rig.serve() as doomed:
        events = rig.send_open_loop(unknown_callers(count), rate=rate)
        rig.server.kill(doomed)
        killed_at = time.time()
    with rig.fresh_server():
        started_at = time.time()
        pops = rig.wait_until_settled(_conversations(events), timeout=settle)
        taken_over = rig.metric("screenpop_pops_taken_over_total")
    figures = settled_figures(events, pops, recovered_at=started_at)
    repeats = search_repeats(rig.simulator.requests())
    figures["kill_to_fresh_process_s"] = started_at - killed_at
    figures["pops_taken_over"] = taken_over
    figures["numbers_looked_up_twice"] = sum(1 for repeated in repeats.values() if repeated)
    figures["repeated_search_calls"] = sum(repeats.values())
    return figures


def scenario_rolling_restart(
    rig: FaultRig, *, count: int, rate: float, latency_ms: int, processes: int, panels: int, settle: float
) -> dict:
    """`processes` servers on one PostgreSQL and one Redis, the load spread over them, and a rolling restart while it
    runs: each in turn gets SIGTERM, drains, exits, and a new one takes its port. `panels` agents' panels stay open
    throughout on the first calls' conversations, reconnecting to whichever server is up."""
    rig.simulator.configure(latency_ms={"default": latency_ms})
    ports = [free_port() for _ in range(processes)]
    rig.targets = [f"http://127.0.0.1:{port}" for port in ports]
    stacks: dict[int, contextlib.ExitStack] = {}
    served: dict[int, subprocess.Popen] = {}

    def start(port: int) -> None:
        stack = contextlib.ExitStack()
        ready = f"http://127.0.0.1:{port}/healthz"
        served[port] = stack.enter_context(
            running_process(uvicorn_args(host="127.0.0.1", port=port), ready_url=ready, env=rig.server.env, timeout=30)
        )
        stacks[port] = stack

    restarts: list[dict[str, Any]] = []

    def roll() -> None:
        for port in ports:
            process = served[port]
            signalled = time.monotonic()
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=45)
            drained = "Application shutdown complete" in Path(process.log_path).read_text(errors="replace")
            stacks[port].close()
            start(port)
            restarts.append({"port": port, "drained": drained, "stop_to_ready_s": time.monotonic() - signalled})

    for port in ports:
        start(port)
    conversations = [f"rolling-{uuid.uuid4()}" for _ in range(count)]
    watching = [Panel(rig, conversation) for conversation in conversations[:panels]]
    rolling = threading.Thread(target=roll, daemon=True)
    try:
        for panel in watching:
            panel.start()
        begin = Fault(1.0, rolling.start)
        events = rig.send_open_loop(unknown_callers(count), rate=rate, during=begin, conversation_ids=conversations)
        rolling.join(timeout=180)
        pops = rig.wait_until_settled(conversations, timeout=settle)
        finished_at = time.time()
        time.sleep(2.5)  # the panels' backoff: the last reconnect gets the state on connect
        for panel in watching:
            panel.stop.set()
        for panel in watching:
            panel.join(timeout=10)
    finally:
        for stack in stacks.values():
            stack.close()
        rig.targets = []
    figures = settled_figures(events, pops, recovered_at=finished_at)
    repeats = search_repeats(rig.simulator.requests())
    figures["restarts"] = restarts
    figures["numbers_looked_up_twice"] = sum(1 for repeated in repeats.values() if repeated)
    figures["numbers_looked_up"] = len(repeats)
    figures["panels"] = len(watching)
    figures["panels_with_their_pop"] = sum(panel.last_state in FINAL_STATES for panel in watching)
    figures["panel_closes_by_code"] = {
        str(code): sum(panel.closes.count(code) for panel in watching)
        for code in {c for p in watching for c in p.closes}
    }
    figures["panel_http_5xx"] = sum(
        1 for panel in watching for _, refusal in panel.refusals if refusal.startswith("HTTP 5")
    )
    return figures
