"""Container image references: parsing, pinning and mirroring.

One place decides what an image string means, so that validation (is it pinned? is it
inside the mirror?) and deployment (what goes into the pod spec) can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from pulumi import Input

    from components.config.schema import ImagesConfig

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<name>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}|unset))?$"
)
# ``repository:tag@unset``: the digest of an image you build is known only once it is
# built and pushed. Written explicitly so no stack ships a made-up digest; validation
# refuses it for deployment (saying how to fill it in), synthesis only warns.
UNSET_DIGEST = "unset"


@dataclass(frozen=True)
class ImageRef:
    """A parsed ``[registry/]repository[:tag][@sha256:digest]`` reference."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    # True for ``@unset``: a digest still to be filled in (``digest`` is then None).
    digest_unset: bool = False

    @classmethod
    def parse(cls, text: str) -> "ImageRef":
        registry: str | None = None
        rest = text
        first, sep, remainder = text.partition("/")
        # A first path component with a dot or a port, or "localhost", is a registry
        # host (the rule Docker itself uses); otherwise the whole string is a repository.
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, rest = first, remainder
        match = _REFERENCE.match(rest)
        if not match:
            raise ValueError(
                f"{text!r} is not an image reference; expected "
                "[registry/]repository[:tag][@sha256:<64 hex>], or @unset for a digest still to be filled in"
            )
        unset = match["digest"] == UNSET_DIGEST
        return cls(registry, match["name"], match["tag"], None if unset else match["digest"], unset)

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    @property
    def basename(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    def with_registry(self, prefix: str) -> str:
        """This image moved under ``prefix`` (a registry host plus optional path).

        Mirrors keep the last path component: ``vllm/vllm-openai`` under
        ``harbor.corp/airlock`` becomes ``harbor.corp/airlock/vllm-openai``, which is
        what ``crane copy``/``skopeo copy`` scripts in docs/profiles.md produce. The
        digest is content-addressed, so it stays valid in the mirror.
        """
        return f"{prefix.rstrip('/')}/{self.basename}{self.suffix()}"

    def suffix(self) -> str:
        """``:tag@digest`` as far as present."""
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        host = f"{self.registry}/" if self.registry else ""
        return f"{host}{self.repository}{self.suffix()}"


def registry_host(prefix: str) -> str:
    """The host part of a mirror prefix such as ``harbor.corp:5000/airlock``."""
    return prefix.split("/", 1)[0]


def resolve_image(images: ImagesConfig, key: str, registry_urls: Mapping[str, "Input[str]"] | None = None) -> "Input[str]":
    """The reference a pod spec uses for image ``key`` (one of ``IMAGE_KEYS``).

    Precedence: an explicit mirror (``images.mirror``) wins; otherwise a repository this
    stack created (ECR on aws, passed as ``registry_urls[key]``, e.g.
    ``123456789012.dkr.ecr.us-east-1.amazonaws.com/airlock/vllm``); otherwise the reference
    as configured (upstream registry).
    """
    import pulumi

    ref = ImageRef.parse(getattr(images, key))
    if images.mirror:
        return ref.with_registry(images.mirror)
    if registry_urls and key in registry_urls:
        return pulumi.Output.concat(registry_urls[key], ref.suffix())
    return str(ref)
