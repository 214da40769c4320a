"""`airlock:<name>`: where "the platform's secret called <name>" lives in this pod.

The Airlock orchestrator never puts credentials in literal environment values. It tells
the runtime where they are, differently per platform:

- platform ``kubernetes``: every stack ``secrets`` entry with a value is a file
  ``$AIRLOCK_SECRETS_DIR/<name>`` (a mounted, read-only Secret);
- platform ``aws``: ``$AIRLOCK_SECRET_ARNS_FILE`` is a JSON map ``{"<name>": "<ARN>"}``
  and the pod reads Secrets Manager with its IRSA role.

This module only *locates* a secret (a file path or an ARN); the broker in
runtime/secrets.py fetches it through the same code as ``file:`` and
``aws-secretsmanager:``, so both behave exactly as those sources do. Names are those of
the stack's ``airlock:secrets[].name``; the pattern keeps them to one path component, so a
name can never point outside the secrets directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runtime import contract

SECRETS_DIR_ENV = contract.SECRETS_DIR_ENV
SECRET_ARNS_FILE_ENV = contract.SECRET_ARNS_FILE_ENV
SCHEME = "airlock"

# The stack's secret names (components/config/schema.py `Name`): lowercase letters, digits and
# '-', starting with a letter, not ending with '-', at most 40 characters.
NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)


class PlatformSecretNotFound(Exception):
    """The platform does not provide the secret; the message says what it does provide."""


@dataclass(frozen=True)
class PlatformSecretRef:
    """Where one platform secret is: a mounted file, or a Secrets Manager ARN."""

    kind: Literal["file", "aws-secretsmanager"]
    ref: str
    via: str  # which orchestrator variable led here, for error messages


def is_valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def _available(names: list[str]) -> str:
    return ", ".join(sorted(names)) if names else "(none)"


def _in_directory(name: str, directory_text: str) -> PlatformSecretRef:
    directory = Path(directory_text).absolute()
    via = f"{SECRETS_DIR_ENV}={directory_text}"
    if not directory.is_dir():
        raise PlatformSecretNotFound(f"{via} is not a directory (the orchestrator mounts its Secret there)")
    path = directory / name
    if not path.is_file():
        # A mounted Secret also holds `..data` and timestamped directories (how kubelet
        # swaps contents atomically); only entries shaped like secret names are secrets.
        present = [entry.name for entry in directory.iterdir() if _NAME.match(entry.name)]
        raise PlatformSecretNotFound(
            f"{via} has no secret {name!r}; available: {_available(present)} "
            "(a stack secrets entry without a value is not mounted)"
        )
    return PlatformSecretRef("file", str(path), via)


def _in_arn_map(name: str, map_file: str) -> PlatformSecretRef:
    via = f"{SECRET_ARNS_FILE_ENV}={map_file}"
    try:
        document = json.loads(Path(map_file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlatformSecretNotFound(f"{via}: cannot read the ARN map: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlatformSecretNotFound(f"{via}: the ARN map is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        raise PlatformSecretNotFound(f'{via}: the ARN map must be a JSON object {{"<name>": "<ARN>", ...}}')
    arn = document.get(name)
    if not arn:
        raise PlatformSecretNotFound(f"{via} has no secret {name!r}; available: {_available(list(document))}")
    return PlatformSecretRef("aws-secretsmanager", arn, via)


def locate(name: str, env: Mapping[str, str] | None = None) -> PlatformSecretRef:
    """Find the platform secret `name`: the secrets directory first, then the ARN map."""
    env = os.environ if env is None else env
    if not is_valid_name(name):
        raise PlatformSecretNotFound(
            f"{name!r} is not a platform secret name; allowed: lowercase letters, digits and '-' "
            "(as in the stack's airlock:secrets[].name)"
        )
    directory = env.get(SECRETS_DIR_ENV, "").strip()
    if directory:
        return _in_directory(name, directory)
    map_file = env.get(SECRET_ARNS_FILE_ENV, "").strip()
    if map_file:
        return _in_arn_map(name, map_file)
    raise PlatformSecretNotFound(
        f"neither {SECRETS_DIR_ENV} nor {SECRET_ARNS_FILE_ENV} is set. The Airlock orchestrator sets "
        f"{SECRETS_DIR_ENV} (platform kubernetes: a directory with one file per secret) or "
        f"{SECRET_ARNS_FILE_ENV} (platform aws: a JSON map of names to Secrets Manager ARNs); "
        "outside it, set one of them or use env:, file: or aws-secretsmanager:"
    )
