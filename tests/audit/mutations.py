"""Violating fixtures: for each rule, a shipped stack whose bundle passes it and a mutation
of that bundle's resources.json that makes it fail. Mutations edit properties generally
(by type and kind), never depending on one resource's exact logical name."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

Doc = dict[str, Any]


def of_type(doc: Doc, type_token: str) -> list[dict[str, Any]]:
    found = [r for r in doc["resources"] if r["type"] == type_token]
    assert found, f"the base bundle has no {type_token}"
    return found


def first(doc: Doc, type_token: str) -> dict[str, Any]:
    return of_type(doc, type_token)[0]["inputs"]


def kind(doc: Doc, k: str, role: str | None = None) -> dict[str, Any]:
    for r in doc["resources"]:
        obj = r["inputs"]
        if r["type"].startswith("kubernetes:") and obj.get("kind") == k:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if role is None or labels.get("airlock.dev/role") == role:
                return obj
    raise AssertionError(f"no {k} with role {role}")


def add(doc: Doc, type_token: str, name: str, inputs: dict[str, Any]) -> None:
    doc["resources"].append({"type": type_token, "name": name, "parent": None, "inputs": inputs})


def edit_policy(inputs: dict[str, Any], field: str, change: Callable[[dict], None]) -> None:
    document = json.loads(inputs[field])
    change(document)
    inputs[field] = json.dumps(document)


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return pod(obj)["containers"][0]


def sandbox_ns(doc: Doc) -> str:
    return kind(doc, "Namespace", "sandbox")["metadata"]["name"]


def sandbox_egress(doc: Doc) -> dict[str, Any]:
    ns = sandbox_ns(doc)
    for r in doc["resources"]:
        obj = r["inputs"]
        if obj.get("kind") == "NetworkPolicy" and obj["metadata"].get("namespace") == ns and obj["spec"].get("egress"):
            return obj
    raise AssertionError("no sandbox egress policy")


def agent_spec(doc: Doc, change: Callable[[dict], None]) -> None:
    import yaml

    for r in doc["resources"]:
        obj = r["inputs"]
        if obj.get("kind") == "ConfigMap" and "agent.yaml" in (obj.get("data") or {}):
            spec = yaml.safe_load(obj["data"]["agent.yaml"])
            change(spec)
            obj["data"]["agent.yaml"] = yaml.safe_dump(spec)
            return
    raise AssertionError("no agent spec ConfigMap")


EKS = "aws:eks/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TOOL = {"name": "lookup_order", "kind": "python", "target": "tools:lookup_order", "policy": "allow"}


def _set(d: dict, key: str, value: Any) -> None:
    d[key] = value


def _statement(extra: dict) -> Callable[[dict], None]:
    return lambda document: document["Statement"].append({"Effect": "Allow", **extra})


def _del_pab_field(doc: Doc) -> None:
    first(doc, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["restrictPublicBuckets"] = False


def _drop_tls_deny(doc: Doc) -> None:
    for policy in of_type(doc, "aws:s3/bucketPolicy:BucketPolicy"):
        edit_policy(policy["inputs"], "policy", lambda d: d.__setitem__("Statement", [s for s in d["Statement"] if s.get("Effect") != "Deny"]))


def _remove_type(type_token: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        of_type(doc, type_token)
        doc["resources"] = [r for r in doc["resources"] if r["type"] != type_token]

    return change


def _sse_s3(doc: Doc) -> None:
    for config in of_type(doc, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"):
        for rule in config["inputs"]["rules"]:
            rule["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}


def _suspend_versioning(doc: Doc) -> None:
    for config in of_type(doc, "aws:s3/bucketVersioning:BucketVersioning"):
        config["inputs"]["versioningConfiguration"]["status"] = "Suspended"


def _sandbox_default_deny_egress_only(doc: Doc) -> None:
    ns = sandbox_ns(doc)
    for r in doc["resources"]:
        obj = r["inputs"]
        if obj.get("kind") == "NetworkPolicy" and obj["metadata"].get("namespace") == ns and obj["spec"].get("podSelector") == {} and not obj["spec"].get("egress") and not obj["spec"].get("ingress"):
            obj["spec"]["policyTypes"] = ["Ingress"]


def _drop_sandbox_kind(k: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        ns = sandbox_ns(doc)
        doc["resources"] = [r for r in doc["resources"] if not (r["inputs"].get("kind") == k and r["inputs"].get("metadata", {}).get("namespace") == ns)]

    return change


def _all_default_deny_removed(doc: Doc) -> None:
    ns = kind(doc, "Deployment", "orchestrator")["metadata"]["namespace"]
    doc["resources"] = [
        r for r in doc["resources"]
        if not (r["inputs"].get("kind") == "NetworkPolicy" and r["inputs"]["metadata"].get("namespace") == ns and r["inputs"]["spec"].get("podSelector") == {})
    ]


def _uncovered_pod(doc: Doc) -> None:
    ns = kind(doc, "Deployment", "orchestrator")["metadata"]["namespace"]
    doc["resources"] = [r for r in doc["resources"] if not (r["inputs"].get("kind") == "NetworkPolicy" and r["inputs"]["metadata"].get("namespace") == ns)]


def _sandbox_secret(doc: Doc) -> None:
    add(doc, "kubernetes:core/v1:Secret", "leaked", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak", "namespace": sandbox_ns(doc)}, "stringData": {"k": "[secret]"}})


def _sandbox_role(doc: Doc) -> None:
    add(doc, "kubernetes:rbac.authorization.k8s.io/v1:Role", "sbx-role", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader", "namespace": sandbox_ns(doc)},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})


def _wildcard_role(doc: Doc) -> None:
    add(doc, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "all", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "all"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})


def _cni_without_policy(doc: Doc) -> None:
    for addon in of_type(doc, "aws:eks/addon:Addon"):
        if addon["inputs"].get("addonName") == "vpc-cni":
            addon["inputs"]["configurationValues"] = json.dumps({"enableNetworkPolicy": "false"})


def _airgap_nat(doc: Doc) -> None:
    add(doc, "aws:ec2/natGateway:NatGateway", "sneaky-nat", {"subnetId": "subnet-1", "allocationId": "eipalloc-1"})


def _flow_all_off(doc: Doc) -> None:
    first(doc, "aws:ec2/flowLog:FlowLog")["trafficType"] = "REJECT"


def _endpoint_star(doc: Doc) -> None:
    first(doc, "aws:ec2/vpcEndpoint:VpcEndpoint").pop("policy")


def _open_sg(doc: Doc) -> None:
    first(doc, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")["cidrIpv4"] = "0.0.0.0/0"


def _first_role_policy(doc: Doc, change: Callable[[dict], None]) -> None:
    edit_policy(first(doc, ROLE_POLICY), "policy", change)


def _irsa_role(doc: Doc) -> dict[str, Any]:
    for role in of_type(doc, ROLE):
        if "AssumeRoleWithWebIdentity" in role["inputs"]["assumeRolePolicy"]:
            return role["inputs"]
    raise AssertionError("no IRSA role")


def _irsa_wildcard(doc: Doc) -> None:
    def change(document: dict) -> None:
        for statement in document["Statement"]:
            condition = statement["Condition"]
            equals = condition.pop("StringEquals")
            condition["StringLike"] = {k: (v if k.endswith(":aud") else "system:serviceaccount:*:*") for k, v in equals.items()}

    edit_policy(_irsa_role(doc), "assumeRolePolicy", change)


def _public_trust(doc: Doc) -> None:
    edit_policy(first(doc, ROLE), "assumeRolePolicy", lambda d: d["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}))


def _admin_attachment(doc: Doc) -> None:
    first(doc, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"


def _agent_tool(tool: dict) -> Callable[[Doc], None]:
    return lambda doc: agent_spec(doc, lambda spec: spec.__setitem__("tools", [tool]))


def _escape_sandbox_dns(doc: Doc) -> None:
    # Proxy-only pools have no DNS rule at all (issue 12): add one that reaches past kube-dns.
    sandbox_egress(doc)["spec"]["egress"].append(
        {"to": [{"ipBlock": {"cidr": "8.8.8.8/32"}}], "ports": [{"port": 53, "protocol": "UDP"}]}
    )


def _sandbox_egress_peer(peer: dict) -> Callable[[Doc], None]:
    return lambda doc: sandbox_egress(doc)["spec"]["egress"].append({"to": [peer], "ports": [{"port": 443, "protocol": "TCP"}]})


def _sandbox_ingress_open(doc: Doc) -> None:
    ns = sandbox_ns(doc)
    add(doc, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "extra", {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "extra", "namespace": ns},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}], "policyTypes": ["Ingress"]}})


def _sandbox_pod(change: Callable[[dict], None]) -> Callable[[Doc], None]:
    return lambda doc: change(kind(doc, "Deployment", "sandbox"))


def _sandbox_sa_token(doc: Doc) -> None:
    kind(doc, "ServiceAccount", "sandbox")["automountServiceAccountToken"] = True


def _ns_labels(doc: Doc) -> None:
    kind(doc, "Namespace", "sandbox")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"


def _orch(change: Callable[[dict], None]) -> Callable[[Doc], None]:
    return lambda doc: change(kind(doc, "Deployment", "orchestrator"))


def _sc(field: str, value: Any) -> Callable[[Doc], None]:
    return _orch(lambda o: container(o)["securityContext"].__setitem__(field, value))


# rule id -> (base stack whose bundle passes the rule, mutation that makes it fail)
MUTATIONS: dict[str, tuple[str, Callable[[Doc], None]]] = {
    "AIRLOCK-EKS-001": ("dev", lambda d: first(d, EKS)["vpcConfig"].__setitem__("endpointPublicAccess", True)),
    "AIRLOCK-EKS-002": ("prod", lambda d: first(d, EKS)["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"])),
    "AIRLOCK-EKS-003": ("prod", lambda d: first(d, EKS).pop("encryptionConfig")),
    "AIRLOCK-EKS-004": ("prod", lambda d: first(d, EKS).__setitem__("enabledClusterLogTypes", ["api"])),
    "AIRLOCK-EKS-005": ("prod", lambda d: first(d, LT)["metadataOptions"].__setitem__("httpPutResponseHopLimit", 2)),
    "AIRLOCK-EKS-006": ("prod", lambda d: first(d, LT)["blockDeviceMappings"][0]["ebs"].__setitem__("encrypted", "false")),
    "AIRLOCK-NET-001": ("prod", _flow_all_off),
    "AIRLOCK-NET-002": ("prod", _open_sg),
    "AIRLOCK-NET-003": ("prod", lambda d: first(d, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").__setitem__("ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
    "AIRLOCK-NET-004": ("prod", _endpoint_star),
    "AIRLOCK-NET-005": ("airgap", _airgap_nat),
    "AIRLOCK-NET-006": ("prod", lambda d: first(d, "aws:ec2/subnet:Subnet").__setitem__("mapPublicIpOnLaunch", True)),
    "AIRLOCK-IAM-001": ("prod", lambda d: _first_role_policy(d, _statement({"Action": "*", "Resource": "*"}))),
    "AIRLOCK-IAM-002": ("prod", lambda d: _first_role_policy(d, _statement({"Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}))),
    "AIRLOCK-IAM-003": ("prod", lambda d: _first_role_policy(d, _statement({"Action": "dynamodb:PutItem", "Resource": "*"}))),
    "AIRLOCK-IAM-004": ("prod", _public_trust),
    "AIRLOCK-IAM-005": ("prod", _irsa_wildcard),
    "AIRLOCK-IAM-006": ("prod", _admin_attachment),
    "AIRLOCK-S3-001": ("prod", _del_pab_field),
    "AIRLOCK-S3-002": ("prod", _drop_tls_deny),
    "AIRLOCK-S3-003": ("prod", _remove_type("aws:s3/bucketLogging:BucketLogging")),
    "AIRLOCK-S3-004": ("prod", _sse_s3),
    "AIRLOCK-S3-005": ("prod", _suspend_versioning),
    "AIRLOCK-S3-006": ("prod", lambda d: edit_policy(first(d, "aws:s3/bucketPolicy:BucketPolicy"), "policy", _statement({"Principal": "*", "Action": "s3:GetObject", "Resource": "*"}))),
    "AIRLOCK-KMS-001": ("prod", lambda d: first(d, "aws:kms/key:Key").__setitem__("enableKeyRotation", False)),
    "AIRLOCK-KMS-002": ("prod", lambda d: edit_policy(first(d, "aws:kms/key:Key"), "policy", _statement({"Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}))),
    "AIRLOCK-KMS-003": ("prod", lambda d: first(d, "aws:kms/key:Key").__setitem__("deletionWindowInDays", 7)),
    "AIRLOCK-ECR-001": ("prod", lambda d: first(d, "aws:ecr/repository:Repository").__setitem__("imageTagMutability", "MUTABLE")),
    "AIRLOCK-ECR-002": ("prod", lambda d: first(d, "aws:ecr/repository:Repository").__setitem__("imageScanningConfiguration", {"scanOnPush": False})),
    "AIRLOCK-ECR-003": ("prod", lambda d: first(d, "aws:ecr/repository:Repository").__setitem__("encryptionConfigurations", [{"encryptionType": "AES256"}])),
    "AIRLOCK-ECR-004": ("prod", lambda d: add(d, "aws:ecr/repositoryPolicy:RepositoryPolicy", "public", {"repository": "r", "policy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})})),
    "AIRLOCK-SM-001": ("prod", lambda d: first(d, "aws:secretsmanager/secret:Secret").pop("kmsKeyId")),
    "AIRLOCK-SM-002": ("prod", lambda d: _first_role_policy(d, _statement({"Action": "secretsmanager:GetSecretValue", "Resource": "*"}))),
    "AIRLOCK-SM-003": ("prod", lambda d: first(d, "aws:secretsmanager/secret:Secret").__setitem__("recoveryWindowInDays", 0)),
    "AIRLOCK-SM-004": ("prod", lambda d: first(d, "aws:secretsmanager/secret:Secret").__setitem__("policy", json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue"}]}))),
    "AIRLOCK-K8S-001": ("dev", _sc("privileged", True)),
    "AIRLOCK-K8S-002": ("dev", _sc("allowPrivilegeEscalation", True)),
    "AIRLOCK-K8S-003": ("dev", _sc("readOnlyRootFilesystem", False)),
    "AIRLOCK-K8S-004": ("dev", _sc("runAsUser", 0)),
    "AIRLOCK-K8S-005": ("dev", _sc("capabilities", {"drop": ["ALL"], "add": ["NET_RAW"]})),
    "AIRLOCK-K8S-006": ("dev", _orch(lambda o: (container(o)["securityContext"].pop("seccompProfile"), pod(o)["securityContext"].pop("seccompProfile")))),
    "AIRLOCK-K8S-007": ("airgap", _orch(lambda o: container(o).__setitem__("image", container(o)["image"].split("@")[0]))),
    "AIRLOCK-K8S-008": ("dev", _orch(lambda o: container(o).__setitem__("image", "registry.example/runtime:latest"))),
    "AIRLOCK-K8S-009": ("dev", _orch(lambda o: container(o)["resources"]["limits"].pop("memory"))),
    "AIRLOCK-K8S-010": ("dev", _orch(lambda o: pod(o).__setitem__("automountServiceAccountToken", True))),
    "AIRLOCK-K8S-011": ("dev", _orch(lambda o: pod(o).pop("serviceAccountName"))),
    "AIRLOCK-K8S-012": ("dev", _orch(lambda o: pod(o).__setitem__("hostNetwork", True))),
    "AIRLOCK-K8S-013": ("dev", _orch(lambda o: pod(o)["volumes"].append({"name": "host", "hostPath": {"path": "/"}}))),
    "AIRLOCK-K8S-014": ("dev", lambda d: kind(d, "ConfigMap")["metadata"].__setitem__("namespace", "default")),
    "AIRLOCK-K8S-015": ("dev", _wildcard_role),
    "AIRLOCK-K8S-016": ("dev", _orch(lambda o: container(o)["env"].append({"name": "PAYMENTS_API_KEY", "value": "sk-live-123"}))),
    "AIRLOCK-K8S-017": ("dev", lambda d: kind(d, "Service")["spec"].__setitem__("type", "LoadBalancer")),
    "AIRLOCK-K8S-018": ("dev", _uncovered_pod),
    "AIRLOCK-K8S-019": ("dev", _all_default_deny_removed),
    # Two replicas (and a scaler up to 6) back on the per-pod SQLite file.
    "AIRLOCK-K8S-020": ("onprem", _orch(lambda o: container(o).__setitem__("env", [e for e in container(o)["env"] if e["name"] != "AIRLOCK_STORE"]))),
    "AIRLOCK-K8S-021": ("onprem", lambda d: kind(d, "ScaledObject", "orchestrator")["spec"]["triggers"][0]["metadata"].__setitem__("password", "hunter2")),
    "AIRLOCK-SBX-001": ("dev", _ns_labels),
    "AIRLOCK-SBX-002": ("dev", _sandbox_pod(lambda o: container(o)["resources"]["limits"].pop("ephemeral-storage"))),
    "AIRLOCK-SBX-003": ("dev", _drop_sandbox_kind("ResourceQuota")),
    "AIRLOCK-SBX-004": ("dev", _sandbox_default_deny_egress_only),
    "AIRLOCK-SBX-005": ("dev", _escape_sandbox_dns),
    "AIRLOCK-SBX-006": ("dev", _sandbox_egress_peer({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"]}})),
    "AIRLOCK-SBX-007": ("dev", _sandbox_egress_peer({"ipBlock": {"cidr": "169.254.169.254/32"}})),
    "AIRLOCK-SBX-008": ("dev", _sandbox_sa_token),
    "AIRLOCK-SBX-009": ("dev", _cni_without_policy),
    "AIRLOCK-SBX-010": ("dev", _sandbox_secret),
    "AIRLOCK-SBX-011": ("dev", _sandbox_ingress_open),
    "AIRLOCK-AGT-001": ("dev", _agent_tool({k: v for k, v in TOOL.items() if k != "policy"})),
    "AIRLOCK-AGT-002": ("dev", lambda d: agent_spec(d, lambda s: s.__setitem__("budgets", {"maxSteps": None, "maxSeconds": 600}))),
    "AIRLOCK-AGT-003": ("dev", _agent_tool({**TOOL, "name": "issue_refund", "target": "tools:issue_refund"})),
    "AIRLOCK-AGT-004": ("airgap", lambda d: agent_spec(d, lambda s: s["models"]["default"].__setitem__("baseUrl", "https://api.openai.com/v1"))),
    "AIRLOCK-AGT-005": ("dev", _agent_tool({**TOOL, "name": "issue_refund", "target": "tools:issue_refund", "policy": "ask"})),
    "AIRLOCK-AGT-006": ("dev", lambda d: agent_spec(d, lambda s: s.__setitem__("telemetry", {"captureContent": True}))),
}
# Second violating fixtures for rules with more than one way to fail.
MORE_MUTATIONS: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("AIRLOCK-K8S-021", "prod", lambda d: kind(d, "TriggerAuthentication", "orchestrator")["spec"].__setitem__(
        "secretTargetRef", [{"parameter": "awsAccessKeyID", "name": "keda-aws", "key": "id"}])),
    ("AIRLOCK-SBX-008", "dev", _sandbox_role),
    ("AIRLOCK-SBX-006", "dev", _sandbox_egress_peer({"ipBlock": {"cidr": "10.0.0.0/8"}})),
    ("AIRLOCK-EKS-005", "prod", lambda d: first(d, LT)["metadataOptions"].__setitem__("httpTokens", "optional")),
    ("AIRLOCK-NET-005", "airgap", lambda d: first(d, "aws:ec2/routeTable:RouteTable").setdefault("routes", []).append({"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"})),
]


def _pin_operator_images(doc: Doc) -> None:
    """The airgap stack as an operator deploys it: `airlock images` has filled the digests of the
    images this repository builds (shipped as `@unset`, so synth leaves them by tag)."""
    digest = "sha256:" + hashlib.sha256(b"an image built by images/build-runtime.sh").hexdigest()

    def pin(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image" and isinstance(value, str) and "@" not in value and value.endswith(":0.1.0"):
                    node[key] = f"{value}@{digest}"
                else:
                    pin(value)
        elif isinstance(node, list):
            for item in node:
                pin(item)

    pin(doc)


# rule id -> a change applied to the base bundle first (both the passing and the violating fixture)
PREPARE: dict[str, Callable[[Doc], None]] = {"AIRLOCK-K8S-007": _pin_operator_images}
