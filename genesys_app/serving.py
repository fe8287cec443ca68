"""How a screenpop server process is started: the one list of uvicorn options that production (README), `make run`,
the end-to-end tests and the benchmarks share.

- `--lifespan on`: the lifespan starts the background lookups of the process;
- uvloop and httptools: the fast event loop and HTTP parser (both come with `uvicorn[standard]`);
- no access log: the event log and metrics record every webhook, and a line per request would cost the ack path;
- no per-message deflate on WebSockets: zlib state for every open panel costs tens of KB a socket, while panel
  messages are a few KB of JSON (bench/memory_startup measures a thousand sockets);
- WebSocket frames from a panel at most 64 KB (uvicorn's default is 16 MB): a panel sends `{"type": "refresh"}`,
  and anything larger is closed by the server (1009) before the consumer reads it.
"""

UVICORN_OPTIONS = [
    "--lifespan", "on",
    "--loop", "uvloop",
    "--http", "httptools",
    "--no-access-log",
    "--ws-per-message-deflate", "false",
    "--ws-max-size", "65536",
    "--timeout-graceful-shutdown", "25",
]  # fmt: skip


def uvicorn_args(*, host: str, port: int) -> list[str]:
    """`python -m uvicorn ...` arguments for the screenpop application."""
    return ["-m", "uvicorn", "genesys_app.asgi:application", "--host", host, "--port", str(port), *UVICORN_OPTIONS]
