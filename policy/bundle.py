"""A synthesized stack as the rules read it: resources, Kubernetes objects, agent specs.

Built from a bundle directory (``resources.json`` plus any object in ``manifests/`` that is
not already a resource) or from the resource list the CrossGuard pack receives. The stack's
profile comes from ``resources.json`` when present, else from what the orchestrator is told
(``AIRLOCK_PROFILE``), so both paths see the same stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from policy.model import Resource
from runtime.yaml_safe import load_text

PROFILE_ENV = "AIRLOCK_PROFILE"


class BundleError(Exception):
    """The bundle cannot be read: missing files, not JSON/YAML, wrong shape."""


@dataclass(frozen=True)
class AgentSpecDoc:
    """An agent spec the stack deploys, as found in a ConfigMap (raw YAML, not validated:
    the rules must also judge specs the runtime would refuse)."""

    resource: Resource
    key: str
    document: dict[str, Any]

    @property
    def path(self) -> str:
        return f"data.{self.key}"


@dataclass
class AuditBundle:
    resources: list[Resource]
    stack: str = ""
    platform: str = ""
    profile: str = ""
    _by_type: dict[str, list[Resource]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.resources = sorted(self.resources, key=lambda r: (r.type, r.name))
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)
        if not self.profile:
            self.profile = _profile_from_workloads(self.kubernetes())
        if not self.platform:
            self.platform = "aws" if any(r.type.startswith("aws:") for r in self.resources) else "kubernetes"

    # ----------------------------------------------------------------- queries

    def of_type(self, *type_tokens: str) -> list[Resource]:
        return [r for t in type_tokens for r in self._by_type.get(t, [])]

    def kubernetes(self, *kinds: str) -> list[Resource]:
        return [r for r in self.resources if r.is_kubernetes and (not kinds or r.kind in kinds)]

    def in_namespace(self, namespace: str, *kinds: str) -> list[Resource]:
        return [r for r in self.kubernetes(*kinds) if r.namespace == namespace]

    def namespaces(self) -> list[Resource]:
        return self.kubernetes("Namespace")

    def agent_specs(self) -> list[AgentSpecDoc]:
        found: list[AgentSpecDoc] = []
        for config_map in self.kubernetes("ConfigMap"):
            for key, text in sorted((config_map.inputs.get("data") or {}).items()):
                document = _as_agent_spec(text)
                if document is not None:
                    found.append(AgentSpecDoc(config_map, key, document))
        return found

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_directory(cls, directory: Path) -> "AuditBundle":
        resources_file = directory / "resources.json"
        if not resources_file.is_file():
            raise BundleError(f"--bundle {directory}: no resources.json there (write one with `airlock synth STACK --out DIR`)")
        try:
            document = json.loads(resources_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise BundleError(f"{resources_file}: not valid JSON ({error})") from None
        if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
            raise BundleError(f"{resources_file}: expected an object with a 'resources' list")
        resources: list[Resource] = []
        for index, item in enumerate(document["resources"]):
            if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not isinstance(item.get("name"), str):
                raise BundleError(f"{resources_file}: resources[{index}] needs a string 'type' and 'name'")
            inputs = item.get("inputs")
            resources.append(Resource(item["type"], item["name"], inputs if isinstance(inputs, dict) else {}))
        resources.extend(_manifests_not_in(directory / "manifests", resources))
        return cls(
            resources,
            stack=str(document.get("stack") or ""),
            platform=str(document.get("platform") or ""),
            profile=str(document.get("profile") or ""),
        )

    @classmethod
    def from_resources(cls, resources: Iterable[Resource]) -> "AuditBundle":
        return cls(list(resources))


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


def _manifests_not_in(folder: Path, resources: list[Resource]) -> Iterator[Resource]:
    """Objects in manifests/ that resources.json does not carry (e.g. hand-added ones)."""
    if not folder.is_dir():
        return
    known = {_identity(r.inputs) for r in resources if r.is_kubernetes}
    for path in sorted(folder.rglob("*.yaml")):
        try:
            documents = [d for d in [load_text(path.read_text())] if d]
        except yaml.YAMLError as error:
            raise BundleError(f"{path}: not valid YAML ({error})") from None
        for obj in documents:
            if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
                raise BundleError(f"{path}: not a Kubernetes object (needs apiVersion and kind)")
            if _identity(obj) in known:
                continue
            known.add(_identity(obj))
            kind, namespace, name = _identity(obj)
            logical = f"{namespace}-{name}" if namespace else name
            yield Resource(f"kubernetes:{obj['apiVersion']}:{kind}", logical, obj)


def _as_agent_spec(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or "instructions" not in text:
        return None
    try:
        document = load_text(text)
    except yaml.YAMLError:
        return None
    if isinstance(document, dict) and "models" in document and "instructions" in document:
        return document
    return None


def _profile_from_workloads(objects: list[Resource]) -> str:
    from policy.kube import containers, pod_spec

    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container, _ in containers(spec[0], spec[1]):
            for env in container.get("env") or []:
                if isinstance(env, dict) and env.get("name") == PROFILE_ENV and isinstance(env.get("value"), str):
                    return env["value"]
    return ""
