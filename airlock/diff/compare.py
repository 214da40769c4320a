"""Two bundles -> resource changes with property paths and classified effects."""

from __future__ import annotations

from airlock.diff import classify_iam, classify_kube, classify_network
from airlock.diff.classify_agent import classify_config_text
from airlock.diff.model import EFFECT_RANK, Action, Classified, Effect, PathChange, ResourceChange
from airlock.diff.properties import leaf_changes, summarize
from policy.bundle import AuditBundle
from policy.kube import pod_spec
from policy.model import Resource

SECRET_TYPES = ("kubernetes:core/v1:Secret", "aws:secretsmanager/secretVersion:SecretVersion", "random:index/randomPassword:RandomPassword")


def _classify(old: Resource | None, new: Resource | None) -> list[Classified]:
    some = new or old
    assert some is not None
    found = classify_iam.classify(some.type, old.inputs if old else None, new.inputs if new else None)
    found += classify_network.classify_security_groups(some.type, old.inputs if old else None, new.inputs if new else None)
    if some.type == "aws:eks/cluster:Cluster":
        found += classify_network.classify_public_api(old.inputs if old else None, new.inputs if new else None)
    if some.is_kubernetes:
        if some.kind == "NetworkPolicy":
            found += classify_kube.classify_network_policy(old.inputs if old else None, new.inputs if new else None)
        if old is None or new is None:
            return found
        if pod_spec(some) is not None:
            found += classify_kube.classify_workload(old, new)
        elif some.kind == "Namespace":
            found += classify_kube.classify_namespace(old, new)
        elif some.kind == "ServiceAccount":
            found += classify_kube.classify_service_account(old, new)
        elif some.kind == "ConfigMap":
            old_data, new_data = old.inputs.get("data") or {}, new.inputs.get("data") or {}
            for key in sorted(set(old_data) & set(new_data)):
                if old_data[key] != new_data[key]:
                    found += classify_config_text(f"data.{key}", old_data[key], new_data[key]) or []
    return found


def _related(effect_path: str, path: str) -> bool:
    effect_path = effect_path.split(":", 1)[0]
    return path == effect_path or path.startswith(effect_path + ".") or path.startswith(effect_path + "[") or effect_path.startswith(path)


def _path_changes(old: Resource, new: Resource, effects: list[Classified]) -> list[PathChange]:
    secret = new.type in SECRET_TYPES
    changes: list[PathChange] = []
    for path, before, after in leaf_changes(old.inputs, new.inputs):
        related = [e.effect for e in effects if _related(e.path, path)]
        effect: Effect = max(related, key=EFFECT_RANK.__getitem__, default="neutral")
        changes.append(PathChange(path, effect, summarize(before, after, secret)))
    return changes


def compare(base: AuditBundle, head: AuditBundle) -> list[ResourceChange]:
    before = {r.key: r for r in base.resources}
    after = {r.key: r for r in head.resources}
    changes: list[ResourceChange] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        some = new or old
        assert some is not None
        if old is not None and new is not None and old.inputs == new.inputs:
            continue
        action: Action = "added" if old is None else "removed" if new is None else "changed"
        effects = sorted(set(_classify(old, new)))
        change = ResourceChange(key, some.label, some.type, action, effects=effects)
        if old is not None and new is not None:
            change.paths = _path_changes(old, new, effects)
        changes.append(change)
    return changes
