"""``airlock images STACK``: every image a stack runs, where it comes from, and the commands
that put it into the stack's registry before the full deploy starts pods that pull it.

Three ways, all with skopeo (https://github.com/containers/skopeo), which copies between
registries, local container storage and OCI layouts without a daemon:

* push (default): copy each upstream image into the stack's registry (this stack's ECR on
  aws, ``images.mirror`` elsewhere) with ``--all --preserve-digests``, so the manifest-list
  digest pinned in ``airlock:images`` is the one the pods pull; build and push the images
  this repository builds, then print their digest to set;
* export (the connected side of an airgapped install): copy every upstream image into one
  OCI layout and tar it;
* import (the airgapped side): untar it and copy each image into the stack's registry.

The plan is pure (config in, shell lines out) so it can be printed, reviewed and tested;
``--run`` executes it with bash, stopping at the first failing command.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components.config.schema import StackConfig
from components.config.loader import LoadedConfig
from components.config.images import ImageRef

DOCKER_HUB = "docker.io"
# Images this repository builds (a Dockerfile under images/), by ImagesConfig key.
BUILT_HERE = {"runtime": "images/runtime.Dockerfile", "sandbox_executor": "images/sandbox-executor.Dockerfile"}
CONFIG_KEYS = {
    "runtime": "runtime",
    "sandbox_executor": "sandboxExecutor",
    "vllm": "vllm",
    "egress_proxy": "egressProxy",
    "otel_collector": "otelCollector",
    "nvidia_device_plugin": "nvidiaDevicePlugin",
}
OCI_LAYOUT = "airlock-images"

Mode = Literal["push", "export", "import"]


@dataclass(frozen=True)
class StackImage:
    key: str
    reference: ImageRef
    # Where the cluster pulls it from: a registry path (without tag/digest), or None when
    # the cluster pulls the upstream reference itself (cloud stacks, public images).
    destination: str | None
    # Path of the Dockerfile for images built here; None for upstream images.
    dockerfile: str | None

    @property
    def config_key(self) -> str:
        return CONFIG_KEYS[self.key]

    @property
    def source(self) -> str:
        """The upstream reference, with the registry Docker would assume spelled out."""
        ref = self.reference
        return f"{ref.registry or DOCKER_HUB}/{ref.repository}{ref.suffix()}"

    @property
    def digest(self) -> str:
        if self.reference.digest:
            return self.reference.digest
        return "unset (fill in after pushing)" if self.reference.digest_unset else "none (tag only)"

    @property
    def target_tag(self) -> str:
        return self.reference.tag or "pinned"


def used_image_keys(config: StackConfig) -> list[str]:
    """The images this stack's pods actually run."""
    keys = ["runtime", "otel_collector"]
    if config.sandboxes:
        keys.append("sandbox_executor")
    if config.models:
        keys.append("vllm")
    if config.egress_proxy.enabled:
        keys.append("egress_proxy")
    if config.platform == "aws" and any(not p.ami_type.startswith("BOTTLEROCKET") for p in config.gpu_pools):
        keys.append("nvidia_device_plugin")
    return [k for k in CONFIG_KEYS if k in keys]


def stack_images(loaded: LoadedConfig, registry: str) -> list[StackImage]:
    """``registry``: the stack's registry host (ECR: ``<account>.dkr.ecr.<region>.amazonaws.com``)."""
    config = loaded.config
    images = []
    mirrored = _mirrored_keys(loaded)
    for key in used_image_keys(config):
        ref = ImageRef.parse(getattr(config.images, key))
        destination = None
        if config.images.mirror:
            destination = ref.with_registry(config.images.mirror).split("@")[0].rsplit(":", 1)[0]
        elif key in mirrored:
            destination = f"{registry}/{_ecr_repository(loaded, key)}"
        images.append(StackImage(key, ref, destination, BUILT_HERE.get(key)))
    return images


