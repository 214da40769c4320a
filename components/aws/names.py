"""Names of AWS resources, derived from the cluster name so stacks sharing an account never collide.

AWS services disagree on what a name may contain (S3 and ECR: lowercase only; IAM roles:
64 characters; SQS: 80; bucket prefixes: 37), while a cluster name may be 100 characters
with capitals and underscores. Every name goes through here, so each fits its service.
"""

from __future__ import annotations

import hashlib
import re

from components.aws.stack import AwsStack

IAM_ROLE_MAX = 64
SQS_MAX = 80
BUCKET_PREFIX_MAX = 37  # S3 appends 26 characters to a prefix, within the 63 a bucket name allows


def scoped(stack: AwsStack, suffix: str, max_length: int = 128, separator: str = "-") -> str:
    """``<cluster>-<suffix>``, shortened to ``max_length`` with a stable hash when needed."""
    return _fit(stack.cluster_name, suffix, max_length, separator)


def lowercase_scoped(stack: AwsStack, suffix: str, max_length: int = 128, separator: str = "-") -> str:
    """As :func:`scoped`, for services that take only lowercase letters, digits and '-' (S3, ECR)."""
    base = re.sub(r"[^a-z0-9]+", "-", stack.cluster_name.lower()).strip("-") or "airlock"
    return _fit(base, suffix, max_length, separator)


def _fit(base: str, suffix: str, max_length: int, separator: str) -> str:
    full = f"{base}{separator}{suffix}"
    if len(full) <= max_length:
        return full
    # Keep names unique when a long cluster name is cut: 6 hex digits of the full name.
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    room = max_length - len(suffix) - len(digest) - 2 * len(separator)
    return f"{base[:room]}{separator}{digest}{separator}{suffix}"


def flow_log_group(stack: AwsStack) -> str:
    return f"/aws/vpc/{stack.cluster_name}/flow-logs"


def control_plane_log_group(stack: AwsStack) -> str:
    """EKS writes control-plane logs to exactly this name; creating it first lets us set
    retention and encryption before the cluster starts logging."""
    return f"/aws/eks/{stack.cluster_name}/cluster"


def kms_alias(stack: AwsStack, purpose: str) -> str:
    return f"alias/{stack.cluster_name}/{purpose}"
