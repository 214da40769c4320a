"""Tags on every AWS resource: the stack's own plus the ones auditors filter on.

Passed explicitly on each resource rather than through provider default_tags, so that
they are visible in ``airlock synth`` bundles (the mock monitor runs no provider defaults).
"""

from __future__ import annotations

from components.aws.stack import AwsStack


def aws_tags(stack: AwsStack, name: str, **extra: str) -> dict[str, str]:
    return {
        **stack.tags,
        "Name": name,
        "airlock:stack": stack.stack,
        "airlock:profile": stack.profile,
        "managed-by": "pulumi",
        **extra,
    }
