"""Isolation modes: how one exec's process is wrapped before the launcher (child.py) runs.

- ``process``: a child process group with rlimits and its own uid when the executor runs as
  root. This is the mode inside the executor's container image, where the pod is the
  boundary (read-only root, no capabilities, NetworkPolicy, optional gVisor RuntimeClass).
- ``netns``: additionally fresh network, mount and PID namespaces (``unshare``): no network
  but a downed loopback, a filesystem that holds only /usr, the work dir and a private /tmp,
  and no view of other processes. The embedded default when runsc is not installed.
- ``gvisor``: the same namespaces, and the code runs under gVisor (``runsc --rootless
  --network=none do``, ptrace platform) on that minimal root: a user-space kernel between
  the code and the host kernel.

Asking for a mode this machine cannot provide is an error (:class:`IsolationUnavailable`),
never a silent fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Isolation = Literal["process", "netns", "gvisor"]
ISOLATIONS: tuple[str, ...] = ("process", "netns", "gvisor")
CHILD_SOURCE = (Path(__file__).parent / "child.py").read_text(encoding="utf-8")
# The interpreter sandboxed code runs with: the system's python3, never the executor's venv.
SANDBOX_PYTHON = os.environ.get("AIRLOCK_SANDBOX_PYTHON") or shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable


class IsolationUnavailable(Exception):
    """The requested isolation cannot be provided here; the message says why and what to do."""


@lru_cache(maxsize=None)
def _unshare_works(extra: tuple[str, ...]) -> str | None:
    """None when `unshare` can create the namespaces, else the reason it cannot."""
    binary = shutil.which("unshare")
    if binary is None:
        return "the unshare command is not installed (Debian: apt-get install util-linux)"
    probe = subprocess.run([binary, *extra, SANDBOX_PYTHON, "-c", ""], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare {' '.join(extra)} failed here: {probe.stderr.strip() or probe.returncode}"
    return None


def namespace_flags() -> tuple[str, ...]:
    flags: tuple[str, ...] = ("--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc")
    if os.getuid() != 0:  # without root, a user namespace grants the rights to build the jail
        flags = ("--user", "--map-root-user", *flags)
    return flags


def runsc_binary() -> str | None:
    return shutil.which("runsc")


def check_available(isolation: str) -> None:
    """Raise IsolationUnavailable unless `isolation` works on this machine."""
    if isolation not in ISOLATIONS:
        raise IsolationUnavailable(f"isolation {isolation!r} is not known; allowed: {', '.join(ISOLATIONS)}")
    if isolation == "process":
        return
    if isolation == "gvisor" and runsc_binary() is None:
        raise IsolationUnavailable(
            "isolation 'gvisor' needs runsc, which is not installed (Debian: apt-get install runsc); "
            "choose isolation 'netns' explicitly to run without gVisor"
        )
    reason = _unshare_works(namespace_flags())
    if reason:
        raise IsolationUnavailable(f"isolation {isolation!r} needs network, mount and PID namespaces: {reason}")


def best_local_isolation() -> str:
    """gVisor when runsc is installed, else network namespaces (the embedded default)."""
    return "gvisor" if runsc_binary() is not None else "netns"


@dataclass(frozen=True)
class Launch:
    """Everything the launcher needs for one exec, independent of the mode."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    rlimits: dict[str, int]
    uid: int | None
    work_dir: Path
    exec_dir: Path
    tmp_mb: int


def command(isolation: str, launch: Launch) -> list[str]:
    """The host command line that runs `launch` under `isolation`."""
    inner: dict[str, Any] = {
        "argv": launch.argv,
        "env": launch.env,
        "cwd": launch.cwd,
        "rlimits": launch.rlimits,
        "uid": launch.uid,
    }
    if isolation == "process":
        return _launcher(inner)
    inner["init"] = True  # PID 1 of its namespace (the host's, or gVisor's)
    root = launch.exec_dir / "root"
    root.mkdir()
    jail = {"root": str(root), "work": str(launch.work_dir), "tmp_mb": launch.tmp_mb, "uid": launch.uid}
    unshare = [*_die_with_executor(), shutil.which("unshare") or "unshare", *namespace_flags()]
    if isolation == "netns":
        return unshare + _launcher({**inner, "jail": {**jail, "devices": True}})
    runsc = runsc_binary()
    if runsc is None:
        raise IsolationUnavailable("isolation 'gvisor' needs runsc, which is not installed")
    state = launch.exec_dir / "runsc"
    state.mkdir()
    gvisor = [
        runsc, "--rootless", "--network=none", "--platform=ptrace", f"--root={state}",
        "do", "-quiet", f"-root={root}", "-cwd=/work", "-force-overlay=false",
        *_launcher(inner),
    ]  # fmt: skip
    outer = {
        "jail": {**jail, "devices": False}, "runsc": gvisor, "runsc_env": {"TMPDIR": str(state)},
        "argv": [], "env": {}, "cwd": "/", "rlimits": {}, "uid": None,
    }  # fmt: skip
    return unshare + _launcher(outer)


def _die_with_executor() -> list[str]:
    """`setpriv --pdeathsig KILL` (util-linux, like unshare): the exec is killed when the
    executor's thread that started it ends, even if the executor itself is SIGKILLed (an
    embedded executor's process, `airlock-runtime serve`, can be). unshare's --kill-child
    passes it on to the namespace's init, whose end takes the namespace and gVisor with it."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


def _launcher(config: dict[str, Any]) -> list[str]:
    return [SANDBOX_PYTHON, "-I", "-S", "-c", CHILD_SOURCE, json.dumps(config)]
