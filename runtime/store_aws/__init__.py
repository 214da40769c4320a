"""The AWS backend of the store interface: SQS (work queue, leases, DLQ), DynamoDB (one table), S3."""
