"""ECR repositories as synthesized."""

from __future__ import annotations

import json

import pytest

from aws_bundle import AWS_STACKS
from support import shipped

ALL_IMAGES = {"runtime", "sandbox_executor", "vllm", "egress_proxy", "otel_collector", "nvidia_device_plugin"}


def repositories(stack: str) -> dict[str, dict]:
    return {r["inputs"]["tags"]["airlock:image"]: r["inputs"] for r in shipped(stack).of_type("aws:ecr/repository:Repository")}


@pytest.mark.parametrize("stack, images", [("prod", {"runtime", "sandbox_executor", "vllm"}), ("airgap", ALL_IMAGES)])
def test_repository_per_image(stack: str, images: set[str]) -> None:
    assert set(repositories(stack)) == images
    # The URLs the workloads resolve images against, keyed as ImagesConfig fields.
    assert set(shipped(stack).outputs["registryUrls"]) == images


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_repositories_are_immutable_scanned_and_kms_encrypted(stack: str) -> None:
    for image, repository in repositories(stack).items():
        assert repository["imageTagMutability"] == "IMMUTABLE", image
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}, image
        (encryption,) = repository["encryptionConfigurations"]
        assert encryption["encryptionType"] == "KMS" and encryption["kmsKey"].startswith("arn:aws:kms:"), image


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_lifecycle_never_expires_untagged_manifests(stack: str) -> None:
    bundle = shipped(stack)
    policies = bundle.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == len(bundle.of_type("aws:ecr/repository:Repository"))
    for policy in policies:
        for rule in json.loads(policy["inputs"]["policy"])["rules"]:
            assert rule["selection"]["tagStatus"] == "tagged"
