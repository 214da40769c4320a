"""Shared test helpers: synthesize stacks the way `airlock synth` does and query bundles."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod", "airgap", "onprem")


@dataclass(frozen=True)
class Synthesized:
    """A written bundle, read back from disk as a user (or auditor) would read it."""

    directory: Path
    document: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.document["resources"]

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_token) if name is None or r["name"] == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r['name'] for r in found]}"
        return found[0]

    def types(self) -> set[str]:
        return {r["type"] for r in self.resources}

    @property
    def manifests(self) -> list[dict[str, Any]]:
        folder = self.directory / "manifests"
        return [yaml.safe_load(p.read_text()) for p in sorted(folder.rglob("*.yaml"))] if folder.exists() else []

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]


def synthesize(project_dir: Path, stack: str, out_dir: Path) -> Synthesized:
    """In-process synth through the same function the CLI calls."""
    from airlock.synth.run import synthesize as run

    run(project_dir, stack, out_dir)
    return read_bundle(out_dir)


def read_bundle(out_dir: Path) -> Synthesized:
    return Synthesized(
        out_dir,
        json.loads((out_dir / "resources.json").read_text()),
        json.loads((out_dir / "outputs.json").read_text()),
    )


_CACHE_ROOT = Path(tempfile.mkdtemp(prefix="airlock-tests-"))


@lru_cache(maxsize=None)
def shipped(stack: str) -> Synthesized:
    """A shipped stack synthesized once per test session (tests must not modify it)."""
    return synthesize(PROJECT_DIR, stack, _CACHE_ROOT / stack)


def stack_document(stack: str) -> dict[str, Any]:
    """The YAML document of a shipped stack, as a fresh copy to modify."""
    return copy.deepcopy(yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text()))


def make_project(root: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A copy of the project whose stacks/ holds exactly ``stacks`` (name -> YAML document).

    A stack with no agents/<name>.yaml gets one that runs on it (matching_agent_spec), as a
    user has to write one for every new stack."""
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT_DIR / name, project / name)
    shutil.copytree(PROJECT_DIR / "agents", project / "agents", dirs_exist_ok=True)
    (project / "stacks").mkdir(exist_ok=True)
    for name, document in stacks.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        spec_file = project / "agents" / f"{name}.yaml"
        spec = matching_agent_spec(document.get("config") or {})
        if not spec_file.exists() and spec is not None:
            spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return project


CLOUD_BASE_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}


def matching_agent_spec(config: dict[str, Any]) -> dict[str, Any] | None:
    """A minimal agent spec routed to the stack's first local model, else its first cloud
    model; None when the stack serves no model the runtime can call."""
    spec: dict[str, Any] = {"name": "test-agent", "instructions": "Answer briefly.", "tools": []}
    models = config.get("airlock:models") or []
    clouds = [c for c in config.get("airlock:cloudModels") or [] if c.get("provider") in CLOUD_BASE_URLS]
    if models:
        name = models[0]["name"]
        url = f"http://{name}.airlock-models.svc.cluster.local:8000/v1"
        spec["models"] = {"default": {"provider": "openai", "baseUrl": url, "model": name, "apiKeyEnv": "VLLM_API_KEY"}}
    elif clouds:
        cloud = clouds[0]
        route = {"provider": cloud["provider"], "baseUrl": cloud.get("baseUrl") or CLOUD_BASE_URLS[cloud["provider"]], "model": cloud["model"]}
        if cloud.get("apiKeySecret"):
            route["apiKeySecret"] = "key"
            spec["secrets"] = [{"name": "key", "from": f"airlock:{cloud['apiKeySecret']}"}]
        spec["models"] = {"default": route}
    else:
        return None
    return spec


def set_key(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Set ``airlock:<key>`` (or any full key) in a stack document; returns the document."""
    full = key if ":" in key else f"airlock:{key}"
    document.setdefault("config", {})[full] = value
    return document


def run_cli(*args: str, cwd: Path = PROJECT_DIR, env: dict[str, str] | None = None, program: str = "airlock") -> subprocess.CompletedProcess:
    """The installed console script, in a subprocess, as a user runs it."""
    executable = Path(sys.executable).parent / program
    return subprocess.run(
        [str(executable), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def synthesize_decrypted(project_dir: Path, stack: str, document: dict[str, Any], secret_keys: set[str], out_dir: Path):
    """Synthesize the way the program sees config under `pulumi up`: secret values already
    decrypted by the engine and marked secret (offline synth only ever sees placeholders).
    Returns (Synthesized, bundle warnings). Proves real secret values never reach a bundle."""
    from airlock.project import project_name
    from airlock.synth.bundle import build, write
    from airlock.synth.engine import run_program
    from components.config.loader import FlatConfig, flatten, load

    flat = flatten(document["config"])
    flat = FlatConfig(flat.values, frozenset(secret_keys))
    loaded = load(flat, stack, project_dir)
    run = run_program(project_dir, project_name(project_dir), stack, flat, loaded.region or "us-east-1")
    config = loaded.config
    bundle = build(run, project_name(project_dir), stack, config.platform, config.profile, config.cluster.kubernetes_version)
    write(bundle, out_dir)
    return read_bundle(out_dir), bundle.warnings
