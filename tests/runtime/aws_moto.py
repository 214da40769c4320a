"""AWS in the tests: moto's server over real HTTP, the stack's resources, and a fault-injecting proxy.

* :class:`AwsEmulator` (the session fixture ``aws_emulator``): one ``ThreadedMotoServer`` on
  127.0.0.1 (port 0) and one :class:`FaultProxy` in front of it. The runtime under test is
  pointed at the *proxy* (``AWS_ENDPOINT_URL``), so every call it makes is recorded and can be
  failed on purpose; the tests' own setup talks to moto directly and is not recorded.
* :meth:`AwsEmulator.new_resources` creates a fresh set of the resources
  ``components/aws/runtime_stores.py`` creates (same key schema, TTL attribute, redrive policy,
  Object Lock mode, ...) under unique names and returns them with the env the runtime reads
  (the names in runtime/contract.py).
* :class:`FaultProxy` answers the next N calls, or a fraction of the calls, of one operation
  with the service's own throttling error or a 500/503, so botocore's retries run for real.
  :attr:`FaultProxy.calls` lists every AWS operation that reached it (IAM test).
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import boto3

from components.aws.runtime_stores import (
    DEAD_LETTER_RETENTION_SECONDS,
    MAX_RECEIVES,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    VISIBILITY_TIMEOUT_SECONDS,
    WORK_RETENTION_SECONDS,
)
from runtime.contract import (
    AUDIT_BUCKET_ENV,
    AWS_STORE,
    CHECKPOINT_TABLE_ENV,
    DEAD_LETTER_QUEUE_URL_ENV,
    PAYLOAD_BUCKET_ENV,
    QUEUE_URL_ENV,
    STORE_ENV,
)

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
AWS_CALLS_FILE_ENV = "AIRLOCK_TEST_AWS_CALLS_FILE"
"""When set, the session's emulator writes every call the runtime made there (IAM test)."""
AUDIT_RETENTION_DAYS = 1  # COMPLIANCE in moto too: the test's objects can never be deleted, only outlived


# ----------------------------------------------------------------------------- recorded calls


@dataclass(frozen=True)
class AwsCall:
    """One request that reached the proxy.

    ``targets`` names what it acted on: (resource name, sub-operation). The sub-operation is
    the item action inside DynamoDB's TransactWriteItems/TransactGetItems/BatchWriteItem
    ("Put", "Update", "Delete", "ConditionCheck", "Get"), else the operation itself.
    """

    service: str  # "dynamodb", "sqs", "s3"
    operation: str  # the API operation name, e.g. "PutItem", "ReceiveMessage", "PutObject"
    targets: tuple[tuple[str, str], ...]
    status: int  # what the caller got back
    injected: bool  # the proxy answered with a fault instead of forwarding

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name, _ in self.targets))


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _dynamodb_targets(operation: str, body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return tuple(
            (str(spec.get("TableName", "")), kind) for item in body.get("TransactItems", []) for kind, spec in item.items()
        )
    if operation == "BatchWriteItem":
        return tuple(
            (table, kind)
            for table, requests in body.get("RequestItems", {}).items()
            for request in requests
            for kind in request  # "PutRequest" / "DeleteRequest"
        )
    if operation == "BatchGetItem":
        return tuple((table, operation) for table in body.get("RequestItems", {}))
    return ((str(body.get("TableName", "")), operation),)


_S3_BUCKET_SUBRESOURCES = {  # (method, query key) -> operation
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "object-lock"): "GetObjectLockConfiguration",
    ("GET", "uploads"): "ListMultipartUploads",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("PUT", "object-lock"): "PutObjectLockConfiguration",
    ("PUT", "policy"): "PutBucketPolicy",
    ("POST", "delete"): "DeleteObjects",
}
_S3_OBJECT_SUBRESOURCES = {
    ("GET", "retention"): "GetObjectRetention",
    ("PUT", "retention"): "PutObjectRetention",
    ("GET", "legal-hold"): "GetObjectLegalHold",
    ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("GET", "tagging"): "GetObjectTagging",
    ("PUT", "tagging"): "PutObjectTagging",
    ("GET", "attributes"): "GetObjectAttributes",
    ("POST", "uploads"): "CreateMultipartUpload",
    ("GET", "uploadId"): "ListParts",
    ("PUT", "uploadId"): "UploadPart",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
}


