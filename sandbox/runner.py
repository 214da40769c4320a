"""Run one exec: a fresh work dir, the process under its isolation and limits, a wall-clock
timeout that kills everything it started, capped output, the changed files, cleanup."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sandbox.api import ENTRY_FILES, ExecRequest, ExecResult
from sandbox.config import ExecutorSettings
from sandbox.isolation import SANDBOX_PYTHON, Launch, command

# What the code's process sees as its environment: constants only, nothing inherited from
# the executor (which, in embedded mode, is the agent runtime holding credentials).
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
INTERPRETERS = {"python": [SANDBOX_PYTHON], "bash": ["/bin/bash"]}
KILL_GRACE_SECONDS = 5


class RunningExecs:
    """The process groups of the execs running now, so that stopping the executor (the end of
    `airlock-runtime serve`, `run` or `resume`) kills them instead of leaving them behind.
    After :meth:`kill_all`, an exec that starts anyway is killed as it registers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self.closed = False

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)
            closed = self.closed
        if closed:
            _kill_group(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def kill_all(self) -> None:
        with self._lock:
            self.closed = True
            groups = list(self._groups)
        for pgid in groups:
            _kill_group(pgid)


@dataclass(frozen=True)
class Slot:
    """One of the executor's concurrent exec slots; its index picks the exec's uid."""

    index: int


class _CappedReader:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.truncated = False

    async def drain(self, stream: asyncio.StreamReader) -> None:
        # Keep reading past the cap (and discard): a blocked writer would never finish.
        while chunk := await stream.read(65536):
            room = self.limit - len(self.data)
            if len(chunk) > room:
                self.truncated = True
            self.data += chunk[: max(room, 0)]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _uid_for(slot: Slot, settings: ExecutorSettings, isolation: str) -> int | None:
    """A uid of the exec's own where one can be set: root on the host, or inside gVisor."""
    if isolation == "gvisor" or os.getuid() == 0:
        return settings.uid_base + slot.index
    return None


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def _rlimits(request: ExecRequest, settings: ExecutorSettings, uid: int | None) -> dict[str, int]:
    memory_mb = request.memory_mb or settings.memory_mb
    processes = settings.max_processes
    if uid is None:
        # RLIMIT_NPROC counts every process of the real uid: sharing the executor's uid, the
        # exec may add max_processes to what that uid already runs.
        processes += _processes_of(os.getuid())
    return {
        "RLIMIT_CPU": settings.cpu_seconds,
        "RLIMIT_AS": memory_mb << 20,
        "RLIMIT_NOFILE": settings.max_open_files,
        "RLIMIT_NPROC": processes,
        "RLIMIT_FSIZE": settings.max_file_mb << 20,
        "RLIMIT_CORE": 0,
    }


def _write_inputs(work: Path, request: ExecRequest) -> dict[str, str]:
    """Write the request's files and the code; return the digests of what was written."""
    written: dict[str, str] = {}
    for rel, text in request.files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written[rel] = hashlib.sha256(text.encode()).hexdigest()
    (work / ENTRY_FILES[request.language]).write_text(request.code, encoding="utf-8")
    return written


def _chown_tree(root: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, uid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), uid, uid)


def changed_files(work: Path, before: dict[str, str], settings: ExecutorSettings) -> tuple[dict[str, str], list[str]]:
    """New or modified regular text files (bounded); the others by name in the second list."""
    files: dict[str, str] = {}
    omitted: list[str] = []
    entries = set(ENTRY_FILES.values())
    for dirpath, dirnames, filenames in os.walk(work):  # os.walk never follows symlinks into dirs
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(work).as_posix()
            if rel in entries or path.is_symlink() or not path.is_file():
                continue
            if len(files) >= settings.max_files or path.stat().st_size > settings.max_file_result_bytes:
                omitted.append(rel)
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if before.get(rel) == digest:
                continue
            try:
                files[rel] = data.decode("utf-8")
            except UnicodeDecodeError:
                omitted.append(rel)
    return files, omitted


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


KILL_WAIT_SECONDS = 5.0
"""How long to wait for killed processes to be gone (SIGKILL is delivered at once, but a
process is still listed until the kernel has torn it down)."""


