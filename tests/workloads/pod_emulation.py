"""Run a synthesized pod's container the way the kubelet would, with its paths moved into a temp dir.

Volumes become directories under ``root`` (ConfigMaps and Secrets written out as files,
emptyDirs empty), every mount path in the env is rewritten to its directory, and env
values from Secrets are filled from ``secret_values``: the args, env and mounts are
otherwise exactly the manifest's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workload_manifests import get, pod_spec


@dataclass(frozen=True)
class EmulatedPod:
    args: list[str]
    env: dict[str, str]
    mounts: dict[str, Path]  # mount path in the container -> directory here
    read_only: dict[str, bool]


def emulate(
    bundle: Any,
    deployment: dict[str, Any],
    root: Path,
    *,
    secrets: dict[str, dict[str, str]],
    secret_env: dict[str, str],
    remap: bool = True,
) -> EmulatedPod:
    """``remap=False`` keeps the env's container paths (for running the real image with these mounts)."""
    namespace = deployment["metadata"]["namespace"]
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts: dict[str, Path] = {}
    read_only: dict[str, bool] = {}
    for m in container.get("volumeMounts", []):
        volume = volumes[m["name"]]
        directory = root / m["mountPath"].lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            data = get(bundle, "ConfigMap", namespace, volume["configMap"]["name"])["data"]
            for key, value in data.items():
                (directory / key).write_text(value)
        elif "secret" in volume:
            for key, value in secrets[volume["secret"]["secretName"]].items():
                (directory / key).write_text(value)
        mounts[m["mountPath"]] = directory
        read_only[m["mountPath"]] = bool(m.get("readOnly"))
    env: dict[str, str] = {}
    for variable in container.get("env", []):
        if "value" in variable:
            value = variable["value"]
            for path, directory in sorted(mounts.items(), key=lambda item: -len(item[0])):
                if remap and (value == path or value.startswith(path + "/")):
                    value = str(directory) + value[len(path):]
                    break
            env[variable["name"]] = value
        else:
            env[variable["name"]] = secret_env[variable["name"]]
    return EmulatedPod(args=list(container.get("args", [])), env=env, mounts=mounts, read_only=read_only)


def base_env() -> dict[str, str]:
    """The process basics a container has (PATH, HOME), none of the host's AIRLOCK_/AWS_/OTEL_ settings."""
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
