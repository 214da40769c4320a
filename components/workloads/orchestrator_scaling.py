"""KEDA scaling of the orchestrator on work waiting in its queue, not on CPU.

A runtime replica mostly waits on models and tools, so CPU says little about load; the
queue does. One replica per ``queueLength`` outstanding tasks (queued plus running, the
work a replica holds), between ``orchestrator.replicas`` and ``autoscaling.maxReplicas``:

* aws: KEDA's ``aws-sqs-queue`` scaler reads the work queue's depth (visible plus in-flight
  messages) with pod identity: the TriggerAuthentication names provider ``aws`` with
  identityOwner ``keda``, so the KEDA operator uses its own IRSA role, which the AWS
  platform creates with exactly ``sqs:GetQueueAttributes`` on this queue. No static keys.
* postgresql / cloudnativepg: KEDA's ``postgresql`` scaler runs a count over the runtime's
  ``queue`` table (runtime/store_pg/migrations), as the runtime's own user, with the
  password from the same Secret the runtime mounts (secretTargetRef).

With a sqlite store there is no autoscaling (the config rules refuse it).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import OrchestratorConfig
from components.config.store import PASSWORD_KEY, database
from components.workloads.contracts import AwsServices
from components.workloads.endpoints import ORCHESTRATOR_APP
from components.workloads.pod_security import Spec, metadata
from components.workloads.scope import NamespaceScope

TRIGGER_AUTHENTICATION = "orchestrator-queue"
# The tasks a worker would hold: queued, or running under a (possibly expired) lease. It is
# the claim query's own filter (runtime/store_pg/store.py, claim_next) without the version.
QUEUED_TASKS_QUERY = (
    "SELECT count(*) FROM queue q JOIN tasks t ON t.id = q.task_id WHERE t.status IN ('queued', 'running')"
)


def trigger(orchestrator: OrchestratorConfig, aws: AwsServices | None) -> Spec:
    autoscaling = orchestrator.autoscaling
    target = str(autoscaling.queue_length)
    auth = {"name": TRIGGER_AUTHENTICATION}
    if orchestrator.store.kind == "aws":
        if aws is None:
            raise ValueError("the aws-sqs-queue trigger needs the AWS platform's queue")
        return {
            "type": "aws-sqs-queue",
            "authenticationRef": auth,
            "metadata": {"queueURL": aws.queue_url, "queueLength": target, "awsRegion": aws.region},
        }
    server = database(orchestrator.store)
    if server is None:
        raise ValueError(f"no queue to scale on with store kind {orchestrator.store.kind!r}")
    return {
        "type": "postgresql",
        "authenticationRef": auth,
        "metadata": {
            "host": server.host,
            "port": str(server.port),
            "userName": server.user,
            "dbName": server.database,
            "sslmode": server.ssl_mode,
            "query": QUEUED_TASKS_QUERY,
            "targetQueryValue": target,
            "activationTargetQueryValue": "0",
        },
    }


def trigger_authentication_spec(orchestrator: OrchestratorConfig) -> Spec:
    if orchestrator.store.kind == "aws":
        return {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}
    server = database(orchestrator.store)
    assert server is not None, "trigger() refused stores without a queue"
    return {"secretTargetRef": [{"parameter": "password", "name": server.password_secret, "key": PASSWORD_KEY}]}


def scaled_object_spec(orchestrator: OrchestratorConfig, aws: AwsServices | None) -> Spec:
    autoscaling = orchestrator.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ORCHESTRATOR_APP},
        "minReplicaCount": orchestrator.replicas,
        "maxReplicaCount": autoscaling.max_replicas,
        "pollingInterval": autoscaling.polling_interval_seconds,
        "cooldownPeriod": autoscaling.cooldown_seconds,
        "triggers": [trigger(orchestrator, aws)],
    }


def queue_autoscaler(
    name: str,
    orchestrator: OrchestratorConfig,
    aws: AwsServices | None,
    scope: NamespaceScope,
    deployment: pulumi.Resource,
) -> None:
    """The TriggerAuthentication and the ScaledObject, after the Deployment they scale."""
    auth = k8s.apiextensions.CustomResource(
        f"{name}-queue-auth",
        api_version="keda.sh/v1alpha1",
        kind="TriggerAuthentication",
        metadata=metadata(TRIGGER_AUTHENTICATION, scope.name, "orchestrator", ORCHESTRATOR_APP),
        spec=trigger_authentication_spec(orchestrator),
        opts=scope.opts,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-scaler",
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata=metadata(ORCHESTRATOR_APP, scope.name, "orchestrator", ORCHESTRATOR_APP),
        spec=scaled_object_spec(orchestrator, aws),
        opts=scope.after(deployment, auth),
    )
