"""Container images: pinned, and inside the mirror when the stack is airgapped."""

from __future__ import annotations

from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.images import ImageRef, registry_host
from components.config.rules.context import RuleContext
from components.config.schema import IMAGE_KEYS, StackConfig, config_key


def images_pinned(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    images = config.images
    mirror_host = registry_host(images.mirror) if images.mirror else None
    for field in IMAGE_KEYS:
        text = getattr(images, field)
        ref = ImageRef.parse(text)
        path = key_path("images", config_key(field))
        if ref.tag == "latest" and not ref.digest:
            yield ConfigIssue(path, text, "'latest' floats; pin a version tag, or a digest (@sha256:...)")
        elif ref.tag is None and ref.digest is None:
            yield ConfigIssue(path, text, "has neither tag nor digest, so it means 'latest'; pin a version tag or a digest (@sha256:...)")
        if config.profile == "airgapped":
            if ref.digest is None:
                yield ConfigIssue(path, text, "an airgapped stack references every image by digest: add @sha256:<digest> from your mirror")
            if ref.registry and ref.registry != mirror_host:
                allowed = f"'{images.mirror}/...' or a reference without a registry" if images.mirror else "a reference without a registry (it is pulled from this stack's ECR)"
                yield ConfigIssue(path, text, f"registry '{ref.registry}' is outside the stack's mirror; allowed: {allowed}")

