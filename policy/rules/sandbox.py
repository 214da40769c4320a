"""Sandbox isolation: the nine-point checklist for namespaces labelled airlock.dev/role=sandbox.

See ../shared/REFERENCE.md ("A sandbox namespace that is actually deny-by-default") and
docs/sandboxes.md: each rule below names the checklist point it enforces.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Iterator

from policy.bundle import AuditBundle
from policy.kube import containers, pod_spec
from policy.model import Resource, Violation
from policy.rules.define import stack_rule

ROLE_LABEL = "airlock.dev/role"
SANDBOX = "sandbox"
POD_SECURITY_MODES = ("enforce", "warn", "audit")
METADATA_NETWORKS = [ipaddress.ip_network(n) for n in ("169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fd00:ec2::254/128")]
SECRET_KINDS = ("Secret", "ExternalSecret", "SecretProviderClass")
RBAC_KINDS = ("Role", "RoleBinding")
# An allowlisted CIDR names one internal service range, never a whole private network.
MIN_PREFIX = {4: 20, 6: 56}


def _within(inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """``inner.subnet_of(outer)``, False across IP versions (subnet_of raises there)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def sandbox_namespaces(bundle: AuditBundle) -> list[tuple[Resource, str]]:
    return [
        (ns, str(ns.metadata.get("name")))
        for ns in bundle.namespaces()
        if (ns.metadata.get("labels") or {}).get(ROLE_LABEL) == SANDBOX
    ]


def _egress_rules(bundle: AuditBundle, namespace: str) -> Iterator[tuple[Resource, str, dict[str, Any]]]:
    for policy in bundle.in_namespace(namespace, "NetworkPolicy"):
        for index, rule in enumerate((policy.inputs.get("spec") or {}).get("egress") or []):
            yield policy, f"spec.egress[{index}]", rule if isinstance(rule, dict) else {}


@stack_rule("AIRLOCK-SBX-001", "Sandbox namespaces enforce Pod Security 'restricted' (checklist 1)", "high",
            "The restricted profile makes the API server reject any sandbox pod that runs as root, escalates or keeps capabilities.")
def pod_security(bundle: AuditBundle) -> Iterator[Violation]:
    for ns, name in sandbox_namespaces(bundle):
        labels = ns.metadata.get("labels") or {}
        for mode in POD_SECURITY_MODES:
            key = f"pod-security.kubernetes.io/{mode}"
            if labels.get(key) != "restricted":
                yield Violation(ns, f"metadata.labels.{key}", f"{mode} is {labels.get(key)!r}, not 'restricted'")


@stack_rule("AIRLOCK-SBX-002", "Sandbox pods get no token, no host access and bounded resources (checklist 2)", "high",
            "Sandboxed code is untrusted: no service-account token, no host namespaces or paths, a read-only root and CPU, memory and ephemeral-storage limits.")