def s3_operation(method: str, path: str, query: str) -> tuple[str, str]:
    """(operation, bucket) of a path-style S3 request."""
    bucket, _, key = path.lstrip("/").partition("/")
    params = parse_qs(query, keep_blank_values=True)
    table = _S3_OBJECT_SUBRESOURCES if key else _S3_BUCKET_SUBRESOURCES
    for (verb, sub), operation in table.items():
        if verb == method and sub in params:
            return operation, bucket
    if not bucket:
        return "ListBuckets", ""
    if key:
        plain = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
        if method == "PUT" and any(h for h in params if h == "x-id" and params[h] == ["CopyObject"]):
            return "CopyObject", bucket
        return plain.get(method, f"{method} object"), bucket
    plain = {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}
    if method == "GET":
        return ("ListObjectsV2" if params.get("list-type") == ["2"] else "ListObjects"), bucket
    return plain.get(method, f"{method} bucket"), bucket


# ----------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """Answer calls of ``operation`` (on ``service``) with an error instead of forwarding them.

    ``times``: the next N matching calls (then the rule is spent); ``fraction``: that share of
    matching calls, drawn from a seeded generator so a run is repeatable.
    ``error``: "throttle" (the service's own throttling error), "denied" (what IAM answers a
    call the role's policy does not allow) or an HTTP status (500, 503).
    ``resource``: only calls on this queue/table/bucket name (default: any).
    ``after_forward``: let the call reach moto first and only then answer with the error: the
    service did the work but the caller never heard (a lost response), so its retry repeats it.
    """

    service: str
    operation: str
    error: str | int = "throttle"
    times: int | None = None
    fraction: float | None = None
    resource: str | None = None
    after_forward: bool = False
    seed: int = 0
    injected: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.times is None) == (self.fraction is None):
            raise ValueError("a Fault takes exactly one of times= or fraction=")
        self._rng = random.Random(self.seed)

    def take(self, service: str, operation: str, resources: tuple[str, ...]) -> bool:
        if service != self.service or operation != self.operation:
            return False
        if self.resource is not None and self.resource not in resources:
            return False
        if self.times is not None:
            if self.injected >= self.times:
                return False
        elif self._rng.random() >= (self.fraction or 0.0):
            return False
        self.injected += 1
        return True


DENIED_ROLE = "arn:aws:sts::123456789012:assumed-role/airlock-orchestrator/botocore-session"


def _denied_message(service: str, operation: str) -> str:
    return (f"User: {DENIED_ROLE} is not authorized to perform: {service}:{operation} "
            f"because no identity-based policy allows the {service}:{operation} action")


def fault_response(service: str, error: str | int, operation: str = "") -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body AWS itself sends for this error (what botocore parses)."""
    request_id = str(uuid.uuid4())
    if service == "s3":
        code, status = {
            "throttle": ("SlowDown", 503),
            "denied": ("AccessDenied", 403),
            500: ("InternalError", 500),
            503: ("ServiceUnavailable", 503),
        }[error]
        message = _denied_message(service, operation) if error == "denied" else "injected by the test proxy"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body
    if error == "denied":
        code = "com.amazonaws.dynamodb.v20120810#AccessDeniedException" if service == "dynamodb" else "com.amazonaws.sqs#AccessDenied"
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
        if service == "sqs":
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
        return 400, headers, json.dumps({"__type": code, "message": _denied_message(service, operation)}).encode()
    if error == "throttle":
        code = (
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            if service == "dynamodb"
            else "com.amazonaws.sqs#ThrottlingException"
        )
        status = 400
    else:
        code, status = ("InternalServerError" if error == 500 else "ServiceUnavailable"), int(error)
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
    if service == "sqs":
        headers["x-amzn-query-error"] = f"{code.rsplit('#', 1)[-1]};Sender"
    body = json.dumps({"__type": code, "message": "injected by the test proxy"}).encode()
    return status, headers, body


# ----------------------------------------------------------------------------- the proxy


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of moto: records calls, injects faults."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.calls: list[AwsCall] = []
        self.journal: list[AwsCall] = []  # every call of the session: reset() keeps it
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as botocore expects

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def do_GET(self) -> None:
                proxy._handle(self)

            do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_GET

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], ConnectionError):
                    return  # the caller went away (a SIGKILLed serve): nothing to answer
                super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-fault-proxy", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget faults and recorded calls (each test starts clean)."""
        with self._lock:
            self.faults.clear()
            self.calls.clear()

    def calls_on(self, resource_names: Iterable[str]) -> list[AwsCall]:
        names = set(resource_names)
        with self._lock:
            return [c for c in self.calls if names.intersection(c.resources)]

    # -- request handling

    @staticmethod
    def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def _classify(handler: BaseHTTPRequestHandler, body: bytes) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        target = handler.headers.get("X-Amz-Target", "")
        split = urlsplit(handler.path)
        if target.startswith("DynamoDB_"):
            operation = target.split(".", 1)[1]
            return "dynamodb", operation, _dynamodb_targets(operation, json.loads(body or b"{}"))
        if target.startswith("AmazonSQS."):
            operation = target.split(".", 1)[1]
            payload = json.loads(body or b"{}")
            name = _queue_name(payload.get("QueueUrl", "")) or str(payload.get("QueueName", ""))
            return "sqs", operation, ((name, operation),)
        form = parse_qs(body.decode("utf-8", "replace")) if b"Action=" in body[:200] else parse_qs(split.query)
        if "Action" in form:  # the SQS query protocol (older botocore)
            operation = form["Action"][0]
            name = _queue_name(form.get("QueueUrl", [split.path])[0]) or form.get("QueueName", [""])[0]
            return "sqs", operation, ((name, operation),)
        operation, bucket = s3_operation(handler.command, split.path, split.query)
        # A read of a given version is its own IAM action (s3:GetObjectVersion).
        versioned = operation in ("GetObject", "HeadObject") and "versionId" in parse_qs(split.query)
        return "s3", operation, ((bucket, f"{operation}Version" if versioned else operation),)

    def _pick_fault(self, service: str, operation: str, targets: tuple[tuple[str, str], ...]) -> Fault | None:
        resources = tuple(name for name, _ in targets)
        with self._lock:
            for fault in self.faults:
                if fault.take(service, operation, resources):
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = self._read_body(handler)
        service, operation, targets = self._classify(handler, body)
        fault = self._pick_fault(service, operation, targets)
        if fault is None or fault.after_forward:
            status, headers, payload = self._forward(handler, body)
        if fault is not None:
            status, headers, payload = fault_response(service, fault.error, operation)
        with self._lock:
            call = AwsCall(service, operation, targets, status, fault is not None)
            self.calls.append(call)
            self.journal.append(call)
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP | {"content-length", "date", "server"}:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP | {"expect"}}
            headers["Content-Length"] = str(len(body))
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), payload
        finally:
            conn.close()


