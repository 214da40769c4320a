"""Reading AWS facts back out of a synthesized bundle, as an auditor would.

Policy documents are found wherever they are (role trust and inline policies, key,
bucket and endpoint policies): any input that is JSON with a ``Statement`` list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from support import Synthesized

AWS_STACKS = ("dev", "staging", "prod", "airgap")
ACCOUNT_ID = "123456789012"  # airlock/synth/fakes.py
# S3 completes a bucket prefix with this many characters.
BUCKET_SUFFIX_LENGTH = 26


@dataclass(frozen=True)
class PolicyDocument:
    resource: dict[str, Any]
    field: str
    document: dict[str, Any]

    @property
    def statements(self) -> list[dict[str, Any]]:
        statements = self.document["Statement"]
        return statements if isinstance(statements, list) else [statements]

    def where(self) -> str:
        return f"{self.resource['type']} {self.resource['name']} {self.field}"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_documents(bundle: Synthesized) -> list[PolicyDocument]:
    found: list[PolicyDocument] = []
    for resource in bundle.resources:
        if resource["type"].startswith("aws:"):
            for field, text in _strings(resource["inputs"], ""):
                document = _as_policy(text)
                if document is not None:
                    found.append(PolicyDocument(resource, field, document))
    return found


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _as_policy(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def role_named(bundle: Synthesized, role_name: str) -> dict[str, Any]:
    roles = [r for r in bundle.of_type("aws:iam/role:Role") if r["inputs"].get("name") == role_name]
    assert len(roles) == 1, f"expected one role {role_name}, found {[r['inputs'].get('name') for r in roles]}"
    return roles[0]


def role_policies(bundle: Synthesized, role_name: str) -> list[dict[str, Any]]:
    """Every statement of every inline policy attached to the role."""
    statements: list[dict[str, Any]] = []
    for policy in bundle.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy["inputs"]["role"] == role_name:
            statements.extend(json.loads(policy["inputs"]["policy"])["Statement"])
    return statements


def trust_subjects(role: dict[str, Any]) -> list[str]:
    """The service-account subjects an IRSA trust policy admits."""
    subjects: list[str] = []
    for statement in json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]:
        for key, value in statement.get("Condition", {}).get("StringEquals", {}).items():
            if key.endswith(":sub"):
                subjects.extend(as_list(value))
    return subjects


def named_bucket(bucket: dict[str, Any], name: str) -> bool:
    """Whether S3 would have named ``bucket`` (a Bucket resource) ``name``."""
    inputs = bucket["inputs"]
    if inputs.get("bucket"):
        return inputs["bucket"] == name
    prefix = inputs.get("bucketPrefix", "")
    return name.startswith(prefix) and len(name) == len(prefix) + BUCKET_SUFFIX_LENGTH


def for_bucket(bundle: Synthesized, type_token: str, bucket: dict[str, Any]) -> list[dict[str, Any]]:
    """The bucket-configuration resources (public-access block, policy, ...) of one bucket."""
    return [r for r in bundle.of_type(type_token) if named_bucket(bucket, r["inputs"]["bucket"])]


def interface_endpoints(bundle: Synthesized) -> dict[str, dict[str, Any]]:
    return _endpoints(bundle, "Interface")


def gateway_endpoints(bundle: Synthesized) -> dict[str, dict[str, Any]]:
    return _endpoints(bundle, "Gateway")


def _endpoints(bundle: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for endpoint in bundle.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if endpoint["inputs"]["vpcEndpointType"] == kind:
            service = endpoint["inputs"]["serviceName"].removeprefix("com.amazonaws.us-east-1.")
            assert service not in found, f"two {kind} endpoints for {service}"
            found[service] = endpoint
    return found
