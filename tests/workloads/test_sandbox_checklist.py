"""REFERENCE.md's sandbox checklist, point by point, on the synthesized manifests.

Each test is named after the checklist point it proves. Points only a live cluster can
show (a CNI actually enforcing, IMDSv2 hop limit on nodes) are covered as far as the
manifests and config go; docs/sandboxes.md has the live probe.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from support import PROJECT_DIR, make_project, run_cli, shipped, stack_document
from workload_manifests import (
    containers,
    egress_rules,
    env_of,
    get,
    in_namespace,
    ingress_rules,
    ip_blocks,
    kinds,
    pod_spec,
    reachable,
    synth_variant,
)

SANDBOXES = [
    ("prod", "airlock-sbx-default"),
    ("prod", "airlock-sbx-data"),
    ("airgap", "airlock-sbx-default"),
    ("onprem", "airlock-sbx-default"),
]
FORBIDDEN = ["169.254.169.254", "169.254.0.1", "100.64.0.1", "127.0.0.1", "fd00:ec2::254", "fe80::1", "::1"]


def executor(stack: str, namespace: str) -> dict:
    return get(shipped(stack), "Deployment", namespace, "sandbox-executor")


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_1_pod_security_restricted_and_read_only_root(stack: str, namespace: str) -> None:
    ns = get(shipped(stack), "Namespace", None, namespace)["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert ns[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    spec = pod_spec(executor(stack, namespace))
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    # Writable paths are emptyDirs, /tmp among them.
    volumes = {v["name"]: v for v in spec["volumes"]}
    writable = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert "/tmp" in writable and all("emptyDir" in v for v in writable.values())


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_2_no_token_no_host_access_limits_quota_and_limit_range(stack: str, namespace: str) -> None:
    bundle = shipped(stack)
    spec = pod_spec(executor(stack, namespace))
    assert spec["automountServiceAccountToken"] is False
    account = get(bundle, "ServiceAccount", namespace, spec["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in v for v in spec["volumes"])
    limits = spec["containers"][0]["resources"]["limits"]
    assert {"cpu", "memory", "ephemeral-storage"} <= set(limits)
    (quota,) = in_namespace(bundle, namespace, "ResourceQuota")
    assert {"pods", "limits.cpu", "limits.memory", "limits.ephemeral-storage"} <= set(quota["spec"]["hard"])
    (limit_range,) = in_namespace(bundle, namespace, "LimitRange")
    container_limits = next(item for item in limit_range["spec"]["limits"] if item["type"] == "Container")
    assert container_limits["max"] == limits  # nothing in the namespace may exceed the executor's limits


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_3_default_deny_ingress_and_egress_for_all_pods(stack: str, namespace: str) -> None:
    policies = in_namespace(shipped(stack), namespace, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert len(deny) == 1, [p["metadata"]["name"] for p in policies]
    # Every other policy is a narrow allow; none admits "everything" in either direction.
    for policy in policies:
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            assert rule.get("from", rule.get("to")), f"{policy['metadata']['name']} has a rule with no peers (= anywhere)"


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_4_dns_only_to_the_cluster_resolver(stack: str, namespace: str) -> None:
    rules = egress_rules(shipped(stack), namespace)
    dns = [r for r in rules if any(p.get("port") == 53 for p in r.get("ports", []))]
    pool = next(s for s in stack_document(stack)["config"]["airlock:sandboxes"] if f"airlock-sbx-{s['name']}" == namespace)
    if not any(e[0].isdigit() for e in pool.get("egressAllowlist", [])):
        # Names only: the proxy resolves them and is reached by its Service IP, so DNS,
        # a channel out of its own, stays closed (tests/aws/test_first_deploy.py).
        assert dns == []
        return
    assert len(dns) == 1
    assert {(p["protocol"], p["port"]) for p in dns[0]["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns[0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    # No other rule opens UDP (DNS), and every rule names its ports/protocol: the only
    # port-less rule is TCP to the pool's own allowlisted CIDRs (checked in point 5).
    for rule in rules:
        if rule is not dns[0]:
            assert rule.get("ports"), "a rule without ports opens every port and protocol"
            assert all(p["protocol"] == "TCP" for p in rule["ports"])
            if any("port" not in p for p in rule["ports"]):
                assert all("ipBlock" in peer for peer in rule["to"])


def test_4_node_local_dns_gets_only_its_own_slash_32(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:cluster"]["dns"] = {"nodeLocalDnsIp": "169.254.20.10"}

    bundle = synth_variant(tmp_path, "onprem", edit)
    rules = egress_rules(bundle, "airlock-sbx-default")
    dns = next(r for r in rules if any(p.get("port") == 53 for p in r["ports"]))
    assert {"ipBlock": {"cidr": "169.254.20.10/32"}} in dns["to"]
    assert not any(reachable(b, "169.254.169.254") for b in ip_blocks(rules))


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_5_names_through_the_proxy_cidrs_never_the_internet(stack: str, namespace: str) -> None:
    bundle = shipped(stack)
    pool = namespace.removeprefix("airlock-sbx-")
    config = stack_document(stack)["config"]
    allowlist = next(s for s in config["airlock:sandboxes"] if s["name"] == pool).get("egressAllowlist", [])
    blocks = ip_blocks(egress_rules(bundle, namespace))
    cidrs = [e for e in allowlist if e[0].isdigit()]
    assert sorted(b["cidr"] for b in blocks) == sorted(cidrs)  # exactly the allowlisted CIDRs
    for block in blocks:
        assert ipaddress.ip_network(block["cidr"]).prefixlen >= 8  # never 0.0.0.0/0 "except RFC1918"
    names = [e for e in allowlist if not e[0].isdigit()]
    proxy_rules = [r for r in egress_rules(bundle, namespace)
                   if any(p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "airlock-egress"
                          for p in r["to"])]
    assert bool(proxy_rules) == bool(names)
    env = env_of(pod_spec(executor(stack, namespace))["containers"][0])
    if names:
        port = proxy_rules[0]["ports"][0]["port"]
        # The proxy Service's cluster IP (assigned by the cluster; a stand-in offline): no
        # name for the sandbox to resolve.
        assert env["HTTPS_PROXY"] == env["https_proxy"]
        host, _, proxy_port = env["HTTPS_PROXY"].removeprefix("http://").rpartition(":")
        assert ipaddress.ip_address(host) and proxy_port == str(port)
    else:
        assert "HTTPS_PROXY" not in env


def test_5_cidr_entries_carve_out_forbidden_ranges() -> None:
    # The config rules reject an entry that overlaps a forbidden range; the policy builder
    # still excepts them, as a second lock. Prove the builder on its own:
    from components.workloads.network_policies import never_reachable_within

    assert never_reachable_within("10.0.0.0/8") == []
    assert set(never_reachable_within("96.0.0.0/4")) == {"100.64.0.0/10"}
    assert "169.254.0.0/16" in never_reachable_within("160.0.0.0/3")
    assert "fd00:ec2::254/128" in never_reachable_within("fd00::/8")


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_6_instance_metadata_service_is_unreachable(stack: str, namespace: str) -> None:
    blocks = ip_blocks(egress_rules(shipped(stack), namespace))
    for address in FORBIDDEN:
        assert not any(reachable(b, address) for b in blocks), address


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_7_no_route_or_token_to_the_api_server(stack: str, namespace: str) -> None:
    bundle = shipped(stack)
    rules = egress_rules(bundle, namespace)
    for rule in rules:
        for peer in rule["to"]:
            ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            assert ns in ("kube-system", "airlock-egress", None), ns
            if ns == "kube-system":  # DNS pods only, never the whole namespace
                assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    # The API server's service address (first address of the service CIDR, often 10.96.0.1 or
    # 172.20.0.1) is not in any sandbox ipBlock of the shipped stacks.
    for address in ("10.96.0.1", "10.100.0.1", "172.20.0.1"):
        assert not any(reachable(b, address) for b in ip_blocks(rules)), address
    assert pod_spec(executor(stack, namespace))["automountServiceAccountToken"] is False
    assert not [m for m in in_namespace(bundle, namespace) if m["kind"] in ("Role", "RoleBinding")]


def test_8_policy_enforcement_is_declared_and_provable(tmp_path: Path) -> None:
    # On platform 'kubernetes' the stack must name the CNI that enforces the policies
    # (on aws it is the VPC CNI's network-policy agent); without it validation refuses.
    document = stack_document("onprem")
    del document["config"]["airlock:cluster"]["cni"]
    project = make_project(tmp_path, {"onprem": document})
    result = run_cli("validate", "onprem", cwd=project)
    assert result.returncode == 2
    assert "airlock:cluster.cni" in result.stderr and "silently ignored" in result.stderr
    # The canary that proves enforcement on a live cluster is documented and shipped.
    assert "examples/sandbox-probe-job.yaml" in (PROJECT_DIR / "docs" / "sandboxes.md").read_text()
    assert (PROJECT_DIR / "docs" / "examples" / "sandbox-probe-job.yaml").is_file()


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_9_no_secrets_or_secret_rbac_in_the_namespace(stack: str, namespace: str) -> None:
    bundle = shipped(stack)
    kinds = {m["kind"] for m in in_namespace(bundle, namespace)}
    assert not kinds & {"Secret", "ExternalSecret", "Role", "RoleBinding"}, kinds
    (quota,) = in_namespace(bundle, namespace, "ResourceQuota")
    assert quota["spec"]["hard"]["secrets"] == "0"  # enforced by admission, not just absent
    for workload, container in containers(bundle):
        if workload["metadata"].get("namespace") == namespace:
            for value in env_of(container).values():
                assert not (isinstance(value, dict) and "secretKeyRef" in value)


@pytest.mark.parametrize("stack,namespace", SANDBOXES)
def test_ingress_only_from_the_orchestrator(stack: str, namespace: str) -> None:
    rules = ingress_rules(shipped(stack), namespace)
    assert rules == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "airlock-orchestrator"}},
                    "podSelector": {"matchLabels": {"airlock.dev/role": "orchestrator", "app.kubernetes.io/name": "orchestrator"}},
                }
            ],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
    ]


def test_gvisor_runtime_class_only_for_gvisor_pools(tmp_path: Path) -> None:
    def edit(config: dict) -> None:  # platform kubernetes: the cluster's operator provides runsc
        config["airlock:sandboxes"] = [{"name": "default", "isolation": "gvisor"}, {"name": "plain"}]

    bundle = synth_variant(tmp_path, "onprem", edit)
    (runtime_class,) = [r for r in kinds(bundle, "RuntimeClass") if r["handler"] == "runsc"]
    assert runtime_class["metadata"]["labels"]["airlock.dev/role"] == "sandbox"
    deployments = {d["metadata"]["namespace"]: d for d in kinds(bundle, "Deployment")}
    assert deployments["airlock-sbx-default"]["spec"]["template"]["spec"]["runtimeClassName"] == runtime_class["metadata"]["name"]
    assert "runtimeClassName" not in deployments["airlock-sbx-plain"]["spec"]["template"]["spec"]
    # No shipped stack asks for an isolation its nodes cannot provide: no aws stack uses gVisor.
    prod = shipped("prod")
    assert [r for r in kinds(prod, "RuntimeClass") if r["handler"] == "runsc"] == []
    onprem = shipped("onprem")
    assert kinds(onprem, "RuntimeClass") == []
    assert "runtimeClassName" not in pod_spec(executor("onprem", "airlock-sbx-default"))


def test_empty_allowlist_means_no_egress_at_all(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:sandboxes"] = [{"name": "closed"}]

    bundle = synth_variant(tmp_path, "onprem", edit)
    assert egress_rules(bundle, "airlock-sbx-closed") == []  # not even DNS: nothing to resolve for
    assert "HTTPS_PROXY" not in env_of(pod_spec(get(bundle, "Deployment", "airlock-sbx-closed", "sandbox-executor"))["containers"][0])
