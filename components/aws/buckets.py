"""S3 buckets with every guard on: all four public-access blocks, ACLs disabled (bucket
owner owns every object), a bucket policy that refuses any request not made over TLS,
and default encryption.

The TLS guard is a Deny on ``s3:*``: a Deny with a wildcard can only take access away
(AwsSolutions-S10 asks for exactly this), unlike an Allow, which Airlock never writes
with a wildcard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pulumi
import pulumi_aws as aws

from components.aws.policy import Statement, deny, document
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack


@dataclass(frozen=True)
class SecureBucketArgs:
    stack: AwsStack
    # Globally unique names: S3 appends a random suffix to this prefix.
    bucket_prefix: str
    # Customer-managed key for SSE-KMS; None means SSE-S3 (AES-256), which S3 server access
    # log delivery requires of its target bucket.
    kms_key_arn: pulumi.Input[str] | None
    object_lock: bool = False
    # Extra bucket policy statements, built from the bucket ARN (e.g. log delivery).
    extra_statements: Sequence[Callable[[pulumi.Output[str]], Statement]] = ()


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    public_access_block: aws.s3.BucketPublicAccessBlock
    policy: aws.s3.BucketPolicy

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:SecureBucket", name, None, opts)
        stack = args.stack
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            bucket_prefix=args.bucket_prefix,
            object_lock_enabled=args.object_lock or None,
            # Never delete objects to make `pulumi destroy` succeed; locked ones cannot be anyway.
            force_destroy=False,
            tags=aws_tags(stack, args.bucket_prefix.rstrip("-")),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.object_lock),
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            name,
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        if args.kms_key_arn is not None:
            encryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn
            )
        else:
            encryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=encryption,
                    # One data key per bucket instead of per object: far fewer KMS calls.
                    bucket_key_enabled=args.kms_key_arn is not None or None,
                )
            ],
            opts=child,
        )
        statements: list[Statement] = [
            deny(
                ["s3:*"],
                [self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*")],
                sid="DenyAnyRequestWithoutTls",
                principal="*",
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            ),
            *[build(self.bucket.arn) for build in args.extra_statements],
        ]
        self.policy = aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=document(*statements),
            # A policy the public-access block would reject must never race ahead of it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})
