"""Kubernetes objects from a synth run: extracted, validated against the cluster's schema, named.

Validation uses kubernetes-validate's bundled OpenAPI-derived JSON schemas in strict
mode (unknown fields are errors), for the stack's configured Kubernetes version.
Validators are built once per kind and reused: a stack has many objects of few kinds.

Custom resources (KEDA ScaledObject, ...) are not in the Kubernetes schema; their
schemas live in ``airlock/synth/crd_schemas/<group>/<version>/<kind>.json``. An object
with no schema at all fails validation: nothing reaches the bundle unchecked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from kubernetes_validate.utils import all_versions, major_minor, schema_contents

CRD_SCHEMA_DIR = Path(__file__).parent / "crd_schemas"
CLUSTER_SCOPED = "_cluster"


@dataclass(frozen=True)
class Manifest:
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name"))

    @property
    def namespace(self) -> str | None:
        return (self.obj.get("metadata") or {}).get("namespace")

    @property
    def path(self) -> str:
        """Where the object lives in the bundle: manifests/<namespace>/<kind>-<name>.yaml."""
        folder = self.namespace or CLUSTER_SCOPED
        return f"{folder}/{self.kind.lower()}-{self.name}.yaml"


class ManifestError(Exception):
    def __init__(self, manifest: Manifest, message: str) -> None:
        self.manifest = manifest
        where = f" in namespace {manifest.namespace}" if manifest.namespace else ""
        super().__init__(f"{manifest.kind} '{manifest.name}'{where} is invalid: {message}")


def is_manifest(type_token: str, inputs: dict[str, Any]) -> bool:
    return (
        type_token.startswith("kubernetes:")
        and not type_token.startswith("pulumi:providers:")
        and "apiVersion" in inputs
        and "kind" in inputs
    )


def schema_version(kubernetes_version: str) -> str:
    """The newest bundled schema not newer than the cluster (what kubernetes-validate picks)."""
    wanted = tuple(int(p) for p in major_minor(kubernetes_version).split("."))
    candidates = [v for v in all_versions() if tuple(int(p) for p in major_minor(v).split(".")) <= wanted]
    if not candidates:
        raise ValueError(f"no Kubernetes schema for version {kubernetes_version}")
    return candidates[-1]


@lru_cache(maxsize=None)
def _definitions(version: str) -> referencing.Resource:
    return referencing.Resource.from_contents(
        schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    )


@lru_cache(maxsize=None)
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        crd = CRD_SCHEMA_DIR / api_version / f"{kind.lower()}.json"
        if not crd.is_file():
            return None
        schema = json.loads(crd.read_text())
    registry = referencing.Resource.from_contents(schema) @ (_definitions(version) @ referencing.Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate(manifest: Manifest, kubernetes_version: str) -> None:
    version = schema_version(kubernetes_version)
    validator = _validator(version, manifest.kind, str(manifest.obj.get("apiVersion")))
    if validator is None:
        raise ManifestError(
            manifest,
            f"no schema for apiVersion {manifest.obj.get('apiVersion')} kind {manifest.kind} in Kubernetes "
            f"{major_minor(version)} or {CRD_SCHEMA_DIR.relative_to(CRD_SCHEMA_DIR.parents[2])}",
        )
    errors = sorted(validator.iter_errors(manifest.obj), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        at = ".".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ManifestError(manifest, f"at {at}: {first.message}{more}")
