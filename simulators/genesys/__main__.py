"""`python -m simulators.genesys --port N [--host 127.0.0.1] [--seed demo]`: run the Genesys Cloud simulator."""

from __future__ import annotations

import argparse

from simulators.genesys.server import serve
from simulators.genesys.state import State


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.genesys", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="port serving /oauth, /api/v2 and /_sim (0: any)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", choices=["demo"])
    parser.add_argument(
        "--premium-type-id", help="integration type id of the premium app (default premium-widget-example)"
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="registered redirect URI of the seeded browser clients (repeatable; replaces the defaults)",
    )
    parser.add_argument("--rate-limit", type=int, help="requests per minute per client (default 300)")
    arguments = parser.parse_args()
    state = State(seed_name=arguments.seed)
    if arguments.premium_type_id:
        state.defaults["premium_type_id"] = arguments.premium_type_id
    if arguments.redirect_uri:
        state.defaults["redirect_uris"] = arguments.redirect_uri
    if arguments.rate_limit:
        state.defaults["rate_limit_per_minute"] = arguments.rate_limit
    serve(arguments.host, arguments.port, state)


if __name__ == "__main__":
    main()