# ----------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class AwsResources:
    """One test's queue, DLQ, table and buckets, as the stack creates them."""

    queue_url: str
    dead_letter_queue_url: str
    table: str
    audit_bucket: str
    payload_bucket: str
    env: dict[str, str]  # what the runtime reads: through the proxy, dummy credentials
    moto_url: str  # direct to moto: for the tests' own inspection, never recorded

    @property
    def names(self) -> dict[str, str]:
        """resource name -> its role in runtime_stores.py (what the IAM policy grants it as)."""
        return {
            _queue_name(self.queue_url): "queue",
            _queue_name(self.dead_letter_queue_url): "dead_letter_queue",
            self.table: "table",
            self.audit_bucket: "audit_bucket",
            self.payload_bucket: "payload_bucket",
        }

    def client(self, service: str) -> Any:
        """A boto3 client straight to moto (not through the proxy)."""
        return client(self.moto_url, service)


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def aws_env(endpoint: str) -> dict[str, str]:
    """Point boto3 at ``endpoint`` with dummy credentials; nothing from the user's ~/.aws."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _via(url: str, endpoint: str) -> str:
    """The queue URL with the host replaced by ``endpoint``'s (the runtime must go through the proxy)."""
    parts, host = urlsplit(url), urlsplit(endpoint)
    return urlunsplit((host.scheme, host.netloc, parts.path, parts.query, parts.fragment))


