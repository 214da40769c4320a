"""Finding 1: `airlock synth --out DIR` never deletes what it did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.synth.target import MARKER, OutputDirError, check_target, swap_in
from support import PROJECT_DIR, make_project, run_cli, stack_document


def _foreign_dir(root: Path) -> Path:
    target = root / "mine"
    (target / "sub").mkdir(parents=True)
    (target / "notes.txt").write_text("my notes")
    (target / "sub" / "data.csv").write_text("1,2")
    return target


def test_synth_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    target = _foreign_dir(tmp_path)
    result = run_cli("synth", "dev", "--out", str(target))
    assert result.returncode == 2, result.stderr
    assert "not a bundle written by airlock synth" in result.stderr
    assert (target / "notes.txt").read_text() == "my notes"
    assert (target / "sub" / "data.csv").read_text() == "1,2"
    assert "Traceback" not in result.stderr


def test_synth_out_dot_inside_a_project_keeps_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": stack_document("dev")})
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = sorted(p.relative_to(project).as_posix() for p in project.rglob("*"))
    result = run_cli("synth", "dev", "--out", ".", cwd=project)
    assert result.returncode == 2, result.stderr
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == before
    assert (project / ".git" / "HEAD").exists()


def test_synth_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    result = run_cli("synth", "dev", "--out", str(target))
    assert result.returncode == 2
    assert "is not a directory" in result.stderr
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_unwritable_out_is_bad_input() -> None:
    result = run_cli("synth", "dev", "--out", "/proc/airlock-x")
    assert result.returncode == 2, result.stderr
    assert "--out /proc/airlock-x" in result.stderr and "internal error" not in result.stderr


def _bundle(root: Path, name: str, content: str) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "resources.json").write_text(content)
    (directory / MARKER).write_text(json.dumps({"kind": "airlock-synth-bundle", "files": ["resources.json"]}))
    return directory


def test_own_bundle_is_replaced_whole(tmp_path: Path) -> None:
    out = _bundle(tmp_path, "out", "old")
    staging = _bundle(tmp_path, ".staging", "new")
    swap_in(staging, out)
    assert (out / "resources.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_own_bundle_with_a_file_added_by_hand_is_refused(tmp_path: Path) -> None:
    out = _bundle(tmp_path, "out", "old")
    (out / "review-notes.md").write_text("LGTM")
    with pytest.raises(OutputDirError, match="review-notes.md"):
        check_target(out)
    staging = _bundle(tmp_path, ".staging", "new")
    with pytest.raises(OutputDirError):
        swap_in(staging, out)
    assert (out / "review-notes.md").read_text() == "LGTM"


def test_empty_or_new_directory_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert check_target(tmp_path / "empty") == tmp_path / "empty"
    assert check_target(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"


def test_resynth_replaces_its_own_bundle(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    first = run_cli("synth", "dev", "--out", str(out), cwd=PROJECT_DIR)
    assert first.returncode == 0, first.stderr
    marker = json.loads((out / MARKER).read_text())
    assert "resources.json" in marker["files"] and any(f.startswith("manifests/") for f in marker["files"])
    second = run_cli("synth", "dev", "--out", str(out), cwd=PROJECT_DIR)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
