"""S3 buckets: public access, TLS, logging, encryption, versioning, bucket policies."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import statements
from policy.bundle import AuditBundle
from policy.model import Problem, Resource, Violation
from policy.rules.define import resource_rule, stack_rule

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
# S3 completes a bucketPrefix with this many characters.
BUCKET_SUFFIX_LENGTH = 26
PAB_FIELDS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _names(bucket: Resource, name: str) -> bool:
    inputs = bucket.inputs
    if inputs.get("bucket"):
        return inputs["bucket"] == name
    prefix = str(inputs.get("bucketPrefix") or "")
    return bool(prefix) and name.startswith(prefix) and len(name) == len(prefix) + BUCKET_SUFFIX_LENGTH


def _configs(bundle: AuditBundle, bucket: Resource, *types: str) -> list[Resource]:
    return [r for r in bundle.of_type(*types) if _names(bucket, str(r.inputs.get("bucket", "")))]

@stack_rule(
    "AIRLOCK-S3-001",
    "Every bucket blocks all four kinds of public access",
    "high",
    "Block public ACLs and policies, ignore existing public ACLs and restrict public buckets: one missing flag is how audit logs end up public.",
    checkov=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
)
def public_access_blocked(bundle: AuditBundle) -> Iterator[Violation]:
    for bucket in bundle.of_type(BUCKET):
        blocks = _configs(bundle, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield Violation(bucket, "", "no public-access block for this bucket")
        for block in blocks:
            for field in PAB_FIELDS:
                if block.inputs.get(field) is not True:
                    yield Violation(block, field, f"{field} is not true")


@stack_rule(
    "AIRLOCK-S3-002",
    "Every bucket policy denies requests without TLS",
    "medium",
    "Without a Deny on aws:SecureTransport=false, clients may read and write objects over plain HTTP.",
    cdk_nag=("AwsSolutions-S10",),
)
def tls_only(bundle: AuditBundle) -> Iterator[Violation]:
    for bucket in bundle.of_type(BUCKET):
        policies = _configs(bundle, bucket, BUCKET_POLICY) or ([] if bucket.inputs.get("policy") is None else [bucket])
        denies = [
            s
            for policy in policies
            for s in statements(policy, "policy")
            if s.effect == "Deny" and str((s.condition.get("Bool") or {}).get("aws:SecureTransport")).lower() == "false"
        ]
        if not denies:
            yield Violation(bucket, "", "no bucket policy statement denies requests without TLS")


@stack_rule(
    "AIRLOCK-S3-003",
    "Every bucket has server access logging (except the log bucket itself)",
    "low",
    "Access logs show who read or changed audit records; the bucket that receives logs is exempt (logging it to itself loops).",
    cdk_nag=("AwsSolutions-S1",),
    checkov=("CKV_AWS_18",),
)
def access_logging(bundle: AuditBundle) -> Iterator[Violation]:
    targets = {str(r.inputs.get("targetBucket")) for r in bundle.of_type(*BUCKET_LOGGING)}
    for bucket in bundle.of_type(BUCKET):
        if any(_names(bucket, target) for target in targets):
            continue
        if not _configs(bundle, bucket, *BUCKET_LOGGING) and not bucket.inputs.get("loggings"):
            yield Violation(bucket, "", "no server access logging")


@stack_rule(
    "AIRLOCK-S3-004",
    "Every bucket is encrypted with a KMS key by default",
    "medium",
    "SSE-KMS with a customer key puts reads behind a key policy and CloudTrail; SSE-S3 does neither. "
    "Buckets receiving server access logs are exempt: S3 log delivery supports only SSE-S3 there.",
    checkov=("CKV_AWS_145",),
)
def kms_encryption(bundle: AuditBundle) -> Iterator[Violation]:
    targets = {str(r.inputs.get("targetBucket")) for r in bundle.of_type(*BUCKET_LOGGING)}
    for bucket in bundle.of_type(BUCKET):
        if any(_names(bucket, target) for target in targets):
            continue
        configs = _configs(bundle, bucket, *BUCKET_ENCRYPTION)
        algorithms = [
            ((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for config in configs
            for rule in config.inputs.get("rules") or []
        ]
        if not any(a in ("aws:kms", "aws:kms:dsse") for a in algorithms):
            yield Violation(bucket, "", "no default encryption with a KMS key")


@stack_rule(
    "AIRLOCK-S3-005",
    "Every bucket has versioning enabled",
    "low",
    "Versioning keeps overwritten or deleted objects recoverable (and is required for Object Lock).",
    checkov=("CKV_AWS_21",),
)
def versioning(bundle: AuditBundle) -> Iterator[Violation]:
    for bucket in bundle.of_type(BUCKET):
        statuses = [((c.inputs.get("versioningConfiguration") or {}).get("status")) for c in _configs(bundle, bucket, *BUCKET_VERSIONING)]
        if "Enabled" not in statuses:
            yield Violation(bucket, "", "versioning is not enabled")


@resource_rule(
    "AIRLOCK-S3-006",
    "No bucket policy allows access to everyone",
    "high",
    "An Allow with Principal '*' and no condition makes the bucket's objects public regardless of ACLs.",
    [BUCKET_POLICY],
)
def bucket_policy_not_public(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "policy"):
        if statement.effect == "Allow" and "*" in statement.principals() and not statement.condition:
            yield Problem(f"{statement.path}.Principal", "allows any principal without a condition")