def create_resources(
    moto_url: str,
    runtime_endpoint: str,
    *,
    prefix: str = "airlock",
    visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
    receive_wait_seconds: int = 20,
    max_receives: int = MAX_RECEIVES,
    audit_retention_days: int = AUDIT_RETENTION_DAYS,
) -> AwsResources:
    """Create fresh resources under unique names, configured like components/aws/runtime_stores.py.

    ``visibility_timeout`` / ``receive_wait_seconds`` / ``max_receives`` default to the stack's;
    a test may shorten them (the runtime sets its own lease and wait per call anyway).
    """
    suffix = uuid.uuid4().hex[:10]
    sqs, dynamodb, s3 = client(moto_url, "sqs"), client(moto_url, "dynamodb"), client(moto_url, "s3")

    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-work-dlq-{suffix}",
        Attributes={"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-work-{suffix}",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MessageRetentionPeriod": str(WORK_RETENTION_SECONDS),
            "ReceiveMessageWaitTimeSeconds": str(receive_wait_seconds),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=dlq_url,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn]})},
    )

    table = f"{prefix}-state-{suffix}"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}, {"AttributeName": SORT_KEY, "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        DeletionProtectionEnabled=True,
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )

    audit_bucket = f"{prefix}-audit-{suffix}"
    s3.create_bucket(Bucket=audit_bucket, ObjectLockEnabledForBucket=True)  # versioning comes with it
    s3.put_bucket_versioning(Bucket=audit_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(
        Bucket=audit_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": audit_retention_days}},
        },
    )
    payload_bucket = f"{prefix}-payload-{suffix}"
    s3.create_bucket(Bucket=payload_bucket)
    s3.put_bucket_versioning(Bucket=payload_bucket, VersioningConfiguration={"Status": "Enabled"})

    runtime_queue_url, runtime_dlq_url = _via(queue_url, runtime_endpoint), _via(dlq_url, runtime_endpoint)
    env = {
        **aws_env(runtime_endpoint),
        STORE_ENV: AWS_STORE,
        QUEUE_URL_ENV: runtime_queue_url,
        DEAD_LETTER_QUEUE_URL_ENV: runtime_dlq_url,
        CHECKPOINT_TABLE_ENV: table,
        AUDIT_BUCKET_ENV: audit_bucket,
        PAYLOAD_BUCKET_ENV: payload_bucket,
    }
    return AwsResources(runtime_queue_url, runtime_dlq_url, table, audit_bucket, payload_bucket, env, moto_url)


# ----------------------------------------------------------------------------- the session's emulator


