"""What the AWS backend reads from the environment, checked once, and its boto3 clients.

The orchestrator's pod gets these variables from the stack (components/aws); a missing or
malformed one is refused before anything starts, naming the variable. Clients are created
the ordinary way, so botocore's own endpoint settings (``AWS_ENDPOINT_URL``, per-service
``AWS_ENDPOINT_URL_SQS`` ...) and credential chain (pod identity) apply; retries are set
explicitly so throttling and 5xx answers are retried with backoff, not surfaced, and each
client is wrapped so an answer only the operator can fix names what to fix (explain.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime import contract
from runtime.errors import BadInput
from runtime.store_aws.explain import ExplainingClient

RETRY_MODE = "adaptive"
"""botocore's 'standard' retries (throttling, 5xx, transient errors, with jittered backoff)
plus client-side rate limiting when the service throttles."""
MAX_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
"""Longer than any SQS long poll the backend makes (see work_queue.RECEIVE_WAIT_SECONDS)."""

_QUEUE_URL = re.compile(r"^https?://[^/\s]+/\d{12}/[A-Za-z0-9_-]{1,80}$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class AwsSettings:
    queue_url: str
    dead_letter_queue_url: str
    table: str
    audit_bucket: str
    payload_bucket: str
    region: str


def _read(env: Mapping[str, str], name: str, pattern: re.Pattern[str], allowed: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise BadInput(f"{name}: not set; AIRLOCK_STORE=aws: needs it ({allowed})")
    if not pattern.match(value):
        raise BadInput(f"{name}: {value!r} is not valid; allowed: {allowed}")
    return value


def settings_from_env(env: Mapping[str, str] | None = None) -> AwsSettings:
    env = os.environ if env is None else env
    region_name = "AWS_REGION" if env.get("AWS_REGION", "").strip() or not env.get("AWS_DEFAULT_REGION") else "AWS_DEFAULT_REGION"
    return AwsSettings(
        queue_url=_read(env, contract.QUEUE_URL_ENV, _QUEUE_URL, "an SQS queue URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"),
        dead_letter_queue_url=_read(
            env, contract.DEAD_LETTER_QUEUE_URL_ENV, _QUEUE_URL, "the work queue's dead-letter queue URL"
        ),
        table=_read(env, contract.CHECKPOINT_TABLE_ENV, _TABLE, "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"),
        audit_bucket=_read(env, contract.AUDIT_BUCKET_ENV, _BUCKET, "an S3 bucket name (3-63 of a-z 0-9 . -)"),
        payload_bucket=_read(env, contract.PAYLOAD_BUCKET_ENV, _BUCKET, "an S3 bucket name (3-63 of a-z 0-9 . -)"),
        region=_read(env, region_name, _REGION, "an AWS region such as eu-central-1"),
    )


@dataclass
class AwsClients:
    sqs: Any
    dynamodb: Any
    s3: Any


def make_clients(settings: AwsSettings) -> AwsClients:
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=settings.region,
        retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    session = boto3.session.Session(region_name=settings.region)
    return AwsClients(*(
        ExplainingClient(session.client(service, config=config), service, settings) for service in ("sqs", "dynamodb", "s3")
    ))
