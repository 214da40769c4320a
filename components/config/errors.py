"""How configuration problems are reported: one line each, naming key, value and what is allowed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from runtime.field_errors import format_path

NAMESPACE = "airlock"
SECRET_MASK = "[secret]"


def key_path(*parts: str | int) -> str:
    """``("models", 1, "tensorParallelSize")`` -> ``airlock:models[1].tensorParallelSize``."""
    text = format_path(parts)
    return f"{NAMESPACE}:{text}" if text else NAMESPACE


def show_value(value: Any) -> str:
    """A short, secret-safe rendering of a config value for messages."""
    if isinstance(value, SecretStr) or value == SECRET_MASK:
        return SECRET_MASK
    if isinstance(value, str):
        text = json.dumps(value)
    else:
        try:
            text = json.dumps(value, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class ConfigIssue:
    """One problem (or warning) with one key."""

    path: str
    value: Any
    message: str
    # "deploy": a value still to be filled in (a digest, the deployer's network). It stops
    # `pulumi up` and `airlock validate`; `airlock synth` still writes a bundle, warning.
    severity: Literal["error", "warning", "deploy"] = "error"

    def __str__(self) -> str:
        text = f"{self.path} = {show_value(self.value)}: {self.message}"
        if self.severity == "deploy":
            text += " (blocks `pulumi up` and `airlock validate`; `airlock synth` still runs)"
        return text


class ConfigError(Exception):
    """A stack config that must not be deployed. Carries every issue found, not just the first."""

    def __init__(self, stack: str, issues: list[ConfigIssue], source: str | None = None) -> None:
        self.stack = stack
        self.issues = issues
        self.source = source
        where = f" ({source})" if source else ""
        lines = [f"invalid config for stack '{stack}'{where}:"]
        lines += [f"  - {issue}" for issue in issues]
        super().__init__("\n".join(lines))


class StackNotFoundError(Exception):
    """The stack named on the command line has no ``stacks/Pulumi.<stack>.yaml``."""

    def __init__(self, stack: str, known: list[str], stacks_dir: str) -> None:
        self.stack = stack
        self.known = known
        choices = ", ".join(known) if known else "none"
        super().__init__(f"unknown stack '{stack}': no {stacks_dir}/Pulumi.{stack}.yaml (known stacks: {choices})")
