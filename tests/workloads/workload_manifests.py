"""Reading synthesized Kubernetes objects the way an auditor would: by kind, namespace, name."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from support import Synthesized, make_project, stack_document, synthesize

ROLE = "airlock.dev/role"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")


@lru_cache(maxsize=64)
def _read_manifests(directory: Path) -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load(p.read_text()) for p in sorted((directory / "manifests").rglob("*.yaml")))


def manifests(bundle: Synthesized) -> tuple[dict[str, Any], ...]:
    """The bundle's manifests, parsed once per bundle (tests must not modify them)."""
    return _read_manifests(bundle.directory)


def kinds(bundle: Synthesized, kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests(bundle) if m["kind"] == kind]


def in_namespace(bundle: Synthesized, namespace: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in manifests(bundle)
        if m["metadata"].get("namespace") == namespace and (kind is None or m["kind"] == kind)
    ]


def get(bundle: Synthesized, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    found = [
        m
        for m in kinds(bundle, kind)
        if m["metadata"]["name"] == name and m["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "Pod":
        return spec
    if workload["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


def workloads(bundle: Synthesized) -> list[dict[str, Any]]:
    return [m for m in manifests(bundle) if m["kind"] in WORKLOAD_KINDS]


def containers(bundle: Synthesized) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container and init container in the bundle."""
    for workload in workloads(bundle):
        spec = pod_spec(workload)
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield workload, c


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value, or the valueFrom object for references."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def egress_rules(bundle: Synthesized, namespace: str) -> list[dict[str, Any]]:
    """Every egress rule of every NetworkPolicy in the namespace (policies are a union)."""
    return [rule for p in in_namespace(bundle, namespace, "NetworkPolicy") for rule in p["spec"].get("egress", [])]


def ingress_rules(bundle: Synthesized, namespace: str) -> list[dict[str, Any]]:
    return [rule for p in in_namespace(bundle, namespace, "NetworkPolicy") for rule in p["spec"].get("ingress", [])]


def ip_blocks(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [peer["ipBlock"] for rule in rules for peer in rule.get("to", rule.get("from", [])) if "ipBlock" in peer]


def reachable(block: dict[str, Any], address: str) -> bool:
    """Whether an ipBlock admits ``address`` (inside cidr and outside every except)."""
    ip = ipaddress.ip_address(address)
    cidr = ipaddress.ip_network(block["cidr"])
    if ip.version != cidr.version or ip not in cidr:
        return False
    return not any(ip in ipaddress.ip_network(e) for e in block.get("except", []))


def peer_summary(rule: dict[str, Any]) -> list[tuple]:
    """A rule as comparable tuples: (namespace, pod labels, cidr, ports)."""
    ports = tuple(sorted((p.get("protocol", "TCP"), p.get("port", "*")) for p in rule.get("ports", [])))
    peers = []
    for peer in rule.get("to", rule.get("from", [])):
        if "ipBlock" in peer:
            peers.append(("ipBlock", peer["ipBlock"]["cidr"], tuple(peer["ipBlock"].get("except", [])), ports))
        else:
            ns = peer.get("namespaceSelector", {}).get("matchLabels", {})
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            peers.append((tuple(sorted(ns.items())), tuple(sorted(pods.items())), ports))
    return peers


def synth_variant(tmp_path: Path, stack: str, edit, files: dict[str, str] | None = None) -> Synthesized:
    """Synthesize ``stack`` after ``edit(config_dict)``; ``files`` overwrite project files."""
    document = stack_document(stack)
    edit(document["config"])
    project = make_project(tmp_path, {stack: document})
    for relative, text in (files or {}).items():
        (project / relative).write_text(text)
    return synthesize(project, stack, tmp_path / "bundle")


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
