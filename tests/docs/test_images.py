"""The Dockerfiles under images/ pin their bases by digest and run as a non-root user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import PROJECT_DIR

DOCKERFILES = sorted((PROJECT_DIR / "images").glob("*.Dockerfile"))


def test_there_are_dockerfiles() -> None:
    assert {p.name for p in DOCKERFILES} >= {"runtime.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_base_image_is_pinned_by_digest(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms
    # `ARG BASE=<image>` then `FROM ${BASE}`: the default (what a plain build uses) must be pinned.
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    for image in (re.sub(r"^\$\{?(\w+)\}?$", lambda m: defaults.get(m.group(1), m.group(0)), f) for f in froms):
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{dockerfile.name}: {image} is not pinned by digest"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_runs_as_non_root_uid(dockerfile: Path) -> None:
    final_stage = re.split(r"^FROM\s", dockerfile.read_text(), flags=re.M)[-1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.M)
    assert users, f"{dockerfile.name}: final stage has no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, f"{dockerfile.name}: USER {users[-1]} must be a non-zero numeric UID"
