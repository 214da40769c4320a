"""`isolation: gvisor` must mean gVisor: refused where the nodes Airlock builds cannot run it."""

from __future__ import annotations

from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig


def sandbox_isolation(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """The aws node groups Airlock builds have no runsc and no containerd `runsc` handler, so
    gVisor pods there would never start. On platform kubernetes the cluster's operator
    provides runsc (docs/sandboxes.md)."""
    if config.platform != "aws":
        return
    for s, sandbox in enumerate(config.sandboxes):
        if sandbox.isolation == "gvisor":
            yield ConfigIssue(
                key_path("sandboxes", s, "isolation"),
                "gvisor",
                "is not available on platform aws: the EKS node groups Airlock builds do not install runsc "
                "or register it with containerd, so these pods would never start; allowed: 'container' "
                "(restricted Pod Security, read-only root, no capabilities, default-deny network), or run "
                "the stack on platform kubernetes with nodes that have gVisor (docs/sandboxes.md)",
            )
