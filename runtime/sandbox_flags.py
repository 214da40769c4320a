"""`--sandbox-isolation`: the one definition `run`, `resume` and `serve` share (flag, default,
allowed values, errors). Kept apart from sandbox_tool so the CLI parser imports nothing heavy."""

from __future__ import annotations

import argparse
import os

from runtime.errors import BadInput

ISOLATION_ENV = "AIRLOCK_SANDBOX_ISOLATION"
LOCAL_ISOLATIONS = ("auto", "gvisor", "netns")


def add_isolation_argument(parser: argparse.ArgumentParser) -> None:
    """`--sandbox-isolation`, the same for `run`, `resume` and `serve`."""
    parser.add_argument(
        "--sandbox-isolation",
        default=os.environ.get(ISOLATION_ENV) or "auto",
        metavar="MODE",
        help="local executor for sandbox pools not in AIRLOCK_SANDBOXES: gvisor, netns, or auto "
        f"(gvisor when runsc is installed, else netns); default ${ISOLATION_ENV} or auto",
    )


def check_isolation(isolation: str) -> None:
    """Refuse a mode that is not one of LOCAL_ISOLATIONS (BadInput naming the flag)."""
    if isolation not in LOCAL_ISOLATIONS:
        raise BadInput(f"--sandbox-isolation {isolation!r} is not allowed; allowed: {', '.join(LOCAL_ISOLATIONS)}")


def check_isolation_available(isolation: str) -> None:
    """Refuse an explicit mode (gvisor, netns) this machine cannot provide; 'auto' always passes
    here (it picks what the machine has when an executor starts)."""
    check_isolation(isolation)
    if isolation == "auto":
        return
    from sandbox.isolation import IsolationUnavailable, check_available

    try:
        check_available(isolation)
    except IsolationUnavailable as exc:
        raise cannot_start(exc) from None


def cannot_start(reason: Exception) -> BadInput:
    return BadInput(f"cannot start the local sandbox executor: {reason}")
