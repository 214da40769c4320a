"""Where a bundle may be written, and swapping a finished bundle in without losing anything.

`airlock synth --out DIR` must never delete what it did not write. A bundle directory is
recognised as ours by a marker file listing every file we wrote; a DIR that exists and is
not such a bundle (a project folder, a file, a folder holding anything else) is refused
before the program runs. Our own bundle is replaced by an atomic exchange of directory
entries (renameat2 RENAME_EXCHANGE where the kernel has it), so at every instant DIR is
either the complete old bundle or the complete new one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

MARKER = ".airlock-bundle.json"
MARKER_KIND = "airlock-synth-bundle"


class OutputDirError(Exception):
    """``--out`` names a place synth may not write to (bad input: exit 2)."""

    def __init__(self, out_dir: Path, problem: str) -> None:
        super().__init__(f"--out {out_dir}: {problem}")


def marker_document(files: list[str]) -> str:
    return json.dumps({"kind": MARKER_KIND, "files": sorted(files)}, indent=2, sort_keys=True) + "\n"


def _written_files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if not p.is_dir()}


def _recorded_files(directory: Path) -> set[str] | None:
    """The files our marker says we wrote, or None when DIR is not our bundle."""
    marker = directory / MARKER
    try:
        document = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("kind") != MARKER_KIND or not isinstance(document.get("files"), list):
        return None
    return {str(f) for f in document["files"]} | {MARKER}


def check_target(out_dir: Path) -> Path:
    """The absolute bundle path, or OutputDirError when writing there could lose data."""
    out_dir = Path(os.path.abspath(out_dir))
    if out_dir.is_symlink():
        raise OutputDirError(out_dir, "is a symbolic link; name a real directory")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputDirError(out_dir, "exists and is not a directory; synth never replaces a file")
        try:
            present = _written_files(out_dir)
        except OSError as error:
            raise OutputDirError(out_dir, f"cannot be read ({error.strerror})") from None
        if present:
            recorded = _recorded_files(out_dir)
            if recorded is None:
                raise OutputDirError(
                    out_dir,
                    "is not empty and is not a bundle written by airlock synth (no "
                    f"{MARKER}); synth only replaces its own bundles: name an empty or new directory",
                )
            foreign = sorted(present - recorded)
            if foreign:
                raise OutputDirError(
                    out_dir,
                    f"holds files synth did not write ({', '.join(foreign[:5])}); move them away or name another directory",
                )
    parent = out_dir.parent
    if parent.exists() and not parent.is_dir():
        raise OutputDirError(out_dir, f"{parent} is not a directory")
    return out_dir


def probe_writable(out_dir: Path) -> None:
    """Fail before the program runs when the bundle could not be written next to out_dir."""
    out_dir = check_target(out_dir)
    existing = out_dir.parent
    while not existing.exists():  # create nothing yet: a refused synth leaves no folder behind
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is not a directory")
        os.rmdir(tempfile.mkdtemp(prefix=".airlock-probe-", dir=existing))
    except OSError as error:
        raise OutputDirError(out_dir, f"cannot be written ({error.strerror or error})") from None


def _libc_exchange() -> object | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return getattr(libc, "renameat2", None)
    except OSError:
        return None


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory entries; False where the platform cannot."""
    renameat2 = _libc_exchange()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)  # type: ignore[operator]
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, out_dir: Path) -> None:
    """Put the finished bundle at out_dir; the previous bundle (ours, checked) goes only after."""
    check_target(out_dir)  # again: DIR may have changed while the program ran
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging)  # now holds the old bundle, which check_target proved is ours
        return
    old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
    out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old)
