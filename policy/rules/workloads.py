"""Every Kubernetes workload: pod security, images, limits, service-account tokens, RBAC."""

from __future__ import annotations

import re
from typing import Callable, Iterator

from policy.bundle import AuditBundle
from policy.kube import WORKLOAD_TYPES, containers, effective, pod_labels, pod_spec, selects
from policy.model import Problem, Resource, ResourceCheck, Severity, Violation
from policy.rules.define import resource_rule, stack_rule

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ALLOWED_CAPABILITIES = ("NET_BIND_SERVICE",)
RBAC_TYPES = (
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
)
SECRET_ENV_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIALS?)$", re.IGNORECASE)


def _each_container(resource: Resource) -> Iterator[tuple[dict, dict, str]]:
    found = pod_spec(resource)
    if found is None:
        return
    spec, base = found
    for container, path in containers(spec, base):
        yield spec, container, path


def workload_rule(id: str, title: str, severity: Severity, rationale: str, checkov: tuple[str, ...] = ()) -> Callable[[ResourceCheck], ResourceCheck]:
    return resource_rule(id, title, severity, rationale, WORKLOAD_TYPES, checkov=checkov)


@workload_rule("AIRLOCK-K8S-001", "No privileged containers", "high",
               "A privileged container is root on the node: every isolation the platform builds is void.", ("CKV_K8S_16",))
