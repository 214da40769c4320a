"""Kubernetes: NetworkPolicy peers and ports, pod security fields, image pinning, secret
references, Pod Security labels and the sandbox role of namespaces, token automount."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from airlock.diff.model import Classified, Effect
from policy.kube import containers, pod_spec
from policy.model import Resource

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
PSS_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
Entry = tuple[str, str, str]


def _policy_entries(obj: dict[str, Any] | None) -> set[Entry]:
    spec = (obj or {}).get("spec") or {}
    selector = json.dumps(spec.get("podSelector"), sort_keys=True)
    found: set[Entry] = set()
    for direction, peer_key in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            peers = [json.dumps(p, sort_keys=True) for p in (rule or {}).get(peer_key) or []] or ["any peer"]
            ports = [json.dumps(p, sort_keys=True) for p in (rule or {}).get("ports") or []] or ["any port"]
            for peer in peers:
                for port in ports:
                    found.add((f"{direction} for pods {selector}", peer, port))
    return found


def _is_deny_all(obj: dict[str, Any] | None) -> set[str]:
    spec = (obj or {}).get("spec") or {}
    if obj and spec.get("podSelector") == {} and not spec.get("ingress") and not spec.get("egress"):
        return set(spec.get("policyTypes") or ["Ingress"])
    return set()


def classify_network_policy(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Classified]:
    before, after = _policy_entries(old), _policy_entries(new)
    found = [Classified("spec", "broadening", "network-policy", f"{d}: now allows {peer} on {port}") for d, peer, port in sorted(after - before)]
    found += [Classified("spec", "narrowing", "network-policy", f"{d}: no longer allows {peer} on {port}") for d, peer, port in sorted(before - after)]
    for direction in sorted(_is_deny_all(old) - _is_deny_all(new)):
        found.append(Classified("spec", "broadening", "network-policy", f"default deny of {direction} removed"))
    for direction in sorted(_is_deny_all(new) - _is_deny_all(old)):
        found.append(Classified("spec", "narrowing", "network-policy", f"default deny of {direction} added"))
    return found


# Container securityContext fields: a predicate saying whether a value is the safe one.
CONTAINER_FIELDS: dict[str, Callable[[Any], bool]] = {
    "privileged": lambda v: v is not True,
    "allowPrivilegeEscalation": lambda v: v is False,
    "readOnlyRootFilesystem": lambda v: v is True,
    "runAsNonRoot": lambda v: v is True,
    "runAsUser": lambda v: v != 0,
    "seccompProfile": lambda v: (v or {}).get("type") in ("RuntimeDefault", "Localhost"),
}
POD_FIELDS: dict[str, Callable[[Any], bool]] = {
    "hostNetwork": lambda v: v is not True,
    "hostPID": lambda v: v is not True,
    "hostIPC": lambda v: v is not True,
    "automountServiceAccountToken": lambda v: v is False,
}


def _field_change(path: str, label: str, before: Any, after: Any, safe: Callable[[Any], bool], area: str) -> list[Classified]:
    if before == after:
        return []
    if safe(before) and not safe(after):
        return [Classified(path, "broadening", area, f"{label}: {before!r} -> {after!r}")]
    if safe(after) and not safe(before):
        return [Classified(path, "narrowing", area, f"{label}: {before!r} -> {after!r}")]
    return []


def _containers(resource: Resource) -> dict[str, tuple[dict[str, Any], str]]:
    found = pod_spec(resource)
    return {str(c.get("name")): (c, path) for c, path in containers(found[0], found[1])} if found else {}


def _secret_refs(spec: dict[str, Any]) -> set[str]:
    refs: set[str] = set()
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict) and "secret" in volume:
            refs.add(str((volume["secret"] or {}).get("secretName")))
    for container, _ in containers(spec, ""):
        for env in container.get("env") or []:
            ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                refs.add(f"{ref.get('name')}/{ref.get('key')}")
        for source in container.get("envFrom") or []:
            if (source or {}).get("secretRef"):
                refs.add(str(source["secretRef"].get("name")))
    return refs


def classify_workload(old: Resource, new: Resource) -> list[Classified]:
    old_spec, new_spec = pod_spec(old), pod_spec(new)
    if old_spec is None or new_spec is None:
        return []
    (before, base), (after, _) = old_spec, new_spec
    found: list[Classified] = []
    for field, safe in POD_FIELDS.items():
        found += _field_change(f"{base}.{field}", field, before.get(field), after.get(field), safe, "pod-security")
    old_paths = sum(1 for v in before.get("volumes") or [] if "hostPath" in (v or {}))
    new_paths = sum(1 for v in after.get("volumes") or [] if "hostPath" in (v or {}))
    if new_paths != old_paths:
        effect: Effect = "broadening" if new_paths > old_paths else "narrowing"
        found.append(Classified(f"{base}.volumes", effect, "pod-security", f"hostPath volumes: {old_paths} -> {new_paths}"))
    if before.get("runtimeClassName") != after.get("runtimeClassName"):
        effect = "broadening" if before.get("runtimeClassName") and not after.get("runtimeClassName") else "narrowing" if after.get("runtimeClassName") and not before.get("runtimeClassName") else "neutral"
        found.append(Classified(f"{base}.runtimeClassName", effect, "sandbox-isolation", f"runtime class {before.get('runtimeClassName')!r} -> {after.get('runtimeClassName')!r}"))
    for name in sorted(set(_secret_refs(after)) - _secret_refs(before)):
        found.append(Classified(base, "broadening", "secret-readers", f"pods now read secret {name}"))
    for name in sorted(_secret_refs(before) - set(_secret_refs(after))):
        found.append(Classified(base, "narrowing", "secret-readers", f"pods no longer read secret {name}"))
    old_containers, new_containers = _containers(old), _containers(new)
    for name, (container, path) in sorted(new_containers.items()):
        previous = old_containers.get(name, (None, ""))[0]
        if previous is None:
            continue
        for field, safe in CONTAINER_FIELDS.items():
            was = (previous.get("securityContext") or {}).get(field, (before.get("securityContext") or {}).get(field))
            now = (container.get("securityContext") or {}).get(field, (after.get("securityContext") or {}).get(field))
            found += _field_change(f"{path}.securityContext.{field}", f"container {name} {field}", was, now, safe, "pod-security")
        caps_before = (previous.get("securityContext") or {}).get("capabilities") or {}
        caps_after = (container.get("securityContext") or {}).get("capabilities") or {}
        for cap in sorted(set(caps_after.get("add") or []) - set(caps_before.get("add") or [])):
            found.append(Classified(f"{path}.securityContext.capabilities.add", "broadening", "pod-security", f"container {name} adds {cap}"))
        for cap in sorted(set(caps_before.get("drop") or []) - set(caps_after.get("drop") or [])):
            found.append(Classified(f"{path}.securityContext.capabilities.drop", "broadening", "pod-security", f"container {name} no longer drops {cap}"))
        was_pinned, is_pinned = bool(DIGEST.search(str(previous.get("image", "")))), bool(DIGEST.search(str(container.get("image", ""))))
        if was_pinned and not is_pinned:
            found.append(Classified(f"{path}.image", "broadening", "image-pinning", f"container {name} image no longer pinned by digest: {container.get('image')}"))
        elif is_pinned and not was_pinned:
            found.append(Classified(f"{path}.image", "narrowing", "image-pinning", f"container {name} image now pinned by digest"))
    return found


def classify_namespace(old: Resource, new: Resource) -> list[Classified]:
    before, after = old.metadata.get("labels") or {}, new.metadata.get("labels") or {}
    found: list[Classified] = []
    for mode in ("enforce", "warn", "audit"):
        key = f"pod-security.kubernetes.io/{mode}"
        a, b = PSS_RANK.get(before.get(key, ""), -1), PSS_RANK.get(after.get(key, ""), -1)
        if a != b:
            found.append(Classified(f"metadata.labels.{key}", "broadening" if b < a else "narrowing", "sandbox-isolation" if before.get("airlock.dev/role") == "sandbox" else "pod-security", f"Pod Security {mode}: {before.get(key)!r} -> {after.get(key)!r}"))
    if before.get("airlock.dev/role") == "sandbox" and after.get("airlock.dev/role") != "sandbox":
        found.append(Classified("metadata.labels.airlock.dev/role", "broadening", "sandbox-isolation", "namespace no longer marked as a sandbox"))
    return found


def classify_service_account(old: Resource, new: Resource) -> list[Classified]:
    return _field_change("automountServiceAccountToken", "automountServiceAccountToken", old.inputs.get("automountServiceAccountToken"), new.inputs.get("automountServiceAccountToken"), lambda v: v is False, "pod-security")
