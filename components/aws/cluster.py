"""The EKS cluster and the Kubernetes provider that deploys workloads onto it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.network import Network
from components.aws_tags import aws_tags
from components.config_loader import LoadedConfig
from components.contracts import ClusterAccess


@dataclass(frozen=True)
class EksClusterArgs:
    loaded: LoadedConfig
    network: Network


def kubeconfig_for(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with `aws eks get-token` (no long-lived credentials)."""

    def render(values: list[str]) -> str:
        cluster_name, server, ca = values
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": ca}}],
                "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
                "current-context": cluster_name,
                "users": [
                    {
                        "name": cluster_name,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                            }
                        },
                    }
                ],
            },
            indent=2,
        )

    return pulumi.Output.all(name, endpoint, ca_data).apply(render)


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    kubeconfig: pulumi.Output[str]
    access: ClusterAccess

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:Cluster", name, None, opts)
        loaded = args.loaded
        cfg = loaded.config.cluster
        region = loaded.region or ""
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-control-plane",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            tags=aws_tags(loaded, f"{cfg.name}-control-plane"),
            opts=child,
        )
        policy = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )

        public = [str(c) for c in cfg.endpoint_public_access_cidrs]
        self.cluster = aws.eks.Cluster(
            name,
            name=cfg.name,
            version=cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in args.network.private_subnets],
                endpoint_private_access=True,
                endpoint_public_access=bool(public),
                public_access_cidrs=public or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            tags=aws_tags(loaded, cfg.name or name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig_for(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data, region)
        )
        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply gives field ownership and conflict detection on shared objects.
            enable_server_side_apply=True,
            opts=child,
        )
        self.access = ClusterAccess(provider=provider, name=self.cluster.name, kubernetes_version=cfg.kubernetes_version)
        self.register_outputs(
            {"clusterName": self.cluster.name, "endpoint": self.cluster.endpoint, "kubeconfig": self.kubeconfig}
        )
