"""Reading stack config, the one way: flat Pulumi config -> validated :class:`StackConfig`.

Two sources produce the same flat form, ``{"airlock:key": "value as Pulumi passes it"}``:

* the Pulumi runtime (``pulumi up``, and ``airlock synth`` on the mock monitor), and
* a stack file read by the CLI (``airlock validate``), where ``secure:`` values, which only
  the Pulumi CLI can decrypt, become placeholders.

``load`` then validates in three phases: types (pydantic), profile defaults, cross-field
rules. Every problem is collected and raised as one :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from runtime import yaml_safe

from components.config.defaults import apply_defaults
from components.config.errors import (
    NAMESPACE,
    SECRET_MASK,
    ConfigError,
    ConfigIssue,
    StackNotFoundError,
    key_path,
)
from components.config.rules import RuleContext, check
from components.config.schema import StackConfig
from runtime.field_errors import field_errors, is_secret_at

# Namespaces Airlock reads or knows to leave alone.
FOREIGN_NAMESPACES = {"aws", "kubernetes", "pulumi"}

# Human wording for the regular expressions in components.config.schema.
PATTERN_MEANINGS = {
    r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$": "a lowercase name: letters, digits and '-', starting with a letter, at most 40 characters",
    r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$": "a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi",
    r"^1\.[0-9]{2}$": "a Kubernetes minor version such as 1.33",
    r"^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$": "an availability zone name such as us-east-1a",
    r"^[0-9a-f]{40}$": "a 40-character commit sha (pin the weights; find it on the model's Hugging Face 'Files' page)",
    r"^[a-z][a-z0-9-]*\.[a-z0-9]+$": "an EC2 instance type such as g6e.xlarge",
    r"^[^/].*\.ya?ml$": "a relative path to a .yaml file",
    r"^https://[a-z0-9.-]+(:[0-9]+)?(/.*)?$": "an https:// URL",
    r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$": "an http:// or https:// URL such as http://prometheus-server.monitoring.svc:80",
}


@dataclass(frozen=True)
class FlatConfig:
    """Config as the Pulumi engine hands it to a program: strings, JSON for structures."""

    values: dict[str, str]
    secret_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoadedConfig:
    stack: str
    config: StackConfig
    region: str | None
    project_dir: Path
    warnings: tuple[ConfigIssue, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- sources


def read_yaml_file(path: Path) -> Any:
    """A YAML file through the one safe reader (limits, duplicate keys, UTF-8 only)."""
    if path.stat().st_size > yaml_safe.MAX_BYTES:
        raise yaml_safe.YamlRejected(f"is larger than the limit of {yaml_safe.MAX_BYTES} bytes")
    return yaml_safe.load_bytes(path.read_bytes())


def project_document(project_dir: Path) -> dict[str, Any]:
    """Pulumi.yaml as a mapping, or ConfigError naming what is wrong with it."""
    path = project_dir / "Pulumi.yaml"
    try:
        document = read_yaml_file(path) or {}
    except (yaml.YAMLError, OSError) as error:
        raise ConfigError("(project)", [ConfigIssue("Pulumi.yaml", "(file)", f"is not valid YAML: {error}")], str(path)) from None
    if not isinstance(document, dict) or not isinstance(document.get("stackConfigDir", "."), str):
        raise ConfigError("(project)", [ConfigIssue("Pulumi.yaml", "(file)", "must be a mapping whose stackConfigDir is a path")], str(path))
    return document


def stacks_dir(project_dir: Path) -> Path:
    return project_dir / project_document(project_dir).get("stackConfigDir", ".")


def known_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir(project_dir).glob("Pulumi.*.yaml"))


def stack_file(project_dir: Path, stack: str) -> Path:
    path = stacks_dir(project_dir) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFoundError(stack, known_stacks(project_dir), str(stacks_dir(project_dir).relative_to(project_dir)))
    return path


def read_stack_file(project_dir: Path, stack: str) -> FlatConfig:
    """The stack file flattened the way the engine would pass it, secure values masked."""
    path = stack_file(project_dir, stack)
    try:
        document = read_yaml_file(path) or {}
    except yaml.YAMLError as error:
        raise ConfigError(stack, [ConfigIssue(str(path.name), "(file)", f"is not valid YAML: {error}")], str(path)) from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigError(stack, [ConfigIssue("config", "(file)", "must be a mapping of 'namespace:key' to values")], str(path))
    return flatten(document.get("config") or {})


def flatten(config: dict[str, Any]) -> FlatConfig:
    """A stack file's ``config:`` mapping as the engine would pass it, secure values masked."""
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        masked, is_secret = _mask_secure(value)
        values[str(key)] = _as_engine_string(masked)
        if is_secret:
            secret_keys.add(str(key))
    return FlatConfig(values, frozenset(secret_keys))


