"""The EKS cluster: private API endpoint, KMS envelope encryption of Secrets, control-plane
logs, IRSA, the system node group, and the add-ons that make NetworkPolicies real.

Order matters and is explicit (``depends_on``):

1. control-plane log group (retention + KMS set before EKS first writes to it), role, key;
2. the cluster, then its OIDC provider (IRSA);
3. the VPC CNI (network-policy agent on) and kube-proxy add-ons, before any node, so
   nodes come up Ready and policies are enforced from the first pod;
4. the system node group, then CoreDNS and the EBS CSI driver, which need a node to run on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.access_entries import cluster_access_entries
from components.aws.account import AwsAccount
from components.aws.iam import IrsaRole, IrsaRoleArgs, ServiceAccountRef
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.launch_template import launch_template_ref, node_launch_template
from components.aws.log_groups import encrypted_log_group
from components.aws.names import IAM_ROLE_MAX, control_plane_log_group, scoped
from components.aws.network import Network
from components.aws.policy import allow, document, service_trust
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.schema import ClusterConfig, SystemPoolConfig
from components.workloads.labels import ROLE_LABEL

HTTPS = 443
SYSTEM_NODE_GROUP = "system"
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
# What the VPC CNI add-on is told: run the network-policy agent, so NetworkPolicies are
# enforced (without it EKS accepts them and silently ignores them).
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}


@dataclass(frozen=True)
class EksClusterArgs:
    stack: AwsStack
    cluster: ClusterConfig
    system_pool: SystemPoolConfig
    account: AwsAccount
    network: Network
    # KMS key of the control-plane log group.
    logs_key_arn: pulumi.Input[str]


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
    provider: k8s.Provider
    secrets_key: EncryptionKey
    oidc_provider: aws.iam.OpenIdConnectProvider
    # Issuer URL without https://, as IRSA trust conditions spell it.
    oidc_issuer: pulumi.Output[str]
    node_role: aws.iam.Role
    api_access_security_group: aws.ec2.SecurityGroup
    # What every node group must wait for (CNI with policy enforcement, kube-proxy).
    node_prerequisites: list[pulumi.Resource]
    system_nodes: aws.eks.NodeGroup
    # Add-ons that need running nodes (CoreDNS, EBS CSI driver).
    cluster_services: list[aws.eks.Addon]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:Cluster", name, None, opts)
        self._name = name
        self._stack = args.stack
        self._account = args.account
        stack = args.stack
        cfg = args.cluster
        region = stack.region
        child = pulumi.ResourceOptions(parent=self)
        eks_name = stack.cluster_name

        self.secrets_key = EncryptionKey(
            f"{name}-secrets",
            EncryptionKeyArgs(
                stack,
                args.account,
                purpose="eks-secrets",
                description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {eks_name}",
            ),
            child,
        )
        role = aws.iam.Role(
            f"{name}-control-plane",
            name=scoped(stack, "control-plane", IAM_ROLE_MAX),
            assume_role_policy=service_trust("eks.amazonaws.com"),
            tags=aws_tags(stack, f"{cfg.name}-control-plane"),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=role.name,
            policy_arn=args.account.managed_policy("AmazonEKSClusterPolicy"),
            opts=child,
        )
        # The control plane encrypts Secrets' data keys with exactly this key.
        key_policy = aws.iam.RolePolicy(
            f"{name}-control-plane-kms",
            role=role.name,
            policy=document(
                allow(
                    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"],
                    [self.secrets_key.arn],
                    sid="EnvelopeEncryptionOfSecrets",
                )
            ),
            opts=child,
        )
        log_group = encrypted_log_group(
            f"{name}-control-plane-logs",
            stack,
            control_plane_log_group(stack),
            cfg.log_retention_days,
            args.logs_key_arn,
            child,
        )

        network = args.network
        # Always present (possibly without rules), so adding endpointPrivateAccessCidrs later
        # changes rules, not the cluster's security groups.
        self.api_access_security_group = aws.ec2.SecurityGroup(
            f"{name}-api-access",
            vpc_id=network.vpc.id,
            description=f"Private EKS API endpoint of {eks_name}: HTTPS from cluster.endpointPrivateAccessCidrs only",
            tags=aws_tags(stack, f"{eks_name}-api-access"),
            opts=child,
        )
        for index, cidr in enumerate(cfg.endpoint_private_access_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-access-{index}",
                security_group_id=self.api_access_security_group.id,
                description="Kubernetes API from an admin network (cluster.endpointPrivateAccessCidrs)",
                cidr_ipv4=str(cidr),
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                tags=aws_tags(stack, f"{eks_name}-api-access-{index}"),
                opts=child,
            )

        public = [str(c) for c in cfg.endpoint_public_access_cidrs]
        self.cluster = aws.eks.Cluster(
            name,
            name=eks_name,
            version=cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in network.private_subnets],
                security_group_ids=[self.api_access_security_group.id],
                endpoint_private_access=True,
                endpoint_public_access=bool(public),
                public_access_cidrs=public or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(cfg.log_types),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Whoever runs the first `pulumi up` becomes cluster admin (an access entry),
                # so the same run can deploy the workloads; cluster.accessEntries adds others.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            # Networking, kube-proxy and DNS come from the managed add-ons below, configured
            # by us, instead of unmanaged copies EKS would otherwise install.
            bootstrap_self_managed_addons=False,
            tags=aws_tags(stack, eks_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, key_policy, log_group]),
        )
        # Further admins (a CI role, teammates): the creator alone has access otherwise.
        self.access_policies = cluster_access_entries(name, stack, cfg.access_entries, self.cluster, args.account.partition, child)
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig_for(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data, region)
        )

        issuer_url = self.cluster.identities.apply(_issuer_url)
        # No thumbprint: for EKS issuers IAM validates the certificate against its own
        # trusted CAs (and fetches a thumbprint itself when one is needed), so a pinned
        # thumbprint would only break on AWS's next certificate rotation.
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            tags=aws_tags(stack, f"{eks_name}-irsa"),
            opts=child,
        )
        self.oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))

        self.node_role = self._node_role(name)
        vpc_cni_role = self.irsa_role(
            "vpc-cni",
            [ServiceAccountRef("kube-system", "aws-node")],
            "VPC CNI: manages pod ENIs and IPs",
            ["AmazonEKS_CNI_Policy"],
        )
        ebs_csi_role = self.irsa_role(
            "ebs-csi",
            [ServiceAccountRef("kube-system", "ebs-csi-controller-sa")],
            "EBS CSI driver: creates and attaches encrypted volumes for PersistentVolumeClaims",
            ["service-role/AmazonEBSCSIDriverPolicy"],
        )

        vpc_cni = self._addon(
            "vpc-cni",
            service_account_role_arn=vpc_cni_role.arn,
            configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        )
        kube_proxy = self._addon("kube-proxy")
        self.node_prerequisites = [vpc_cni, kube_proxy]

        system = args.system_pool
        template = node_launch_template(
            f"{name}-system-nodes", stack, f"{eks_name}-{SYSTEM_NODE_GROUP}", SYSTEM_AMI_TYPE, system.disk_size_gib, child
        )
        self.system_nodes = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=self.cluster.name,
            node_group_name=SYSTEM_NODE_GROUP,
            node_role_arn=self.node_role.arn,
            subnet_ids=[s.id for s in network.private_subnets],
            ami_type=SYSTEM_AMI_TYPE,
            capacity_type="ON_DEMAND",
            instance_types=list(system.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=system.min_size, desired_size=system.desired_size, max_size=system.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=launch_template_ref(template),
            labels={ROLE_LABEL: "system", "airlock.dev/node-pool": SYSTEM_NODE_GROUP},
            tags=aws_tags(stack, f"{eks_name}-{SYSTEM_NODE_GROUP}"),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=self.node_prerequisites,
                # A cluster autoscaler owns the current size once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        self.cluster_services = [
            self._addon("coredns", depends_on=[self.system_nodes]),
            self._addon("aws-ebs-csi-driver", service_account_role_arn=ebs_csi_role.arn, depends_on=[self.system_nodes]),
        ]

        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply gives field ownership and conflict detection on shared objects.
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider.arn,
                "nodeRoleArn": self.node_role.arn,
            }
        )

    def irsa_role(
        self, name: str, service_accounts: Sequence[ServiceAccountRef], description: str, managed_policies: Sequence[str] = ()
    ) -> IrsaRole:
        """A role that exactly these service accounts of this cluster can assume."""
        return IrsaRole(
            name,
            IrsaRoleArgs(
                stack=self._stack,
                oidc_provider_arn=self.oidc_provider.arn,
                oidc_issuer=self.oidc_issuer,
                service_accounts=service_accounts,
                description=description,
                managed_policy_arns=[self._account.managed_policy(p) for p in managed_policies],
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _node_role(self, name: str) -> aws.iam.Role:
        """The role of every node (system and GPU): join the cluster and pull images, nothing
        else. The CNI's EC2 permissions live on its own IRSA role, not here."""
        stack = self._stack
        role_name = scoped(stack, "nodes", IAM_ROLE_MAX)
        role = aws.iam.Role(
            f"{name}-nodes",
            name=role_name,
            assume_role_policy=service_trust("ec2.amazonaws.com"),
            tags=aws_tags(stack, role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"):
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy}",
                role=role.name,
                policy_arn=self._account.managed_policy(policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return role

    def _addon(
        self,
        addon: str,
        *,
        service_account_role_arn: pulumi.Input[str] | None = None,
        configuration_values: str | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> aws.eks.Addon:
        # No addon_version: EKS installs its default version for the cluster's Kubernetes
        # version; upgrade add-ons together with the control plane (docs/aws.md).
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            service_account_role_arn=service_account_role_arn,
            configuration_values=configuration_values,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=aws_tags(self._stack, f"{self._stack.cluster_name}-{addon}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )


def _issuer_url(identities) -> str:
    identity = identities[0]
    oidcs = identity["oidcs"] if isinstance(identity, dict) else identity.oidcs
    first = oidcs[0]
    return str(first["issuer"] if isinstance(first, dict) else first.issuer)