def sandbox_pods(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for workload in bundle.in_namespace(name):
            found = pod_spec(workload)
            if found is None:
                continue
            spec, base = found
            if spec.get("automountServiceAccountToken") is not False:
                yield Violation(workload, f"{base}.automountServiceAccountToken", "sandbox pod mounts a service-account token")
            for field in ("hostNetwork", "hostPID", "hostIPC"):
                if spec.get(field) is True:
                    yield Violation(workload, f"{base}.{field}", f"sandbox pod sets {field}")
            for index, volume in enumerate(spec.get("volumes") or []):
                if isinstance(volume, dict) and "hostPath" in volume:
                    yield Violation(workload, f"{base}.volumes[{index}]", "sandbox pod mounts a host path")
            for container, path in containers(spec, base):
                if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
                    yield Violation(workload, f"{path}.securityContext.readOnlyRootFilesystem", "sandbox container has a writable root")
                limits = (container.get("resources") or {}).get("limits") or {}
                missing = [r for r in ("cpu", "memory", "ephemeral-storage") if r not in limits]
                if missing:
                    yield Violation(workload, f"{path}.resources.limits", f"sandbox container has no {', '.join(missing)} limit")


@stack_rule("AIRLOCK-SBX-003", "Sandbox namespaces have a ResourceQuota and a LimitRange (checklist 2)", "medium",
            "Quota and default limits bound what all sandboxes together can take, including pods created without limits.")
def quota(bundle: AuditBundle) -> Iterator[Violation]:
    for ns, name in sandbox_namespaces(bundle):
        for kind in ("ResourceQuota", "LimitRange"):
            if not bundle.in_namespace(name, kind):
                yield Violation(ns, "", f"no {kind} in sandbox namespace {name}")


@stack_rule("AIRLOCK-SBX-004", "Sandbox namespaces deny all ingress and egress by default (checklist 3)", "high",
            "A policy selecting every pod with both policy types and no rules is the floor every allow rule adds to.")
def default_deny(bundle: AuditBundle) -> Iterator[Violation]:
    for ns, name in sandbox_namespaces(bundle):
        types: set[str] = set()
        for policy in bundle.in_namespace(name, "NetworkPolicy"):
            spec = policy.inputs.get("spec") or {}
            if spec.get("podSelector") == {} and not spec.get("ingress") and not spec.get("egress"):
                types.update(spec.get("policyTypes") or ["Ingress"])
        missing = sorted({"Ingress", "Egress"} - types)
        if missing:
            yield Violation(ns, "", f"no default-deny NetworkPolicy for {' and '.join(missing)}")


def _is_cluster_dns(peer: dict[str, Any]) -> bool:
    namespace = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get("kubernetes.io/metadata.name")
    pods = (peer.get("podSelector") or {}).get("matchLabels") or {}
    if namespace == "kube-system" and pods.get("k8s-app") == "kube-dns":
        return True
    # NodeLocal DNSCache (169.254.20.10) or an in-VPC resolver: one private or link-local host.
    block = peer.get("ipBlock") or {}
    try:
        network = ipaddress.ip_network(str(block.get("cidr", "")), strict=False)
    except ValueError:
        return False
    return network.num_addresses == 1 and (network.is_private or network.is_link_local)


@stack_rule("AIRLOCK-SBX-005", "Sandbox DNS goes only to the cluster resolver (checklist 4)", "high",
            "Port 53 to anywhere is a tunnel: DNS queries carry data out. Allow it only to kube-dns (or a NodeLocal DNSCache /32).")
def dns_only_to_resolver(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for policy, path, rule in _egress_rules(bundle, name):
            if not any(str(p.get("port")) == "53" for p in rule.get("ports") or []):
                continue
            peers = rule.get("to") or []
            if not peers:
                yield Violation(policy, f"{path}.to", "DNS allowed to any destination")
            for index, peer in enumerate(peers):
                if not _is_cluster_dns(peer):
                    yield Violation(policy, f"{path}.to[{index}]", "DNS allowed to a peer other than the cluster resolver")


@stack_rule("AIRLOCK-SBX-006", "Sandbox egress names its peers; no open or CIDR-wide egress (checklist 5)", "high",
            "Egress goes by name through the egress proxy. A rule with no 'to', an ipBlock with public addresses, or a whole private network (wider than /20) reaches the internet or the VPC.")
def egress_by_name(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for policy, path, rule in _egress_rules(bundle, name):
            peers = rule.get("to")
            if not peers:
                yield Violation(policy, f"{path}.to", "egress to every destination")
                continue
            for index, peer in enumerate(peers):
                cidr = (peer.get("ipBlock") or {}).get("cidr")
                if cidr is None:
                    if peer.get("namespaceSelector") == {} and not peer.get("podSelector"):
                        yield Violation(policy, f"{path}.to[{index}]", "egress to every namespace")
                    continue
                try:
                    network = ipaddress.ip_network(str(cidr), strict=False)
                except ValueError:
                    yield Violation(policy, f"{path}.to[{index}].ipBlock.cidr", f"unparseable CIDR {cidr!r}")
                    continue
                if not network.is_private:
                    yield Violation(policy, f"{path}.to[{index}].ipBlock.cidr", f"egress to public addresses ({cidr})")
                elif network.prefixlen < MIN_PREFIX[network.version]:
                    yield Violation(policy, f"{path}.to[{index}].ipBlock.cidr", f"egress to the whole range {cidr} (narrower than /{MIN_PREFIX[network.version]} expected)")


@stack_rule("AIRLOCK-SBX-007", "Sandbox egress cannot reach metadata, link-local or CGNAT addresses (checklist 5, 6)", "high",
            "169.254.169.254 hands out node credentials; link-local, loopback and CGNAT ranges reach node-local services.")
def no_metadata(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for policy, path, rule in _egress_rules(bundle, name):
            for index, peer in enumerate(rule.get("to") or []):
                block = peer.get("ipBlock")
                if not block:
                    continue
                try:
                    network = ipaddress.ip_network(str(block.get("cidr")), strict=False)
                    excepted = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
                except ValueError:
                    continue
                for blocked in METADATA_NETWORKS:
                    if blocked.version != network.version or not network.overlaps(blocked):
                        continue
                    if any(_within(blocked, e) for e in excepted):
                        continue
                    if network.prefixlen == 32 and str(network.network_address) == "169.254.20.10":
                        continue  # NodeLocal DNSCache, allowed only as its own /32
                    yield Violation(policy, f"{path}.to[{index}].ipBlock", f"{network} reaches {blocked} (not excepted)")


@stack_rule("AIRLOCK-SBX-008", "Sandbox service accounts carry no token and no RBAC (checklist 7)", "high",
            "No route or token to the kube-apiserver: sandbox service accounts disable token automount and no Role or RoleBinding exists in the namespace.")
def no_api_access(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for account in bundle.in_namespace(name, "ServiceAccount"):
            if account.inputs.get("automountServiceAccountToken") is not False:
                yield Violation(account, "automountServiceAccountToken", "sandbox service account automounts its token")
        for binding in bundle.in_namespace(name, *RBAC_KINDS):
            yield Violation(binding, "", f"{binding.kind} in sandbox namespace {name}")
        for binding in bundle.kubernetes("ClusterRoleBinding"):
            for index, subject in enumerate(binding.inputs.get("subjects") or []):
                if subject.get("namespace") == name:
                    yield Violation(binding, f"subjects[{index}]", f"binds a cluster role to a subject in sandbox namespace {name}")


@stack_rule("AIRLOCK-SBX-009", "NetworkPolicy is enforced by the cluster's CNI (checklist 8)", "high",
            "Without an enforcing CNI, every NetworkPolicy is accepted and silently ignored. On EKS the VPC CNI add-on must run with enableNetworkPolicy.")
def policies_enforced(bundle: AuditBundle) -> Iterator[Violation]:
    if not sandbox_namespaces(bundle):
        return
    for cluster in bundle.of_type("aws:eks/cluster:Cluster"):
        addons = [a for a in bundle.of_type("aws:eks/addon:Addon") if a.inputs.get("addonName") == "vpc-cni"]
        if not addons:
            yield Violation(cluster, "", "no vpc-cni add-on with network policy enforcement")
        for addon in addons:
            try:
                values = json.loads(addon.inputs.get("configurationValues") or "{}")
            except json.JSONDecodeError:
                values = {}
            if str(values.get("enableNetworkPolicy")).lower() != "true":
                yield Violation(addon, "configurationValues.enableNetworkPolicy", "the VPC CNI does not enforce NetworkPolicy")


@stack_rule("AIRLOCK-SBX-010", "No Secrets in sandbox namespaces (checklist 9)", "high",
            "Anything secret in a sandbox namespace is one API call or volume mount away from untrusted code; the credential broker lives outside.")
def no_secrets(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for secret in bundle.in_namespace(name, *SECRET_KINDS):
            yield Violation(secret, "", f"{secret.kind} in sandbox namespace {name}")
        for workload in bundle.in_namespace(name):
            found = pod_spec(workload)
            if found is None:
                continue
            spec, base = found
            for index, volume in enumerate(spec.get("volumes") or []):
                if isinstance(volume, dict) and ("secret" in volume or "csi" in volume):
                    yield Violation(workload, f"{base}.volumes[{index}]", "sandbox pod mounts a secret volume")
            for container, path in containers(spec, base):
                for index, env in enumerate(container.get("env") or []):
                    if isinstance(env, dict) and "secretKeyRef" in (env.get("valueFrom") or {}):
                        yield Violation(workload, f"{path}.env[{index}]", "sandbox container reads a Secret")


@stack_rule("AIRLOCK-SBX-011", "Sandbox ingress comes only from named peers (checklist 3)", "high",
            "Every extra policy widens access; an ingress rule without a peer, or from every namespace, lets any pod drive the sandbox executor.")
def ingress_named(bundle: AuditBundle) -> Iterator[Violation]:
    for _, name in sandbox_namespaces(bundle):
        for policy in bundle.in_namespace(name, "NetworkPolicy"):
            for index, rule in enumerate((policy.inputs.get("spec") or {}).get("ingress") or []):
                peers = (rule or {}).get("from")
                if not peers:
                    yield Violation(policy, f"spec.ingress[{index}].from", "ingress from every source")
                    continue
                for peer_index, peer in enumerate(peers):
                    if "ipBlock" in peer or (peer.get("namespaceSelector") == {} and not peer.get("podSelector")):
                        yield Violation(policy, f"spec.ingress[{index}].from[{peer_index}]", "ingress from an address range or every namespace")
