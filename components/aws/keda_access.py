"""The KEDA operator's AWS identity for scaling the orchestrator on its work queue.

KEDA's aws-sqs-queue scaler runs in the KEDA operator, not in the orchestrator: with pod
identity (TriggerAuthentication ``podIdentity: {provider: aws, identityOwner: keda}``) it
calls SQS with the operator's own IRSA role. This is that role: trusted by exactly the
operator's service account in this cluster, allowed exactly ``sqs:GetQueueAttributes`` on
the work queue. Install KEDA with the role's ARN (stack output ``kedaOperatorRoleArn``):
``--set podIdentity.aws.irsa.enabled=true --set podIdentity.aws.irsa.roleArn=<arn>``
(docs/workloads.md, autoscaling on queue depth).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.cluster import EksCluster
from components.aws.iam import IrsaRole, ServiceAccountRef
from components.aws.policy import allow, document

# The service account KEDA's Helm chart gives its operator.
KEDA_OPERATOR_SERVICE_ACCOUNT = "keda-operator"
QUEUE_DEPTH_ACTIONS = ("sqs:GetQueueAttributes",)


def keda_queue_reader(
    name: str, eks: EksCluster, keda_namespace: str, queue: aws.sqs.Queue, opts: pulumi.ResourceOptions
) -> IrsaRole:
    role = eks.irsa_role(
        name,
        [ServiceAccountRef(keda_namespace, KEDA_OPERATOR_SERVICE_ACCOUNT)],
        "KEDA operator: reads the agent runtime's work queue depth to scale the orchestrator",
    )
    aws.iam.RolePolicy(
        f"{name}-queue-depth",
        role=role.role.name,
        policy=document(allow(QUEUE_DEPTH_ACTIONS, [queue.arn], sid="WorkQueueDepth")),
        opts=opts,
    )
    return role
