"""The agent version: the runtime's content hash of the agent spec, used in exactly one way.

The same value is the ``agentVersion`` stack output, the ``airlock.dev/agent-version``
label on the orchestrator's pods and ``AIRLOCK_AGENT_VERSION``, the name suffix of the spec's ConfigMap,
and, because it comes from the runtime's own ``agent_version()``, the stamp the runtime
puts on every checkpoint, trace and audit record. A changed spec is a new version: new
ConfigMap, new pod template, rolled pods. (It hashes the parsed spec, so comments and
formatting are not a new version.)
"""

from __future__ import annotations

from pathlib import Path

AGENT_VERSION_LABEL = "airlock.dev/agent-version"  # 16 hex digits: fits a label value whole


def agent_version(spec_file: Path, profile: str) -> str:
    """The version the runtime will stamp when it runs this spec (validated for ``profile``)."""
    from runtime.spec import validate_spec_text

    loaded = validate_spec_text(spec_file.read_text(), source=str(spec_file), base_dir=spec_file.parent, profile=profile)
    return loaded.version