class AwsEmulator:
    """moto's server plus the fault proxy; ``aws_emulator`` is one per test session."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"  # moto itself
        self.proxy = FaultProxy(self.url)
        self.roles: dict[str, str] = {}  # resource name -> role, for every resource set made

    def new_resources(
        self,
        *,
        prefix: str = "airlock",
        visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
        receive_wait_seconds: int = 20,
        max_receives: int = MAX_RECEIVES,
        journal: bool = True,
    ) -> AwsResources:
        """Fresh resources whose env sends the runtime through the proxy (see create_resources).
        ``journal``: the calls on them count as the runtime's (False for the harness's self-test)."""
        resources = create_resources(
            self.url,
            self.proxy.url,
            prefix=prefix,
            visibility_timeout=visibility_timeout,
            receive_wait_seconds=receive_wait_seconds,
            max_receives=max_receives,
        )
        if journal:
            self.roles.update(resources.names)
        return resources

    def used_operations(self) -> list[dict[str, Any]]:
        """Every call of the session on the resources made here: service, operation, the role of the
        resource (queue, table, audit_bucket, ...), the item action and the status answered."""
        return [
            {"service": c.service, "operation": c.operation, "role": self.roles[name], "item": item, "status": c.status}
            for c in list(self.proxy.journal)
            for name, item in c.targets
            if name in self.roles
        ]

    def close(self) -> None:
        self.proxy.close()
        self._server.stop()


# ----------------------------------------------------------------------------- the audit bucket


def audit_records(resources: AwsResources) -> list[dict[str, Any]]:
    """Every audit record in the bucket, in chain order (latest version of each key)."""
    from runtime.store_aws.audit import PREFIX

    s3 = resources.client("s3")
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resources.audit_bucket, Prefix=PREFIX)
        for obj in page.get("Contents", [])
    ]
    return [json.loads(s3.get_object(Bucket=resources.audit_bucket, Key=key)["Body"].read()) for key in sorted(keys)]


def tamper_audit(resources: AwsResources, seq: int, *, same_bytes: bool = False) -> None:
    """Change record ``seq`` the way an attacker with write access to the bucket can: Object Lock
    keeps the old version, so they put a new one on top (changed, or byte-identical)."""
    from runtime.store_aws.audit import record_key

    s3 = resources.client("s3")
    key = record_key(seq)
    body = s3.get_object(Bucket=resources.audit_bucket, Key=key)["Body"].read()
    if not same_bytes:
        record = json.loads(body)
        record["ts"] = "2020-01-01T00:00:00Z"
        body = (json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n").encode()
    s3.put_object(Bucket=resources.audit_bucket, Key=key, Body=body)


def hide_audit_records(resources: AwsResources, *seqs: int) -> None:
    """Put delete markers on records (all Object Lock lets anyone do): they vanish from a plain listing."""
    from runtime.store_aws.audit import record_key

    s3 = resources.client("s3")
    for seq in seqs:
        s3.delete_object(Bucket=resources.audit_bucket, Key=record_key(seq))


def break_audit(proxy: FaultProxy, resources: AwsResources) -> Fault:
    """Make every write to the audit bucket fail (500 after botocore's retries) from now on."""
    return proxy.inject(Fault("s3", "PutObject", 500, fraction=1.0, resource=resources.audit_bucket))


# ----------------------------------------------------------------------------- the IAM check's input

IAM_TEST_MODULE = "test_aws_iam_operations.py"
HARNESS_MODULES = frozenset({"test_aws_moto.py"})  # calls of its own, not the runtime's
BEHAVIOUR_MODULE = "test_store_behaviour.py"


def backend_suites(directory: Any) -> list[str]:
    """The test modules whose AWS calls are the runtime's: the backend's own and the behaviour suite."""
    found = [*directory.glob("test_aws_*.py"), *directory.glob("test_store_aws*.py")]
    own = sorted(p.name for p in found if p.name not in HARNESS_MODULES | {IAM_TEST_MODULE})
    return [*own, BEHAVIOUR_MODULE]


class IamCheckPlan:
    """Whether this session runs every backend suite before the IAM check (then the check reads
    the session's journal; else it runs them itself in a child pytest)."""

    in_session = False


def plan_iam_check(config: Any, items: list[Any]) -> None:
    """Collection hook: move the IAM check after the AWS suites when they all run in this session."""
    checks = [item for item in items if item.path.name == IAM_TEST_MODULE]
    if not checks:
        return
    directory = checks[0].path.parent
    modules = {item.path.name for item in items if item.path.parent == directory}
    has_aws_behaviour = any(item.path.name == BEHAVIOUR_MODULE and "[aws" in item.name for item in items)
    unfiltered = not config.getoption("keyword") and not config.getoption("markexpr")
    IamCheckPlan.in_session = unfiltered and has_aws_behaviour and set(backend_suites(directory)) <= modules
    if IamCheckPlan.in_session:
        items[:] = [item for item in items if item not in checks] + checks
