"""Synthesize a stack as it was at a git ref, without touching the user's checkout.

The ref is checked out into a temporary, detached ``git worktree`` and ``airlock synth``
runs there in a subprocess with that tree first on ``PYTHONPATH``, so the program, the
components and the stack file of the ref are what gets synthesized (an in-process synth
would reuse the modules the current checkout already imported). The worktree is removed
afterwards. Used by ``airlock diff`` and ``airlock cost --base``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Optional cache of bundles by (git tree, stack): the same tree always synthesizes to the same
# bundle, so CI jobs and tests that compare many refs against one base synthesize it once.
CACHE_ENV = "AIRLOCK_SYNTH_CACHE"


class RefError(Exception):
    """The ref does not name a commit, the directory is not in a git repository, or the
    stack does not synthesize at that ref (bad input: exit 2)."""


def _git(repo_root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo_root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RefError(result.stderr.strip() or f"git {' '.join(args)} failed")
    return result.stdout.strip()


def repo_root_of(project_dir: Path) -> Path:
    try:
        return Path(_git(project_dir, "rev-parse", "--show-toplevel"))
    except RefError:
        raise RefError(f"{project_dir} is not inside a git repository, so there is no ref to compare with") from None


def resolve(repo_root: Path, ref: str) -> str:
    try:
        return _git(repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except RefError:
        raise RefError(f"git ref {ref!r} does not name a commit in {repo_root}") from None


def file_at_ref(repo_root: Path, ref: str, path: Path) -> str | None:
    """A file's text at a ref (path relative to the repository root), or None if absent."""
    result = subprocess.run(["git", "-C", str(repo_root), "show", f"{resolve(repo_root, ref)}:{path.as_posix()}"], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def synth_at_ref(stack: str, ref: str, repo_root: Path, out_dir: Path, project_subdir: Path = Path(".")) -> Path:
    """Write the bundle of ``stack`` as committed at ``ref`` to ``out_dir`` and return it."""
    commit = resolve(repo_root, ref)
    cache = os.environ.get(CACHE_ENV)
    cached = Path(cache) / f"{_git(repo_root, 'rev-parse', f'{commit}^{{tree}}')}-{project_subdir.as_posix().replace('/', '_')}-{stack}" if cache else None
    if cached is not None and cached.is_dir():
        shutil.copytree(cached, out_dir)
        return out_dir
    with tempfile.TemporaryDirectory(prefix="airlock-ref-") as scratch:
        worktree = Path(scratch) / "tree"
        _git(repo_root, "worktree", "add", "--detach", "--quiet", str(worktree), commit)
        try:
            project = worktree / project_subdir
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(worktree)])}
            result = subprocess.run(
                [sys.executable, "-m", "airlock.cli", "synth", stack, "--out", str(out_dir), "--project", str(project)],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
            )
        finally:
            subprocess.run(["git", "-C", str(repo_root), "worktree", "remove", "--force", str(worktree)], capture_output=True)
            subprocess.run(["git", "-C", str(repo_root), "worktree", "prune"], capture_output=True)
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise RefError(f"stack {stack!r} does not synthesize at {ref} ({commit[:12]}): " + " ".join(lines[-3:]))
    if cached is not None:
        shutil.copytree(out_dir, cached, dirs_exist_ok=True)
    return out_dir
