"""`python -m simulators.freshdesk --port N [--seed demo] [--plan growth] [--api-key KEY] [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from simulators.freshdesk import DEFAULT_API_KEY
from simulators.freshdesk.limits import PLANS
from simulators.freshdesk.server import SimulatorServer
from simulators.freshdesk.simulator import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.freshdesk", description="Freshdesk API v2 simulator")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--seed", default="demo", choices=("demo", "empty"), help="seed data (default demo)")
    parser.add_argument("--plan", default="growth", choices=sorted(PLANS), help="rate-limit plan (default growth)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help=f"the agent's API key (default {DEFAULT_API_KEY})")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    simulator = Simulator(api_key=args.api_key, plan=args.plan, seed=args.seed)
    server = SimulatorServer((args.host, args.port), simulator, verbose=args.verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Freshdesk simulator on http://{args.host}:{server.server_port} (plan {args.plan})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
