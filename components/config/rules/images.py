"""Container images: pinned (by digest when the stack is airgapped) and from where they are published."""

from __future__ import annotations

from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.images import ImageRef
from components.config.rules.context import RuleContext
from components.config.schema import IMAGE_KEYS, StackConfig, config_key


def images_pinned(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    images = config.images
    for field in IMAGE_KEYS:
        text = getattr(images, field)
        ref = ImageRef.parse(text)
        path = key_path("images", config_key(field))
        if ref.digest_unset:
            yield from _unset_digest(config_key(field), path, text, ref)
            continue
        if ref.tag == "latest" and not ref.digest:
            yield ConfigIssue(path, text, "'latest' floats; pin a version tag, or a digest (@sha256:...)")
        elif ref.tag is None and ref.digest is None:
            yield ConfigIssue(path, text, "has neither tag nor digest, so it means 'latest'; pin a version tag or a digest (@sha256:...)")
        if config.profile == "airgapped" and ref.digest is None:
            yield ConfigIssue(path, text, "an airgapped stack references every image by digest: add @sha256:<digest> from your mirror")
        # An airgapped reference may name its upstream registry (nvcr.io/...): that is where
        # `airlock images` copies it from; pods always pull it from the mirror or this
        # stack's ECR (components.config.images.resolve_image), never from there.


def _unset_digest(key: str, path: str, text: str, ref: ImageRef) -> Iterator[ConfigIssue]:
    """``@unset``: the digest of an image built from this repository, known once pushed."""
    if ref.tag is None or ref.tag == "latest":
        yield ConfigIssue(path, text, "an image whose digest is still unset needs a version tag (repository:1.2.3@unset)")
        return
    yield ConfigIssue(
        path,
        text,
        "digest not filled in yet: build and push the image (docs/aws.md, first deploy: `airlock images STACK` "
        "prints the digest), then `pulumi config set --path airlock:images." + key + " "
        + f"{ref.repository}:{ref.tag}@sha256:<digest>`",
        "deploy",
    )


def device_plugin_registry(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """NVIDIA publishes the device plugin on nvcr.io; Docker Hub's copy stopped at v0.12, so
    a reference without a registry names an image that does not exist (no node would ever
    advertise nvidia.com/gpu)."""
    text = config.images.nvidia_device_plugin
    ref = ImageRef.parse(text)
    if ref.registry in (None, "docker.io", "index.docker.io") and ref.repository in ("nvidia/k8s-device-plugin", "library/nvidia/k8s-device-plugin"):
        yield ConfigIssue(
            key_path("images", "nvidiaDevicePlugin"),
            text,
            "NVIDIA publishes the device plugin on nvcr.io (Docker Hub stopped at v0.12); allowed: "
            f"nvcr.io/nvidia/k8s-device-plugin{ref.suffix()}",
        )

