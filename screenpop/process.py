"""This server process's name among the deployment's: the owner of the leases it takes on pops and locks."""

from __future__ import annotations

import os
import socket


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
