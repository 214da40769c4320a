"""The container registry: one ECR repository per Airlock image.

Tags are immutable (a tag can never be re-pointed at other content), every push is
scanned, and images are encrypted with a customer-managed key. The runtime, the sandbox
executor and vLLM always get a repository; an airgapped stack gets one for every image
(proxy, collector, device plugin too), so nothing is ever pulled from outside.
``repository_urls`` is keyed by ImagesConfig field name, which is what
``components.config.images.resolve_image`` looks up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.names import lowercase_scoped
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.schema import IMAGE_KEYS

# Images Airlock builds or always mirrors; the rest only when nothing may come from outside.
ALWAYS_MIRRORED = ("runtime", "sandbox_executor", "vllm")
# Repositories keep this many tagged images; older ones expire. Untagged images are never
# expired: the per-architecture manifests of a multi-arch image are untagged, and
# deleting them would break the tagged image that points at them.
KEEP_TAGGED_IMAGES = 50
ECR_NAME_MAX = 256


def registry_image_keys(stack: AwsStack) -> list[str]:
    if stack.profile == "airgapped":
        return list(IMAGE_KEYS)
    return list(ALWAYS_MIRRORED)


def lifecycle_policy() -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the newest {KEEP_TAGGED_IMAGES} tagged images; never expire untagged manifests",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": KEEP_TAGGED_IMAGES,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True)
class RegistryArgs:
    stack: AwsStack
    account: AwsAccount


class Registry(pulumi.ComponentResource):
    key: EncryptionKey
    repositories: dict[str, aws.ecr.Repository]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:Registry", name, None, opts)
        stack = args.stack
        child = pulumi.ResourceOptions(parent=self)
        self.key = EncryptionKey(
            f"{name}-images",
            EncryptionKeyArgs(
                stack, args.account, purpose="ecr", description="Container images in ECR", via_services=("ecr",)
            ),
            child,
        )
        self.repositories = {}
        for key in registry_image_keys(stack):
            repository_name = lowercase_scoped(stack, key.replace("_", "-"), ECR_NAME_MAX, separator="/")
            repository = aws.ecr.Repository(
                f"{name}-{key.replace('_', '-')}",
                name=repository_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=self.key.arn)
                ],
                # Deleting the stack must not silently delete pinned images others may still run.
                force_delete=False,
                tags=aws_tags(stack, repository_name, **{"airlock:image": key}),
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{key.replace('_', '-')}",
                repository=repository.name,
                policy=lifecycle_policy(),
                opts=child,
            )
            self.repositories[key] = repository
        self.repository_urls = {key: repo.repository_url for key, repo in self.repositories.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})
