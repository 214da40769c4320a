"""What every AWS resource takes from the stack config: the names it derives and the tags it carries.

The AWS components get this (plus the config slice each one builds from) instead of the
whole stack config, so what a component depends on reads from its Args.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.config.loader import LoadedConfig
from components.config.schema import Profile


@dataclass(frozen=True)
class AwsStack:
    stack: str
    profile: Profile
    region: str
    # Every AWS name derives from it (components.aws.names), so stacks sharing an account never collide.
    cluster_name: str
    # The stack's own tags (airlock:tags), put on every resource before Airlock's.
    tags: Mapping[str, str]

    @classmethod
    def of(cls, loaded: LoadedConfig) -> AwsStack:
        config = loaded.config
        assert loaded.region is not None, "config rules require aws:region on aws"
        assert config.cluster.name is not None, "the defaults always set cluster.name"
        return cls(loaded.stack, config.profile, loaded.region, config.cluster.name, dict(config.tags))
