"""AWS answers only the operator can fix, turned into one message that says what to fix.

A table that does not exist, a bucket or queue that is not there, a call the IAM role does
not allow, credentials that are missing or refused: none of these goes away by retrying,
and botocore's own wording ("An error occurred (ResourceNotFoundException) when calling the
TransactWriteItems operation") names neither the variable that points at the resource nor
what to change. Every client the backend uses is wrapped (:class:`ExplainingClient`), so
each such answer becomes :class:`runtime.errors.StateUnusable`: the CLI prints it and exits
2, ``/readyz`` reports it. Answers the backend handles itself (a failed condition, a
cancelled transaction, throttling) pass through unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from runtime import contract
from runtime.errors import StateUnusable

if TYPE_CHECKING:
    from runtime.store_aws.config import AwsSettings

NOT_FOUND = frozenset({
    "ResourceNotFoundException",  # DynamoDB: no such table (or not ACTIVE yet)
    "NoSuchBucket",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
})
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "KMS.AccessDeniedException"})
CREDENTIALS_REFUSED = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "MissingAuthenticationToken", "InvalidSignatureException",
})
CREDENTIALS_HELP = (
    "on EKS the orchestrator's service account needs its pod identity association (the stack creates it); "
    "elsewhere use AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
_KIND = {"TableName": "DynamoDB table", "Bucket": "S3 bucket", "QueueUrl": "SQS queue"}


def variables(settings: AwsSettings) -> dict[str, str]:
    """Resource name -> the variable that named it (the queues by URL)."""
    return {
        settings.queue_url: contract.QUEUE_URL_ENV,
        settings.dead_letter_queue_url: contract.DEAD_LETTER_QUEUE_URL_ENV,
        settings.table: contract.CHECKPOINT_TABLE_ENV,
        settings.audit_bucket: contract.AUDIT_BUCKET_ENV,
        settings.payload_bucket: contract.PAYLOAD_BUCKET_ENV,
    }


def _resource(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the one resource a call is about."""
    for field, kind in _KIND.items():
        if field in params:
            return kind, str(params[field])
    for item in params.get("TransactItems") or ():
        for write in item.values():
            if isinstance(write, Mapping) and "TableName" in write:
                return _KIND["TableName"], str(write["TableName"])
    return None


def explain(
    exc: Exception, *, service: str, operation: str, params: Mapping[str, Any], settings: AwsSettings
) -> StateUnusable | None:
    """The message for an answer only the operator can fix, or None for any other."""
    if isinstance(exc, NoCredentialsError):
        return StateUnusable(f"AWS credentials: none found for {service}; {CREDENTIALS_HELP}")
    if isinstance(exc, NoRegionError):
        return StateUnusable("AWS_REGION: not set; AIRLOCK_STORE=aws: needs the region its queue, table and buckets are in")
    if isinstance(exc, EndpointConnectionError):
        return StateUnusable(
            f"cannot reach {service} at {exc.kwargs.get('endpoint_url')} (in {settings.region}) after retries; "
            "check the network path from this pod (VPC endpoints, NAT) or AWS_ENDPOINT_URL"
        )
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
    resource = _resource(params)
    kind, name = resource if resource else (service, "")
    variable = variables(settings).get(name)
    subject = f"{variable}: {kind} {name!r}" if variable else f"{kind} {name!r}".rstrip(" '")
    if code in NOT_FOUND:
        return StateUnusable(
            f"{subject} does not exist in {settings.region} (or is not ready yet); "
            f"{service}:{operation} answered {code}. Point {variable or 'the variable'} at the resource the stack created"
        )
    if code in DENIED:
        return StateUnusable(
            f"{subject}: {service}:{operation} was denied ({message or code}); "
            "the orchestrator's IAM role must allow it (the stack's policy lists every call the store makes)"
        )
    if code in CREDENTIALS_REFUSED:
        return StateUnusable(f"AWS credentials were refused by {service} ({code}: {message}); {CREDENTIALS_HELP}")
    return None


class ExplainingClient:
    """A boto3 client whose operator-fixable errors say what to fix (see the module doc).

    Everything else (``meta``, ``exceptions``, paginators, ``close``) is the client's own.
    """

    def __init__(self, client: Any, service: str, settings: AwsSettings) -> None:
        self._client = client
        self._service = service
        self._settings = settings

    def get_paginator(self, name: str) -> Any:
        return _ExplainingPaginator(self, self._client.get_paginator(name), self._client.meta.method_to_api_mapping[name])

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute) or name not in self._client.meta.method_to_api_mapping:
            return attribute
        return self._explained(attribute, self._client.meta.method_to_api_mapping[name])

    def _explained(self, method: Callable[..., Any], operation: str) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(**params: Any) -> Any:
            try:
                return method(**params)
            except _EXPLAINABLE as exc:
                self.reraise(exc, operation, params)

        return call

    def reraise(self, exc: Exception, operation: str, params: Mapping[str, Any]) -> NoReturn:
        explained = explain(exc, service=self._service, operation=operation, params=params, settings=self._settings)
        if explained is None:
            raise exc
        raise explained from None


class _ExplainingPaginator:
    def __init__(self, client: ExplainingClient, paginator: Any, operation: str) -> None:
        self._client, self._paginator, self._operation = client, paginator, operation

    def paginate(self, **params: Any) -> Iterator[Any]:
        try:
            yield from self._paginator.paginate(**params)
        except _EXPLAINABLE as exc:
            self._client.reraise(exc, self._operation, params)


_EXPLAINABLE = (ClientError, NoCredentialsError, NoRegionError, EndpointConnectionError)
