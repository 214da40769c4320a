"""The agent spec the orchestrator deploys, and its version: the runtime's content hash.

The deployed spec is the stack's spec file with one thing filled in: each route to one of
this stack's vLLM servers gets ``contextWindow`` = that server's ``maxModelLen`` (unless
the spec already sets it), so the runtime keeps every call inside the window without
asking the server first (docs/runtime.md, "Context window").

Its version is one value used everywhere: the ``agentVersion`` stack output, the
``airlock.dev/agent-version`` label on the orchestrator's pods and
``AIRLOCK_AGENT_VERSION``, the name suffix of the spec's ConfigMap, and, because it comes
from the runtime's own ``validate_spec_text()``, the stamp the runtime puts on every
checkpoint, trace and audit record. A changed spec is a new version: new ConfigMap, new
pod template, rolled pods. (It hashes the parsed spec, so comments and formatting are not
a new version.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config.schema import ModelConfig, Profile
from components.config.naming import model_service_url

AGENT_VERSION_LABEL = "airlock.dev/agent-version"  # 16 hex digits: fits a label value whole


@dataclass(frozen=True)
class DeployedSpec:
    text: str
    version: str


def _fill_context_windows(document: Any, models: Sequence[ModelConfig]) -> bool:
    windows = {model_service_url(m.name): m.max_model_len for m in models}
    changed = False
    routes = document.get("models") if isinstance(document, dict) else None
    for route in (routes or {}).values():
        if not isinstance(route, dict) or "contextWindow" in route:
            continue
        window = windows.get(str(route.get("baseUrl", "")).rstrip("/"))
        if window is not None:
            route["contextWindow"] = window
            changed = True
    return changed


def deployed_spec(spec_file: Path, models: Sequence[ModelConfig], profile: Profile) -> DeployedSpec:
    """The spec text the orchestrator's ConfigMap carries, validated for the stack's profile."""
    from runtime.spec import validate_spec_text

    from runtime.yaml_safe import load_text

    text = spec_file.read_text()
    try:
        document = load_text(text)
    except Exception:  # noqa: BLE001 - the validator below reports the same problem with its key path
        document = None
    if document is not None and _fill_context_windows(document, models):
        header = (
            f"# {spec_file.name} as deployed: contextWindow of each local route filled in from its model's maxModelLen.\n"
        )
        text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    loaded = validate_spec_text(text, source=str(spec_file), base_dir=spec_file.parent, profile=profile)
    return DeployedSpec(text, loaded.version)