def _kill_uid(uid: int) -> None:
    """Kill every process left running as the exec's own uid (one that left the group), and
    return once none is left: when the exec's answer arrives, nothing it started still runs."""
    subprocess.run(
        [SANDBOX_PYTHON, "-I", "-S", "-c", f"import os; os.setresgid({uid},{uid},{uid}); os.setresuid({uid},{uid},{uid}); os.kill(-1, 9)"],
        capture_output=True,
        timeout=30,
    )
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while _running_as(uid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _running_as(uid: int) -> bool:
    """Whether a live (not zombie) process runs as ``uid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            return True
    return False


def _remove(path: Path) -> None:
    def make_writable(func, target, _exc):  # a child may have made a dir unwritable
        try:
            os.chmod(os.path.dirname(target), 0o700)
            func(target)
        except OSError:
            pass

    handler = {"onexc": make_writable} if sys.version_info >= (3, 12) else {"onerror": make_writable}
    shutil.rmtree(path, **handler)  # type: ignore[arg-type]


async def run_exec(
    request: ExecRequest, settings: ExecutorSettings, isolation: str, slot: Slot, running: RunningExecs | None = None
) -> ExecResult:
    exec_dir = settings.work_dir / f"exec-{uuid.uuid4().hex[:16]}"
    exec_dir.mkdir(mode=0o711)
    work = exec_dir / "work"
    work.mkdir(mode=0o700)
    uid = _uid_for(slot, settings, isolation)
    started = time.monotonic()
    try:
        before = _write_inputs(work, request)
        if uid is not None and os.getuid() == 0:
            _chown_tree(work, uid)
        elif uid is not None:  # gVisor without root: the exec's uid exists only inside gVisor
            work.chmod(0o777)
        jailed = isolation != "process"
        cwd = "/work" if jailed else str(work)
        env = {**BASE_ENV, "HOME": cwd, "TMPDIR": "/tmp" if jailed else cwd}
        launch = Launch(
            argv=[*INTERPRETERS[request.language], ENTRY_FILES[request.language]],
            env=env,
            cwd=cwd,
            rlimits=_rlimits(request, settings, uid),
            uid=uid,
            work_dir=work,
            exec_dir=exec_dir,
            tmp_mb=settings.tmp_mb,
        )
        timeout = request.timeout_seconds or settings.timeout_seconds
        result = await _supervise(command(isolation, launch), request.stdin, timeout, settings, isolation != "process", running)
        if uid is not None and os.getuid() == 0 and isolation == "process":
            _kill_uid(uid)
        exit_code, sig, timed_out, stdout, stderr = result
        files, omitted = changed_files(work, before, settings)
        return ExecResult(
            exit_code=exit_code,
            stdout=stdout.text(),
            stderr=stderr.text(),
            truncated=stdout.truncated or stderr.truncated,
            duration_ms=int((time.monotonic() - started) * 1000),
            timed_out=timed_out,
            files=files,
            files_omitted=omitted,
            signal=sig,
            isolation=isolation,
        )
    finally:
        _remove(exec_dir)


async def _supervise(
    argv: list[str], stdin: str, timeout: int, settings: ExecutorSettings, via_init: bool, running: RunningExecs | None = None
) -> tuple[int | None, str | None, bool, _CappedReader, _CappedReader]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group: the timeout kills all of it
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        close_fds=True,
    )
    if running is not None:
        running.add(proc.pid)  # its pid is its process group's id (start_new_session)
    out, err = _CappedReader(settings.max_output_bytes), _CappedReader(settings.max_output_bytes)
    readers = [asyncio.create_task(out.drain(proc.stdout)), asyncio.create_task(err.drain(proc.stderr))]  # type: ignore[arg-type]
    feeder = asyncio.create_task(_feed(proc, stdin))
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        timed_out = True
    # Also after a normal exit: whatever it left running in its group goes too.
    _kill_group(proc.pid)
    await proc.wait()
    if running is not None:
        running.discard(proc.pid)
    done, pending = await asyncio.wait([*readers, feeder], timeout=KILL_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    code = proc.returncode
    sig = signal.Signals(-code).name if code is not None and code < 0 else None
    if via_init and code is not None and code > 128 and code - 128 in signal.valid_signals():
        sig = signal.Signals(code - 128).name  # the namespace's init reports the code's signal so
        code = -(code - 128)  # the same convention as without a namespace
    if timed_out:
        sig = "SIGKILL"
        err.data += f"\n[airlock-sandbox] killed: wall-clock timeout of {timeout}s\n".encode()
    return code, sig, timed_out, out, err


async def _feed(proc: asyncio.subprocess.Process, stdin: str) -> None:
    assert proc.stdin is not None
    try:
        if stdin:
            proc.stdin.write(stdin.encode())
            await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass
