"""The secrets broker: resolves `env:`, `file:`, `aws-secretsmanager:` and `airlock:` sources.

Values are fetched when a run or resume starts (never stored: a checkpoint must not
hold them), handed to the redactor, and given only to the tools that list them.
`aws-secretsmanager:` uses boto3's standard configuration: credentials chain, region
from the ARN or AWS_REGION/AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL (or
AWS_ENDPOINT_URL_SECRETS_MANAGER) for a VPC endpoint or a local emulator. `ID#key`
selects one key of a JSON secret. `airlock:NAME` is the platform's secret NAME: located
by runtime/platform_secrets.py (a mounted file or an ARN), then fetched exactly as
`file:` or `aws-secretsmanager:` would fetch it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runtime import platform_secrets
from runtime.errors import SecretUnavailable

if TYPE_CHECKING:
    from runtime.spec import SecretSpec


def _fail(index: int, spec: SecretSpec, why: str) -> SecretUnavailable:
    return SecretUnavailable(f"secrets[{index}] ({spec.name}): from {spec.source!r}: {why}")


def _from_env(name: str, env: Mapping[str, str]) -> str | None:
    return env.get(name)


def _from_file(path_text: str, base_dir: Path) -> str:
    path = Path(path_text)
    return _read_value_file(path if path.is_absolute() else base_dir / path)


def _read_value_file(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    # Files written by `echo` or editors end with one newline that is not part of the value.
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _from_aws(ref: str) -> str:
    import boto3  # imported lazily: it is slow to import and most specs never need it

    secret_id, _, json_key = ref.partition("#")
    region = None
    if secret_id.startswith("arn:"):
        parts = secret_id.split(":")
        region = parts[3] if len(parts) > 3 and parts[3] else None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ValueError("no AWS region: use an ARN or set AWS_REGION")
    client = boto3.session.Session().client("secretsmanager", region_name=region)
    response = client.get_secret_value(SecretId=secret_id)
    value = response.get("SecretString")
    if value is None:
        value = bytes(response["SecretBinary"]).decode("utf-8")
    if json_key:
        document = json.loads(value)
        if not isinstance(document, dict) or json_key not in document:
            raise ValueError(f"the secret is not a JSON object with key {json_key!r}")
        value = str(document[json_key])
    return value


def _from_platform(name: str, env: Mapping[str, str]) -> str:
    where = platform_secrets.locate(name, env)
    try:
        if where.kind == "file":
            return _read_value_file(Path(where.ref))
        return _from_aws(where.ref)
    except OSError as exc:
        raise platform_secrets.PlatformSecretNotFound(
            f"cannot read {where.ref} ({where.via}): {exc.strerror or exc}"
        ) from None
    except Exception as exc:  # boto3/botocore errors: say which ARN the map gave
        raise platform_secrets.PlatformSecretNotFound(
            f"{where.ref} ({where.via}): {type(exc).__name__}: {exc}"
        ) from None


def resolve_secrets(
    specs: Sequence[SecretSpec], base_dir: Path, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Resolve every declared secret, or raise naming the first that cannot be."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    for index, spec in enumerate(specs):
        scheme, _, ref = spec.source.partition(":")
        try:
            if scheme == "env":
                value = _from_env(ref, env)
                if value is None:
                    raise _fail(index, spec, f"environment variable {ref} is not set")
            elif scheme == "file":
                value = _from_file(ref, base_dir)
            elif scheme == platform_secrets.SCHEME:
                value = _from_platform(ref, env)
            else:
                value = _from_aws(ref)
        except SecretUnavailable:
            raise
        except platform_secrets.PlatformSecretNotFound as exc:
            raise _fail(index, spec, str(exc)) from None
        except OSError as exc:
            raise _fail(index, spec, f"cannot read file: {exc.strerror or exc}") from None
        except Exception as exc:  # boto3/botocore errors and JSON errors: name them, no traceback
            raise _fail(index, spec, f"{type(exc).__name__}: {exc}") from None
        values[spec.name] = value
    return values
