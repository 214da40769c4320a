"""The AWS test harness itself: resources like the stack's, calls recorded, faults retried by botocore."""

from __future__ import annotations

import json

import pytest
from aws_moto import Fault, client
from botocore.config import Config
from botocore.exceptions import ClientError

from components.aws.runtime_stores import MAX_RECEIVES, TTL_ATTRIBUTE


def through_proxy(aws, service, attempts=5):  # type: ignore[no-untyped-def]
    import boto3

    env = aws.env
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_resources_are_configured_like_the_stack(aws):
    sqs, dynamodb, s3 = aws.client("sqs"), aws.client("dynamodb"), aws.client("s3")
    attrs = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=aws.dead_letter_queue_url, AttributeNames=["QueueArn"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": MAX_RECEIVES}
    table = dynamodb.describe_table(TableName=aws.table)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    ttl = dynamodb.describe_time_to_live(TableName=aws.table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == TTL_ATTRIBUTE and ttl["TimeToLiveStatus"] == "ENABLED"
    lock = s3.get_object_lock_configuration(Bucket=aws.audit_bucket)["ObjectLockConfiguration"]
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert s3.get_bucket_versioning(Bucket=aws.audit_bucket)["Status"] == "Enabled"
    assert aws.env["AIRLOCK_STORE"] == "aws:" and aws.env["AIRLOCK_QUEUE_URL"].startswith(aws.env["AWS_ENDPOINT_URL"])


def test_proxy_records_operations_and_their_targets(aws, aws_emulator):
    sqs, dynamodb, s3 = through_proxy(aws, "sqs"), through_proxy(aws, "dynamodb"), through_proxy(aws, "s3")
    sqs.send_message(QueueUrl=aws.queue_url, MessageBody="x")
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": aws.table, "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}}}},
            {"ConditionCheck": {"TableName": aws.table, "Key": {"pk": {"S": "c"}, "sk": {"S": "d"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    s3.put_object(Bucket=aws.payload_bucket, Key="k/1", Body=b"payload")
    assert s3.get_object(Bucket=aws.payload_bucket, Key="k/1")["Body"].read() == b"payload"
    seen = [(c.service, c.operation, c.targets) for c in aws_emulator.proxy.calls_on(aws.names)]
    queue = aws.queue_url.rsplit("/", 1)[1]
    assert seen == [
        ("sqs", "SendMessage", ((queue, "SendMessage"),)),
        ("dynamodb", "TransactWriteItems", ((aws.table, "Put"), (aws.table, "ConditionCheck"))),
        ("s3", "PutObject", ((aws.payload_bucket, "PutObject"),)),
        ("s3", "GetObject", ((aws.payload_bucket, "GetObject"),)),
    ]


@pytest.mark.parametrize(
    ("service", "error"), [("dynamodb", "throttle"), ("dynamodb", 500), ("sqs", "throttle"), ("sqs", 503), ("s3", "throttle"), ("s3", 500)]
)
def test_injected_faults_are_retried_by_botocore(aws, aws_emulator, service, error):
    operation = {"dynamodb": "PutItem", "sqs": "SendMessage", "s3": "PutObject"}[service]
    fault = aws_emulator.proxy.inject(Fault(service, operation, error, times=2))
    api = through_proxy(aws, service)
    if service == "dynamodb":
        api.put_item(TableName=aws.table, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
        assert "Item" in aws.client("dynamodb").get_item(TableName=aws.table, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
    elif service == "sqs":
        api.send_message(QueueUrl=aws.queue_url, MessageBody="m")
    else:
        api.put_object(Bucket=aws.payload_bucket, Key="k", Body=b"v")
    calls = [c for c in aws_emulator.proxy.calls_on(aws.names) if c.operation == operation]
    assert [c.injected for c in calls] == [True, True, False]
    assert fault.injected == 2 and calls[-1].status == 200


def test_a_fault_that_outlasts_the_retries_reaches_the_caller_with_the_service_code(aws, aws_emulator):
    aws_emulator.proxy.inject(Fault("dynamodb", "GetItem", "throttle", fraction=1.0))
    with pytest.raises(ClientError) as caught:
        through_proxy(aws, "dynamodb", attempts=2).get_item(TableName=aws.table, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert len(aws_emulator.proxy.calls_on(aws.names)) == 2


def test_moto_server_fixture_is_the_same_emulator(moto_server, aws_emulator):
    assert moto_server == aws_emulator.url
    assert "Buckets" in client(moto_server, "s3").list_buckets()