def not_privileged(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        if (container.get("securityContext") or {}).get("privileged") is True:
            yield Problem(f"{path}.securityContext.privileged", f"container {container.get('name')} is privileged")


@workload_rule("AIRLOCK-K8S-002", "Containers cannot escalate privileges", "high",
               "allowPrivilegeEscalation defaults to true: setuid binaries can regain what was dropped.", ("CKV_K8S_20",))
def no_escalation(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        if (container.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
            yield Problem(f"{path}.securityContext.allowPrivilegeEscalation", f"container {container.get('name')} may escalate privileges")


@workload_rule("AIRLOCK-K8S-003", "Root filesystems are read-only", "medium",
               "A writable root filesystem lets an attacker persist tools and modify binaries; write to emptyDir mounts instead.", ("CKV_K8S_22",))
def read_only_root(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
            yield Problem(f"{path}.securityContext.readOnlyRootFilesystem", f"container {container.get('name')} has a writable root filesystem")


@workload_rule("AIRLOCK-K8S-004", "Containers run as a non-root user", "high",
               "Root in a container is one kernel bug away from root on the node.", ("CKV_K8S_23",))
def non_root(resource: Resource) -> Iterator[Problem]:
    for spec, container, path in _each_container(resource):
        if effective(container, spec, "runAsUser") == 0:
            yield Problem(f"{path}.securityContext.runAsUser", f"container {container.get('name')} runs as UID 0")
        elif effective(container, spec, "runAsNonRoot") is not True:
            yield Problem(f"{path}.securityContext.runAsNonRoot", f"container {container.get('name')} may run as root (runAsNonRoot not true)")


@workload_rule("AIRLOCK-K8S-005", "Containers drop all capabilities", "medium",
               "Default capabilities include NET_RAW (spoofing, ARP poisoning) and others no Airlock workload needs.", ("CKV_K8S_28", "CKV_K8S_37"))
def capabilities(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        caps = (container.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield Problem(f"{path}.securityContext.capabilities.drop", f"container {container.get('name')} does not drop ALL capabilities")
        added = [c for c in caps.get("add") or [] if c not in ALLOWED_CAPABILITIES]
        if added:
            yield Problem(f"{path}.securityContext.capabilities.add", f"container {container.get('name')} adds {', '.join(added)}")


@workload_rule("AIRLOCK-K8S-006", "Containers use the RuntimeDefault seccomp profile", "medium",
               "Without seccomp every syscall is available, including the ones most container escapes use.", ("CKV_K8S_31",))
def seccomp(resource: Resource) -> Iterator[Problem]:
    for spec, container, path in _each_container(resource):
        profile = effective(container, spec, "seccompProfile") or {}
        if profile.get("type") not in ("RuntimeDefault", "Localhost"):
            yield Problem(f"{path}.securityContext.seccompProfile", f"container {container.get('name')} runs unconfined")


@workload_rule("AIRLOCK-K8S-007", "Images are pinned by digest", "medium",
               "A tag can be moved to different content; only a digest guarantees the reviewed image is the one that runs.", ("CKV_K8S_43",))
def digest(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        image = str(container.get("image", ""))
        if not DIGEST.search(image):
            yield Problem(f"{path}.image", f"image {image} is not pinned by digest")


@workload_rule("AIRLOCK-K8S-008", "Images name a tag other than latest", "medium",
               "An untagged or ':latest' image changes under a running stack and cannot be reviewed or rolled back.", ("CKV_K8S_14",))
def not_latest(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        image = str(container.get("image", ""))
        if DIGEST.search(image):
            continue
        name = image.rsplit("/", 1)[-1]
        if ":" not in name or name.endswith(":latest"):
            yield Problem(f"{path}.image", f"image {image} is untagged or :latest")


@workload_rule("AIRLOCK-K8S-009", "Containers set CPU and memory limits", "medium",
               "Without limits one runaway agent task or model server starves everything else on the node.", ("CKV_K8S_11", "CKV_K8S_13"))
def limits(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        set_limits = ((container.get("resources") or {}).get("limits") or {})
        missing = [r for r in ("cpu", "memory") if r not in set_limits]
        if missing:
            yield Problem(f"{path}.resources.limits", f"container {container.get('name')} has no {' or '.join(missing)} limit")


@workload_rule("AIRLOCK-K8S-010", "Pods do not mount a service-account token", "medium",
               "A mounted token is a credential for the Kubernetes API in every compromised pod; IRSA works without it.", ("CKV_K8S_38",))
def no_token(resource: Resource) -> Iterator[Problem]:
    found = pod_spec(resource)
    if found and found[0].get("automountServiceAccountToken") is not False:
        yield Problem(f"{found[1]}.automountServiceAccountToken", "the pod mounts a service-account token")


@workload_rule("AIRLOCK-K8S-011", "Pods do not use the default service account", "low",
               "The default service account is shared by everything in the namespace; bindings to it reach every pod.", ("CKV_K8S_41",))
def own_service_account(resource: Resource) -> Iterator[Problem]:
    found = pod_spec(resource)
    if found and found[0].get("serviceAccountName", "default") == "default":
        yield Problem(f"{found[1]}.serviceAccountName", "runs as the namespace's default service account")


@workload_rule("AIRLOCK-K8S-012", "Pods do not share the node's namespaces", "high",
               "hostNetwork, hostPID and hostIPC let a pod see and reach everything on the node, bypassing NetworkPolicy.", ("CKV_K8S_19", "CKV_K8S_17", "CKV_K8S_18"))
def host_namespaces(resource: Resource) -> Iterator[Problem]:
    found = pod_spec(resource)
    if found:
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if found[0].get(field) is True:
                yield Problem(f"{found[1]}.{field}", f"{field} is true")


@workload_rule("AIRLOCK-K8S-013", "Pods mount no host paths", "high",
               "A hostPath volume reads or writes the node's filesystem: kubelet credentials, other pods' data, the container runtime socket.")
def no_host_path(resource: Resource) -> Iterator[Problem]:
    found = pod_spec(resource)
    if found:
        for index, volume in enumerate(found[0].get("volumes") or []):
            if isinstance(volume, dict) and "hostPath" in volume:
                yield Problem(f"{found[1]}.volumes[{index}].hostPath", f"mounts host path {(volume['hostPath'] or {}).get('path')}")


@resource_rule("AIRLOCK-K8S-014", "Objects are not placed in the default namespace", "low",
               "The default namespace has no Pod Security labels and no NetworkPolicies; everything Airlock runs has its own namespace.",
               ["kubernetes:*"], checkov=("CKV_K8S_21",))
def not_default_namespace(resource: Resource) -> Iterator[Problem]:
    if resource.is_kubernetes and resource.namespace == "default":
        yield Problem("metadata.namespace", "in the default namespace")


@resource_rule("AIRLOCK-K8S-015", "RBAC rules grant no wildcards", "high",
               "'*' verbs or resources grant everything the API has, now and in future versions.", RBAC_TYPES, checkov=("CKV_K8S_49",))
def rbac_wildcards(resource: Resource) -> Iterator[Problem]:
    for index, rule in enumerate(resource.inputs.get("rules") or []):
        for field in ("verbs", "resources", "apiGroups"):
            if field != "apiGroups" and "*" in (rule.get(field) or []):
                yield Problem(f"rules[{index}].{field}", f"grants '*' {field}")


@workload_rule("AIRLOCK-K8S-016", "No credentials as literal environment values", "high",
               "A literal env value is stored in the Deployment spec, readable by anyone who can read it; use a Secret reference.")
def no_literal_credentials(resource: Resource) -> Iterator[Problem]:
    for _, container, path in _each_container(resource):
        for index, env in enumerate(container.get("env") or []):
            if isinstance(env, dict) and SECRET_ENV_NAME.search(str(env.get("name", ""))) and env.get("value"):
                yield Problem(f"{path}.env[{index}].value", f"{env.get('name')} is set as a literal value")


@resource_rule("AIRLOCK-K8S-017", "Services are not exposed outside the cluster", "medium",
               "LoadBalancer and NodePort services put an Airlock component on a network outside the cluster's policies.",
               ["kubernetes:core/v1:Service"])
def no_external_services(resource: Resource) -> Iterator[Problem]:
    kind = (resource.inputs.get("spec") or {}).get("type", "ClusterIP")
    if kind in ("LoadBalancer", "NodePort"):
        yield Problem("spec.type", f"service type {kind}")


def _policies(bundle: AuditBundle, namespace: str) -> list[Resource]:
    return bundle.in_namespace(namespace, "NetworkPolicy")


def _types(policy: Resource) -> list[str]:
    spec = policy.inputs.get("spec") or {}
    declared = spec.get("policyTypes")
    if declared:
        return list(declared)
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


@stack_rule("AIRLOCK-K8S-018", "Every pod is covered by NetworkPolicy for ingress and egress", "high",
            "A pod no policy selects accepts connections from, and opens connections to, anything in the cluster and beyond.",
            checkov=("CKV2_K8S_6",))
def network_policy_coverage(bundle: AuditBundle) -> Iterator[Violation]:
    for workload in bundle.kubernetes():
        if pod_spec(workload) is None:
            continue
        labels = pod_labels(workload)
        covered: set[str] = set()
        for policy in _policies(bundle, workload.namespace or "default"):
            if selects((policy.inputs.get("spec") or {}).get("podSelector"), labels):
                covered.update(_types(policy))
        missing = [t for t in ("Ingress", "Egress") if t not in covered]
        if missing:
            yield Violation(workload, "spec.template.metadata.labels", f"no NetworkPolicy selects these pods for {' and '.join(missing)}")


@stack_rule("AIRLOCK-K8S-019", "Every namespace with workloads has a default-deny NetworkPolicy", "medium",
            "Policies are a union: without a default deny, a pod added later without its own policy is open.")
def default_deny(bundle: AuditBundle) -> Iterator[Violation]:
    namespaces = sorted({w.namespace or "default" for w in bundle.kubernetes() if pod_spec(w) is not None})
    for namespace in namespaces:
        denies = [
            p for p in _policies(bundle, namespace)
            if (p.inputs.get("spec") or {}).get("podSelector") == {}
            and not (p.inputs.get("spec") or {}).get("ingress")
            and not (p.inputs.get("spec") or {}).get("egress")
        ]
        types = {t for p in denies for t in _types(p)}
        if not {"Ingress", "Egress"} <= types:
            target = next((n for n in bundle.namespaces() if n.metadata.get("name") == namespace), None)
            target = target or next(w for w in bundle.kubernetes() if (w.namespace or "default") == namespace and pod_spec(w))
            yield Violation(target, "", f"namespace {namespace} has no default-deny policy for {' and '.join(sorted({'Ingress', 'Egress'} - types))}")