def _mirrored_keys(loaded: LoadedConfig) -> list[str]:
    if loaded.config.platform != "aws":
        return []
    from components.aws.registry import registry_image_keys
    from components.aws.stack import AwsStack

    return registry_image_keys(AwsStack.of(loaded))


def _ecr_repository(loaded: LoadedConfig, key: str) -> str:
    from components.aws.names import lowercase_scoped
    from components.aws.registry import ECR_NAME_MAX
    from components.aws.stack import AwsStack

    return lowercase_scoped(AwsStack.of(loaded), key.replace("_", "-"), ECR_NAME_MAX, separator="/")


def ecr_registry(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


# --------------------------------------------------------------------------- the plan


def login_lines(loaded: LoadedConfig, registry: str) -> list[str]:
    if loaded.config.platform == "aws" and not loaded.config.images.mirror:
        return [f"aws ecr get-login-password --region {loaded.region} | skopeo login --username AWS --password-stdin {registry}"]
    host = registry.split("/", 1)[0]
    return [f"skopeo login {host}   # your mirror's credentials"]


def plan(loaded: LoadedConfig, images: list[StackImage], mode: Mode, archive: Path | None) -> list[str]:
    """Shell lines, comments included, in the order they must run."""
    lines: list[str] = ["set -euo pipefail"]
    upstream = [i for i in images if i.dockerfile is None and i.destination is not None]
    built = [i for i in images if i.dockerfile is not None and i.destination is not None]
    if mode == "export":
        assert archive is not None
        lines.append(f"# connected side: every image into one OCI layout, then {archive}")
        for image in upstream:
            lines.append(f"skopeo copy --all --preserve-digests docker://{image.source} oci:{OCI_LAYOUT}:{image.key}")
        for image in built:
            lines += _build_lines(loaded.project_dir, image, f"oci:{OCI_LAYOUT}:{image.key}", print_digest=False)
        lines.append(f"tar -cf {shlex.quote(str(archive))} {OCI_LAYOUT}")
        return lines
    destinations = [i.destination for i in images if i.destination]
    registry = destinations[0].split("/", 1)[0] if destinations else ""
    if mode == "import":
        assert archive is not None
        lines.append(f"# airgapped side: unpack {archive} and copy each image into the stack's registry")
        lines.append(f"tar -xf {shlex.quote(str(archive))}")
        lines += login_lines(loaded, registry)
        for image in upstream + built:
            lines.append(
                f"skopeo copy --all --preserve-digests oci:{OCI_LAYOUT}:{image.key} docker://{image.destination}:{image.target_tag}"
            )
        for image in built:
            lines.append(_digest_line(image))
        return lines
    else:
        lines += login_lines(loaded, registry)
        for image in upstream:
            lines.append(
                f"skopeo copy --all --preserve-digests docker://{image.source} docker://{image.destination}:{image.target_tag}"
            )
    for image in built:
        lines += _build_lines(loaded.project_dir, image, f"docker://{image.destination}:{image.target_tag}", print_digest=True)
    return lines


def _build_lines(project_dir: Path, image: StackImage, target: str, print_digest: bool) -> list[str]:
    local = f"localhost/airlock/{image.key.replace('_', '-')}:{image.target_tag}"
    if not (project_dir / (image.dockerfile or "")).is_file():
        return [f"# {image.config_key}: {image.dockerfile} is not in this checkout; build that image yourself and copy it to {target}"]
    lines = [
        f"# {image.config_key}: built from {image.dockerfile}; its digest exists once pushed",
        f"podman build -f {image.dockerfile} -t {local} .",
        f"skopeo copy containers-storage:{local} {target}",
    ]
    if print_digest:
        lines.append(_digest_line(image))
    return lines


def _digest_line(image: StackImage) -> str:
    """Prints the command that records the pushed digest in the stack config."""
    target = f"docker://{image.destination}:{image.target_tag}"
    return (
        f"echo \"pulumi config set --path airlock:images.{image.config_key} "
        f"{image.reference.repository}:{image.target_tag}@$(skopeo inspect --format '{{{{.Digest}}}}' {target})\""
    )
