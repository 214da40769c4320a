"""ECR repositories: immutable tags, scanning, encryption, repository policies."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import statements
from policy.model import Problem, Resource
from policy.rules.define import resource_rule

REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"

@resource_rule(
    "AIRLOCK-ECR-001",
    "ECR tags are immutable",
    "medium",
    "With mutable tags, whoever can push can replace the image a running stack pulls next.",
    [REPOSITORY],
    checkov=("CKV_AWS_51",),
)
def immutable_tags(resource: Resource) -> Iterator[Problem]:
    if not str(resource.inputs.get("imageTagMutability", "MUTABLE")).startswith("IMMUTABLE"):
        yield Problem("imageTagMutability", "tags are mutable")


@resource_rule(
    "AIRLOCK-ECR-002",
    "ECR scans images on push",
    "low",
    "Scan on push reports known vulnerabilities before an image is deployed.",
    [REPOSITORY],
    checkov=("CKV_AWS_163",),
)
def scan_on_push(resource: Resource) -> Iterator[Problem]:
    if (resource.inputs.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        yield Problem("imageScanningConfiguration.scanOnPush", "images are not scanned on push")


@resource_rule(
    "AIRLOCK-ECR-003",
    "ECR repositories are encrypted with a KMS key",
    "low",
    "A customer key puts image pulls behind a key policy and CloudTrail (the default AES256 does neither).",
    [REPOSITORY],
    checkov=("CKV_AWS_136",),
)
def repository_kms(resource: Resource) -> Iterator[Problem]:
    configs = resource.inputs.get("encryptionConfigurations") or []
    if not any((c or {}).get("encryptionType") == "KMS" for c in configs):
        yield Problem("encryptionConfigurations", "not encrypted with KMS")


@resource_rule(
    "AIRLOCK-ECR-004",
    "No repository policy lets everyone pull or push",
    "high",
    "Principal '*' on a repository publishes model-serving and runtime images (and their baked-in code) to every AWS account.",
    [REPOSITORY_POLICY],
)
def repository_not_public(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "policy"):
        if statement.effect == "Allow" and "*" in statement.principals() and not statement.condition:
            yield Problem(f"{statement.path}.Principal", "any principal may use this repository")
