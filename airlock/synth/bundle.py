"""The desired-state bundle: ``resources.json``, ``outputs.json`` and ``manifests/``.

Everything is sorted and serialized canonically so two synths of the same stack are
byte-identical, and written to a temporary directory that replaces the target only once
complete: a failed synth never leaves a half-written bundle behind, and synth never
replaces a directory it did not write (see airlock.synth.target).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from airlock.synth.engine import SynthRun
from airlock.synth.manifests import Manifest, ManifestError, is_manifest, validate
from airlock.synth.target import MARKER, OutputDirError, check_target, marker_document, swap_in

BUNDLE_FORMAT = 1


class _ManifestDumper(yaml.SafeDumper):
    """Multi-line strings (squid.conf, collector config) as literal blocks, so an auditor
    reads them as files instead of one escaped line."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _represent_str)


@dataclass
class Bundle:
    project: str
    stack: str
    platform: str
    profile: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    manifests: list[Manifest]
    warnings: list[str] = field(default_factory=list)

    def counts_by_type(self) -> Counter[str]:
        return Counter(r["type"] for r in self.resources)

    def resources_document(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "platform": self.platform,
            "profile": self.profile,
            "resources": self.resources,
        }


def build(run: SynthRun, project: str, stack: str, platform: str, profile: str, kubernetes_version: str) -> Bundle:
    """Shape and check a synth run. Raises ManifestError on the first invalid object."""
    names = {r.urn: r.name for r in run.resources}
    resources: list[dict[str, Any]] = sorted(
        (
            {
                "type": r.type,
                "name": r.name,
                # Children of the stack itself have no parent in the bundle.
                "parent": names.get(r.parent_urn) if r.parent_urn else None,
                "inputs": r.inputs,
            }
            for r in run.resources
        ),
        key=lambda r: (r["type"], r["name"], r["parent"] or ""),
    )
    manifests = [Manifest(r["inputs"]) for r in resources if is_manifest(r["type"], r["inputs"])]
    seen: dict[str, Manifest] = {}
    for manifest in manifests:
        validate(manifest, kubernetes_version)
        if manifest.path in seen:
            raise ManifestError(manifest, "another object has the same kind, namespace and name")
        seen[manifest.path] = manifest
    manifests.sort(key=lambda m: m.path)
    return Bundle(project, stack, platform, profile, resources, run.outputs, manifests, list(run.warnings))


def _json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(bundle: Bundle, out_dir: Path) -> None:
    out_dir = check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    except OSError as error:
        raise OutputDirError(out_dir, f"cannot be created ({error.strerror or error})") from None
    try:
        written = ["resources.json", "outputs.json"]
        (staging / "resources.json").write_text(_json(bundle.resources_document()))
        (staging / "outputs.json").write_text(_json(bundle.outputs))
        for manifest in bundle.manifests:
            target = staging / "manifests" / manifest.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.dump(manifest.obj, Dumper=_ManifestDumper, sort_keys=True, default_flow_style=False))
            written.append(f"manifests/{manifest.path}")
        (staging / MARKER).write_text(marker_document(written))
        swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
