"""Tools for the canary test: each hands the secret to a different channel."""

from __future__ import annotations

import logging
import sys

from runtime.tools import ToolContext

logging.basicConfig()  # a handler bound to the real stderr, as many tools' libraries set up


def noisy(context: ToolContext) -> str:
    secret = context.secrets["canary"]
    print(f"tool stdout {secret}")
    sys.stderr.write(f"tool stderr {secret[:6]}")  # split across two writes
    sys.stderr.write(f"{secret[6:]}\n")
    logging.getLogger("canary.tool").warning("tool log %s", secret)
    return f"tool result {secret}"


def boom(context: ToolContext) -> str:
    raise RuntimeError(f"tool exception {context.secrets['canary']}")


def ship(note: str) -> str:
    return f"shipped: {note}"


def read_conf(path: str) -> str:
    with open(path) as fh:
        return fh.read()
