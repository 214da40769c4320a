"""Tags on every AWS resource: the stack's own plus the ones auditors filter on.

Passed explicitly on each resource rather than through provider default_tags, so that
they are visible in ``airlock synth`` bundles (the mock monitor runs no provider defaults).
"""

from __future__ import annotations

from components.config.loader import LoadedConfig


def aws_tags(loaded: LoadedConfig, name: str, **extra: str) -> dict[str, str]:
    return {
        **loaded.config.tags,
        "Name": name,
        "airlock:stack": loaded.stack,
        "airlock:profile": loaded.config.profile,
        "managed-by": "pulumi",
        **extra,
    }
