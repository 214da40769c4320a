"""The agent runtime's store and the autoscaler that reads it.

* Replicas of the runtime share one durable store: a SQLite file is one pod's, so a second
  replica (or an autoscaled one) would run a second queue and lose it with its pod.
* KEDA triggers carry no credentials and read AWS with pod identity: a literal password
  in a ScaledObject, or static AWS keys in a TriggerAuthentication, sit in plain objects
  anyone who can read them gets.
"""

from __future__ import annotations

from typing import Any, Iterator

from policy.bundle import AuditBundle
from policy.kube import containers, pod_spec
from policy.model import Problem, Resource, Violation
from policy.rules.define import resource_rule, stack_rule
from runtime import contract

SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
# Trigger metadata keys that hold a secret when written literally (KEDA's scalers read them
# from a TriggerAuthentication instead).
LITERAL_SECRET_KEYS = ("password", "connection", "connectionstring", "awsaccesskeyid", "awssecretaccesskey", "awssessiontoken")
# TriggerAuthentication parameters that are static AWS keys, whatever their source.
STATIC_AWS_KEYS = ("awsaccesskeyid", "awssecretaccesskey", "awssessiontoken")


def _runtime_env(workload: Resource) -> dict[str, Any] | None:
    """The env of the agent runtime's container (it carries the agent version), or None."""
    found = pod_spec(workload)
    if found is None:
        return None
    for container, _ in containers(*found):
        env = {str(e.get("name")): e.get("value") for e in container.get("env") or [] if isinstance(e, dict)}
        if contract.AGENT_VERSION_ENV in env:
            return env
    return None


def _most_replicas(bundle: AuditBundle, workload: Resource) -> int:
    most = int((workload.inputs.get("spec") or {}).get("replicas", 1))
    for scaler in bundle.of_type(SCALED_OBJECT):
        spec = scaler.inputs.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name")
        if scaler.namespace == workload.namespace and target == workload.metadata.get("name"):
            most = max(most, int(spec.get("maxReplicaCount", 100)))
    return most


@stack_rule(
    "AIRLOCK-K8S-020",
    "Agent runtime replicas share one durable store",
    "high",
    "The embedded SQLite store is a file on one pod's volume: with more replicas each runs its own queue, "
    "tasks submitted to one are invisible to the others, and a pod's tasks end with the pod.",
)
def shared_runtime_store(bundle: AuditBundle) -> Iterator[Violation]:
    for workload in bundle.kubernetes():
        env = _runtime_env(workload)
        if env is None:
            continue
        store = str(env.get(contract.STORE_ENV) or "sqlite:")
        most = _most_replicas(bundle, workload)
        if most > 1 and store.startswith("sqlite:"):
            yield Violation(workload, "spec.replicas", f"up to {most} replicas on the per-pod SQLite store (AIRLOCK_STORE unset or sqlite)")


@resource_rule(
    "AIRLOCK-K8S-021",
    "Autoscaler triggers hold no credentials; AWS access by pod identity",
    "high",
    "A ScaledObject's metadata and a TriggerAuthentication are plain objects: a password or static AWS key in "
    "them is readable by anyone who can read the object, and never rotates. Passwords come from a Secret "
    "(secretTargetRef); AWS from the operator's IRSA role (podIdentity provider aws).",
    [SCALED_OBJECT, TRIGGER_AUTHENTICATION],
)
def scaler_credentials(resource: Resource) -> Iterator[Problem]:
    spec = resource.inputs.get("spec") or {}
    if resource.type == SCALED_OBJECT:
        for index, trigger in enumerate(spec.get("triggers") or []):
            for key, value in ((trigger or {}).get("metadata") or {}).items():
                if str(key).lower() in LITERAL_SECRET_KEYS and value:
                    yield Problem(f"spec.triggers[{index}].metadata.{key}", f"{key} is written into the trigger")
        return
    for field in ("secretTargetRef", "env", "configMapTargetRef"):
        for index, ref in enumerate(spec.get(field) or []):
            if str((ref or {}).get("parameter", "")).lower() in STATIC_AWS_KEYS:
                yield Problem(f"spec.{field}[{index}].parameter", f"static AWS key {ref.get('parameter')}; use podIdentity provider aws")
    if (spec.get("awsSecretManager") or {}).get("credentials"):
        yield Problem("spec.awsSecretManager.credentials", "static AWS keys read Secrets Manager; use podIdentity provider aws")