def _mask_secure(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: <ciphertext>}`` leaves, which only the Pulumi CLI can decrypt."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_MASK, True
        pairs = {k: _mask_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_mask_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _as_engine_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"  # decoded back to None, so messages show null, not the text "None"
    return str(value)


def from_pulumi_runtime() -> FlatConfig:
    """The config of the running Pulumi program (engine or mock monitor)."""
    from pulumi.runtime import config as runtime_config

    values = {k: str(v) for k, v in runtime_config.get_config_env().items()}
    values.update({k: str(v) for k, v in runtime_config.CONFIG.get().items()})
    secret = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return FlatConfig(values, frozenset(secret))


# --------------------------------------------------------------------------- validation


def load(flat: FlatConfig, stack: str, project_dir: Path, source: str | None = None, *, for_deploy: bool = False) -> LoadedConfig:
    """Validate ``flat`` completely or raise one ConfigError listing every problem.

    ``for_deploy``: also refuse values still to be filled in (severity "deploy"), as
    `pulumi up` and `airlock validate` do; offline synthesis only warns about them."""
    data, issues = _airlock_keys(flat)
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(stack, issues + _pydantic_issues(error), source) from None
    if issues:
        raise ConfigError(stack, issues, source)
    region = flat.values.get("aws:region")
    apply_defaults(config, stack, region)
    found = check(config, RuleContext(stack=stack, region=region, project_dir=project_dir, secret_keys=flat.secret_keys))
    blocking = ("error", "deploy") if for_deploy else ("error",)
    errors = [issue for issue in found if issue.severity in blocking]
    if errors:
        raise ConfigError(stack, errors, source)
    warnings = tuple(issue for issue in found if issue.severity not in blocking)
    return LoadedConfig(stack, config, region, project_dir, warnings)


def _airlock_keys(flat: FlatConfig) -> tuple[dict[str, Any], list[ConfigIssue]]:
    data: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    for full_key, raw in sorted(flat.values.items()):
        namespace, _, name = full_key.partition(":")
        if namespace == NAMESPACE:
            value = _decode(raw)
            if value is None:  # YAML null: never silently "the default"; say so
                issues.append(ConfigIssue(full_key, None, "is null; give a value, or leave the key out for the default"))
                continue
            data[name] = value
        elif namespace not in FOREIGN_NAMESPACES and difflib.get_close_matches(namespace, [NAMESPACE], cutoff=0.7):
            issues.append(ConfigIssue(full_key, raw if full_key not in flat.secret_keys else SECRET_MASK, f"unknown namespace '{namespace}'; did you mean '{NAMESPACE}:{name}'?"))
    return data, issues


def _decode(raw: str) -> Any:
    """Structured config arrives as JSON text; scalars stay strings for pydantic to coerce."""
    if raw == "null":
        return None
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _pydantic_issues(error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for problem in field_errors(error, StackConfig, PATTERN_MEANINGS):
        value = SECRET_MASK if is_secret_at(StackConfig, problem.loc) else problem.value
        issues.append(ConfigIssue(key_path(*problem.loc), value, problem.message))
    return issues
