"""Realistic, deterministic values for what providers compute (ids, ARNs, endpoints).

The mock monitor echoes inputs; anything a provider would add has to come from here so
that resources depending on it (a subnet on a VPC id, a policy on a bucket ARN) still
synthesize. Every value is derived from the resource's type and name, so two runs of
the same stack produce byte-identical bundles.

Add a ``@fake(type_token)`` function when a component starts reading a computed output
that the generic AWS rules below do not produce.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Callable

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


@dataclass(frozen=True)
class FakeContext:
    region: str
    type_token: str
    name: str
    inputs: dict[str, Any]

    def digest(self, length: int, salt: str = "") -> str:
        text = f"{self.type_token}\x00{self.name}\x00{salt}"
        return hashlib.sha256(text.encode()).hexdigest()[:length]

    def input_or_autoname(self, key: str = "name") -> str:
        # Providers auto-name with the logical name plus a random suffix; ours is a hash.
        value = self.inputs.get(key)
        return value if isinstance(value, str) and value else f"{self.name}-{self.digest(7)}"


FakeFn = Callable[[FakeContext], tuple[str, dict[str, Any]]]
_FAKES: dict[str, FakeFn] = {}


def fake(*type_tokens: str) -> Callable[[FakeFn], FakeFn]:
    def register(fn: FakeFn) -> FakeFn:
        for token in type_tokens:
            _FAKES[token] = fn
        return fn

    return register


# --------------------------------------------------------------------------- generic AWS

# Resource ids with a well-known prefix (the rest is 17 hex digits, as AWS does).
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/flowLog:FlowLog": "fl",
}


def _service(type_token: str) -> str:
    return type_token.split(":")[1].split("/")[0]


def _generic_aws(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    prefix = ID_PREFIXES.get(ctx.type_token)
    name = ctx.input_or_autoname()
    resource_id = f"{prefix}-{ctx.digest(17)}" if prefix else name
    kind = ctx.type_token.rsplit(":", 1)[-1].lower()
    service = _service(ctx.type_token)
    arn = f"arn:{PARTITION}:{service}:{ctx.region}:{ACCOUNT_ID}:{kind}/{resource_id}"
    return resource_id, {"name": name, "arn": arn, "ownerId": ACCOUNT_ID}


@fake("aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/instanceProfile:InstanceProfile", "aws:iam/user:User")
def _iam(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    kind = ctx.type_token.rsplit(":", 1)[-1]
    path = {"Role": "role", "Policy": "policy", "InstanceProfile": "instance-profile", "User": "user"}[kind]
    arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:{path}/{name}"
    resource_id = arn if kind == "Policy" else name
    return resource_id, {"name": name, "arn": arn, "uniqueId": f"AROA{ctx.digest(17).upper()}"}


@fake("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    url = str(ctx.inputs.get("url", "")).removeprefix("https://")
    arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:oidc-provider/{url}"
    return arn, {"arn": arn}


@fake("aws:eks/cluster:Cluster")
def _eks_cluster(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    cluster_id = ctx.digest(32).upper()
    ca_pem = "-----BEGIN CERTIFICATE-----\nMIIC/airlock-synth-fake-ca\n-----END CERTIFICATE-----\n"
    vpc_config = dict(ctx.inputs.get("vpcConfig") or {})
    vpc_config.update(
        {"clusterSecurityGroupId": f"sg-{ctx.digest(17, 'cluster-sg')}", "vpcId": f"vpc-{ctx.digest(17, 'vpc')}"}
    )
    return name, {
        "name": name,
        "arn": f"arn:{PARTITION}:eks:{ctx.region}:{ACCOUNT_ID}:cluster/{name}",
        "endpoint": f"https://{cluster_id}.gr7.{ctx.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(ca_pem.encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{cluster_id}"}]}],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }


@fake("aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry")
def _eks_child(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    kind = ctx.type_token.rsplit(":", 1)[-1]
    name = ctx.inputs.get("nodeGroupName") or ctx.inputs.get("addonName") or ctx.input_or_autoname()
    cluster = ctx.inputs.get("clusterName", "cluster")
    path = {"NodeGroup": "nodegroup", "Addon": "addon", "AccessEntry": "access-entry"}[kind]
    arn = f"arn:{PARTITION}:eks:{ctx.region}:{ACCOUNT_ID}:{path}/{cluster}/{name}/{ctx.digest(8)}"
    return f"{cluster}:{name}", {"arn": arn, "status": "ACTIVE", "nodeGroupName": name if kind == "NodeGroup" else None}


@fake("aws:kms/key:Key")
def _kms_key(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    h = ctx.digest(32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return key_id, {"keyId": key_id, "arn": f"arn:{PARTITION}:kms:{ctx.region}:{ACCOUNT_ID}:key/{key_id}"}


@fake("aws:kms/alias:Alias")
def _kms_alias(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or f"alias/{ctx.name}"
    return name, {"arn": f"arn:{PARTITION}:kms:{ctx.region}:{ACCOUNT_ID}:{name}"}


@fake("aws:sqs/queue:Queue")
def _sqs(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    url = f"https://sqs.{ctx.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
    return url, {"name": name, "url": url, "arn": f"arn:{PARTITION}:sqs:{ctx.region}:{ACCOUNT_ID}:{name}"}


@fake("aws:dynamodb/table:Table")
def _dynamodb(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    return name, {"name": name, "arn": f"arn:{PARTITION}:dynamodb:{ctx.region}:{ACCOUNT_ID}:table/{name}"}


@fake("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _bucket(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    prefix = ctx.inputs.get("bucketPrefix")
    # S3 completes a prefix with a 26-character unique suffix.
    bucket = f"{prefix}{ctx.digest(26)}" if isinstance(prefix, str) and prefix else ctx.input_or_autoname("bucket")
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
    }


@fake("aws:ecr/repository:Repository")
def _ecr(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    return name, {
        "name": name,
        "arn": f"arn:{PARTITION}:ecr:{ctx.region}:{ACCOUNT_ID}:repository/{name}",
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{ctx.region}.amazonaws.com/{name}",
    }


@fake("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    endpoint_id = f"vpce-{ctx.digest(17)}"
    service_name = str(ctx.inputs.get("serviceName", ""))
    # com.amazonaws.<region>.<service> -> <service>, e.g. ecr.dkr
    service = service_name.split(f".{ctx.region}.", 1)[-1] if f".{ctx.region}." in service_name else ctx.name
    computed: dict[str, Any] = {
        "arn": f"arn:{PARTITION}:ec2:{ctx.region}:{ACCOUNT_ID}:vpc-endpoint/{endpoint_id}",
        "ownerId": ACCOUNT_ID,
        "state": "available",
    }
    if ctx.inputs.get("vpcEndpointType") == "Interface":
        # S3's endpoint-specific names are wildcards (any bucket under them); others are plain.
        wildcard = "*." if service == "s3" else ""
        regional = f"{wildcard}{endpoint_id}-{ctx.digest(8, 'dns')}.{service}.{ctx.region}.vpce.amazonaws.com"
        computed["dnsEntries"] = [{"dnsName": regional, "hostedZoneId": f"Z{ctx.digest(13, 'zone').upper()}"}]
        subnets = ctx.inputs.get("subnetIds") or []
        computed["networkInterfaceIds"] = [f"eni-{ctx.digest(17, str(i))}" for i in range(len(subnets))]
    else:
        computed["prefixListId"] = f"pl-{ctx.digest(8)}"
        computed["dnsEntries"] = []
    return endpoint_id, computed


@fake("aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    template_id = f"lt-{ctx.digest(17)}"
    return template_id, {
        "name": ctx.input_or_autoname(),
        "arn": f"arn:{PARTITION}:ec2:{ctx.region}:{ACCOUNT_ID}:launch-template/{template_id}",
        "latestVersion": 1,
        "defaultVersion": 1,
    }


@fake("aws:secretsmanager/secret:Secret")
def _secret(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    arn = f"arn:{PARTITION}:secretsmanager:{ctx.region}:{ACCOUNT_ID}:secret:{name}-{ctx.digest(6)}"
    return arn, {"name": name, "arn": arn}


@fake("aws:cloudwatch/logGroup:LogGroup")
def _log_group(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    name = ctx.input_or_autoname()
    return name, {"name": name, "arn": f"arn:{PARTITION}:logs:{ctx.region}:{ACCOUNT_ID}:log-group:{name}"}


# --------------------------------------------------------------------------- kubernetes


def _kubernetes(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    metadata = ctx.inputs.get("metadata") or {}
    name = metadata.get("name") or ctx.name
    namespace = metadata.get("namespace")
    resource_id = f"{namespace}/{name}" if namespace else name
    computed: dict[str, Any] = {"metadata": {**metadata, "uid": ctx.digest(32)}}
    if ctx.type_token == "kubernetes:core/v1:Service" and (ctx.inputs.get("spec") or {}).get("type", "ClusterIP") == "ClusterIP":
        # EKS's default service range is 172.20.0.0/16; the address is stable per Service.
        octets = int(ctx.digest(4), 16)
        computed["spec"] = {**(ctx.inputs.get("spec") or {}), "clusterIP": f"172.20.{octets >> 8 & 255}.{octets & 255 or 1}"}
    return resource_id, computed


# --------------------------------------------------------------------------- entry points


def fake_resource(type_token: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """The id and the full output state of a newly 'created' resource."""
    ctx = FakeContext(region=region, type_token=type_token, name=name, inputs=inputs)
    if type_token in _FAKES:
        resource_id, computed = _FAKES[type_token](ctx)
    elif type_token.startswith("aws:"):
        resource_id, computed = _generic_aws(ctx)
    elif type_token.startswith("kubernetes:"):
        resource_id, computed = _kubernetes(ctx)
    else:
        resource_id, computed = f"{name}-{ctx.digest(8)}", {}
    # Computed values extend the inputs (each fake already keeps the inputs it echoes).
    return resource_id, {**inputs, **{k: v for k, v in computed.items() if v is not None}}


def fake_invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    """Provider functions a program may call (data sources)."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/airlock-synth", "userId": "AIDAAIRLOCKSYNTH", "id": ACCOUNT_ID}
    if token in ("aws:index/getRegion:getRegion",):
        return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com", "description": region}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION, "reverseDnsPrefix": "com.amazonaws"}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        names = [f"{region}{z}" for z in "abcdef"]
        return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "id": region}
    if token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
        # The value exists only in Secrets Manager; the program marks it secret, so bundles mask it.
        secret_id = str(args.get("secretId") or "")
        return {"arn": secret_id, "id": secret_id, "secretId": secret_id, "secretString": "[secret]", "versionId": "synth", "versionStages": ["AWSCURRENT"]}
    raise KeyError(f"airlock synth has no fake for provider function {token}; add one in airlock/synth/fakes.py")


# --------------------------------------------------------------------------- random


@fake("random:index/randomPassword:RandomPassword")
def _random_password(ctx: FakeContext) -> tuple[str, dict[str, Any]]:
    """A stable stand-in of the requested length (the real one is drawn at `pulumi up`)."""
    length = int(ctx.inputs.get("length") or 32)
    text = "".join(ctx.digest(64, salt=str(i)) for i in range(length // 64 + 1))[:length]
    return "none", {"result": text}
