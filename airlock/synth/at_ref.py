"""Synthesize a stack as it was at a git ref, without touching the user's checkout.

The ref is checked out into a temporary ``git worktree`` and ``airlock synth`` runs there in
a subprocess with that tree first on ``PYTHONPATH``, so the program, components and stack
file of the ref are what gets synthesized (an in-process synth would reuse the modules the
current checkout already imported). The worktree is removed afterwards; the bundle stays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


class RefError(Exception):
    """The ref does not name a commit, the project is not in a git repository, or the stack
    does not synthesize at that ref (the message says which)."""


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RefError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def synth_at_ref(stack: str, ref: str, repo_root: Path) -> Path:
    """Bundle directory of ``stack`` at ``ref`` (``repo_root``: the project directory, inside
    a git repository). The bundle lives in a fresh temporary directory: the caller removes
    ``result.parent`` when done."""
    repo_root = repo_root.resolve()
    try:
        top = Path(_git(repo_root, "rev-parse", "--show-toplevel")).resolve()
    except RefError:
        raise RefError(f"{repo_root} is not inside a git repository, so there is no ref '{ref}' to compare with") from None
    try:
        commit = _git(repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except RefError:
        raise RefError(f"'{ref}' does not name a commit in {top} (try a branch, tag or commit id)") from None
    workdir = Path(tempfile.mkdtemp(prefix="airlock-at-ref-"))
    source = workdir / "src"
    bundle = workdir / "bundle"
    _git(top, "worktree", "add", "--detach", str(source), commit)
    try:
        project = source / repo_root.relative_to(top)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        result = subprocess.run(
            [sys.executable, "-c", "from airlock.cli import main; main()", "synth", stack, "--project", str(project), "--out", str(bundle)],
            cwd=project, env=env, capture_output=True, text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(workdir, ignore_errors=True)
            message = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise RefError(f"stack '{stack}' does not synthesize at {ref} ({commit[:12]}): " + " ".join(message[-3:]))
    finally:
        subprocess.run(["git", "-C", str(top), "worktree", "remove", "--force", str(source)], capture_output=True)
        subprocess.run(["git", "-C", str(top), "worktree", "prune"], capture_output=True)
    return bundle
