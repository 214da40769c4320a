"""The agent version: the content hash of the agent spec file, computed in exactly one place.

The same hash is the ``agentVersion`` stack output, the ``airlock.dev/agent-version``
label and annotation on the orchestrator's pods, the name suffix of the spec's ConfigMap,
and (in the runtime) the stamp on every checkpoint, trace and audit record. A changed spec
is a new version: new ConfigMap, new pod template, rolled pods.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

AGENT_VERSION_LABEL = "airlock.dev/agent-version"
AGENT_VERSION_ANNOTATION = "airlock.dev/agent-version-sha256"
SHORT_VERSION_LENGTH = 12  # label values are at most 63 characters; 12 hex digits stay unambiguous


def agent_version(spec_file: Path) -> str:
    """sha256 hex of the spec file's bytes (not of its parsed YAML: any edit is a new version)."""
    return hashlib.sha256(spec_file.read_bytes()).hexdigest()


def short_version(version: str) -> str:
    return version[:SHORT_VERSION_LENGTH]
