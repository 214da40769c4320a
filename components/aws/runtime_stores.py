"""The AWS stores the agent runtime uses: work queue, state table, audit bucket, payload bucket.

* SQS work queue with a dead-letter queue: a task that fails ``MAX_RECEIVES`` times is
  parked for inspection instead of being retried forever.
* DynamoDB table holding checkpoints and the idempotency ledger (key design in
  docs/aws.md): point-in-time recovery, deletion protection, KMS.
* S3 audit bucket: Object Lock in COMPLIANCE mode for ``orchestrator.auditRetentionDays``
  (nobody, root included, can delete or shorten a record's retention), versioned,
  SSE-KMS, access-logged to a separate log bucket.
* S3 payload bucket: state too big for a DynamoDB item (a message over ~350 KB), referenced
  from the item. Not Object-Locked (payloads are working state, not evidence); versioned,
  SSE-KMS, access-logged like the audit bucket; objects expire after
  ``PAYLOAD_RETENTION_DAYS`` (older versions after ``PAYLOAD_NONCURRENT_DAYS``).

The queues, the table and the audit and payload buckets are encrypted with one
customer-managed key usable only through SQS, S3 and DynamoDB. The orchestrator's role
gets a policy naming exactly these resources; no statement in it needs ``"Resource": "*"``
(every action used supports resource ARNs).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.buckets import SecureBucket, SecureBucketArgs
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.names import BUCKET_PREFIX_MAX, SQS_MAX, lowercase_scoped, scoped
from components.aws.policy import Statement, allow, document
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack

PARTITION_KEY = "pk"
SORT_KEY = "sk"
# Optional per-item expiry (epoch seconds) for ledger entries of finished tasks.
TTL_ATTRIBUTE = "expiresAt"
MAX_RECEIVES = 5
# A step (model call plus tools) must finish, or extend its lease, within this time.
VISIBILITY_TIMEOUT_SECONDS = 300
WORK_RETENTION_SECONDS = 4 * 24 * 3600
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to investigate
KMS_DATA_KEY_REUSE_SECONDS = 300
AUDIT_LOG_PREFIX = "audit-bucket/"
PAYLOAD_LOG_PREFIX = "payload-bucket/"
# How long a large message stays readable: a task parked (for an approval) longer than this
# cannot resume, and a finished task's large messages are gone after it (docs/runtime.md, Stores).
PAYLOAD_RETENTION_DAYS = 90
# An overwritten or deleted payload stays recoverable this long (the bucket is versioned).
PAYLOAD_NONCURRENT_DAYS = 7

QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
)
# Append and read; no DeleteItem/BatchWriteItem: checkpoints and ledger entries are never
# removed by the runtime (TTL expires them).
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# Write-once audit records: put and read, never delete (Object Lock would refuse anyway).
AUDIT_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
AUDIT_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
# Large messages: written once per message, read back on resume.
PAYLOAD_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")


@dataclass(frozen=True)
class RuntimeStoresArgs:
    stack: AwsStack
    account: AwsAccount
    # The orchestrator's IRSA role: gets exactly the access below.
    access_role: aws.iam.Role
    # orchestrator.auditRetentionDays: how long audit records stay locked.
    audit_retention_days: int


class RuntimeStores(pulumi.ComponentResource):
    key: EncryptionKey
    queue: aws.sqs.Queue
    dead_letter_queue: aws.sqs.Queue
    table: aws.dynamodb.Table
    audit_bucket: SecureBucket
    audit_log_bucket: SecureBucket
    payload_bucket: SecureBucket

    def __init__(self, name: str, args: RuntimeStoresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:RuntimeStores", name, None, opts)
        stack, account = args.stack, args.account
        self._stack, self._account = stack, account
        self._audit_retention_days = args.audit_retention_days
        child = pulumi.ResourceOptions(parent=self)
        self.key = EncryptionKey(
            f"{name}-key",
            EncryptionKeyArgs(
                stack,
                account,
                purpose="runtime-data",
                description="Agent runtime queue, state table and audit records",
                via_services=("sqs", "s3", "dynamodb"),
            ),
            child,
        )
        self._queues(name)
        self._table(name)
        self._buckets(name)
        self._grant(name, args.access_role)
        self.register_outputs(
            {
                "queueUrl": self.queue.url,
                "deadLetterQueueUrl": self.dead_letter_queue.url,
                "tableName": self.table.name,
                "auditBucket": self.audit_bucket.bucket.bucket,
                "auditLogBucket": self.audit_log_bucket.bucket.bucket,
                "payloadBucket": self.payload_bucket.bucket.bucket,
            }
        )

    def _queues(self, name: str) -> None:
        stack = self._stack
        child = pulumi.ResourceOptions(parent=self)
        encryption = {"kms_master_key_id": self.key.arn, "kms_data_key_reuse_period_seconds": KMS_DATA_KEY_REUSE_SECONDS}
        dlq_name = scoped(stack, "work-dlq", SQS_MAX)
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-work-dlq",
            name=dlq_name,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags=aws_tags(stack, dlq_name),
            opts=child,
            **encryption,
        )
        queue_name = scoped(stack, "work", SQS_MAX)
        self.queue = aws.sqs.Queue(
            f"{name}-work",
            name=queue_name,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=WORK_RETENTION_SECONDS,
            # Long polling: fewer empty receives, lower cost and latency.
            receive_wait_time_seconds=20,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": MAX_RECEIVES}
            ),
            tags=aws_tags(stack, queue_name),
            opts=child,
            **encryption,
        )
        # Only the work queue may move messages into the dead-letter queue.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-work-dlq",
            queue_url=self.dead_letter_queue.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}
            ),
            opts=child,
        )

    def _table(self, name: str) -> None:
        stack = self._stack
        table_name = scoped(stack, "state", 255)
        self.table = aws.dynamodb.Table(
            f"{name}-state",
            name=table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=PARTITION_KEY, type="S"),
                aws.dynamodb.TableAttributeArgs(name=SORT_KEY, type="S"),
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=self.key.arn),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=TTL_ATTRIBUTE, enabled=True),
            deletion_protection_enabled=True,
            tags=aws_tags(stack, table_name),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _buckets(self, name: str) -> None:
        stack, account = self._stack, self._account
        child = pulumi.ResourceOptions(parent=self)
        self.audit_bucket = SecureBucket(
            f"{name}-audit",
            SecureBucketArgs(
                stack,
                bucket_prefix=lowercase_scoped(stack, "audit-", BUCKET_PREFIX_MAX),
                kms_key_arn=self.key.arn,
                object_lock=True,
            ),
            child,
        )
        retention_days = self._audit_retention_days
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-audit",
            bucket=self.audit_bucket.bucket.id,
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode="COMPLIANCE", days=retention_days
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.audit_bucket.versioning]),
        )
        audit_arn = self.audit_bucket.bucket.arn
        self._payload_bucket(name)
        payload_arn = self.payload_bucket.bucket.arn
        self.audit_log_bucket = SecureBucket(
            f"{name}-audit-logs",
            SecureBucketArgs(
                stack,
                bucket_prefix=lowercase_scoped(stack, "audit-logs-", BUCKET_PREFIX_MAX),
                # S3 server access logs can only be delivered to SSE-S3 buckets, not SSE-KMS.
                kms_key_arn=None,
                # The log bucket's own access is not logged again (that would recurse).
                extra_statements=[
                    lambda log_arn: _log_delivery(account, log_arn, audit_arn, AUDIT_LOG_PREFIX, "AuditBucket"),
                    lambda log_arn: _log_delivery(account, log_arn, payload_arn, PAYLOAD_LOG_PREFIX, "PayloadBucket"),
                ],
            ),
            child,
        )
        aws.s3.BucketLogging(
            f"{name}-audit",
            bucket=self.audit_bucket.bucket.id,
            target_bucket=self.audit_log_bucket.bucket.id,
            target_prefix=AUDIT_LOG_PREFIX,
            # Delivery must be allowed before S3 tests it when logging is switched on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.audit_log_bucket.policy]),
        )
        aws.s3.BucketLogging(
            f"{name}-payload",
            bucket=self.payload_bucket.bucket.id,
            target_bucket=self.audit_log_bucket.bucket.id,
            target_prefix=PAYLOAD_LOG_PREFIX,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.audit_log_bucket.policy]),
        )

    def _payload_bucket(self, name: str) -> None:
        stack = self._stack
        self.payload_bucket = SecureBucket(
            f"{name}-payload",
            SecureBucketArgs(
                stack,
                bucket_prefix=lowercase_scoped(stack, "payload-", BUCKET_PREFIX_MAX),
                kms_key_arn=self.key.arn,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-payload",
            bucket=self.payload_bucket.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-payloads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=PAYLOAD_RETENTION_DAYS),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=PAYLOAD_NONCURRENT_DAYS
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.payload_bucket.versioning]),
        )

    def _grant(self, name: str, role: aws.iam.Role) -> None:
        account = self._account
        audit_arn = self.audit_bucket.bucket.arn
        aws.iam.RolePolicy(
            f"{name}-access",
            role=role.name,
            policy=document(
                allow(QUEUE_ACTIONS, [self.queue.arn], sid="WorkQueue"),
                allow(["sqs:GetQueueAttributes"], [self.dead_letter_queue.arn], sid="DeadLetterQueueDepth"),
                allow(TABLE_ACTIONS, [self.table.arn], sid="CheckpointsAndLedger"),
                allow(AUDIT_BUCKET_ACTIONS, [audit_arn], sid="AuditBucket"),
                allow(AUDIT_OBJECT_ACTIONS, [pulumi.Output.concat(audit_arn, "/*")], sid="AuditRecords"),
                allow(
                    PAYLOAD_OBJECT_ACTIONS,
                    [pulumi.Output.concat(self.payload_bucket.bucket.arn, "/*")],
                    sid="LargePayloads",
                ),
                allow(
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [self.key.arn],
                    sid="DataKeyThroughTheseServices",
                    conditions={
                        "StringEquals": {"kms:ViaService": [account.regional_service(s) for s in ("sqs", "s3")]}
                    },
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _log_delivery(
    account: AwsAccount, log_bucket_arn: pulumi.Output[str], source_bucket_arn: pulumi.Output[str], prefix: str, source: str
) -> Statement:
    """S3's log delivery service may write access logs of exactly one bucket, under its own prefix."""
    return allow(
        ["s3:PutObject"],
        [pulumi.Output.concat(log_bucket_arn, "/", prefix, "*")],
        sid=f"S3ServerAccessLogsOfThe{source}",
        principal={"Service": "logging.s3.amazonaws.com"},
        conditions={"ArnLike": {"aws:SourceArn": source_bucket_arn}, "StringEquals": {"aws:SourceAccount": account.id}},
    )
