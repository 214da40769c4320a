"""Resource properties as the engine receives them, turned into plain, masked JSON.

The mock monitor gets the same protobuf ``Struct`` a real engine gets. Reading it
directly (rather than the SDK's deserialized copy) keeps secrets marked at the leaf
where they occur, so only the secret value is masked, not the whole object around it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

SECRET_MASK = "[secret]"
UNKNOWN = "[unknown]"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def struct_to_plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    return _plain(json_format.MessageToDict(struct))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return _masked(value.get("value"))
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return _masked(value.get("value"))
            return _plain(value["value"]) if "value" in value else UNKNOWN
        if sig == _RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        if sig in (_ASSET_SIG, _ARCHIVE_SIG):
            return {k: _plain(v) for k, v in value.items() if k != _SIG_KEY}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # Struct numbers are doubles; integers read back as integers, as the provider sees them.
        return int(value)
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


def _masked(value: Any) -> Any:
    """A secret value with every leaf masked but its shape kept: the keys of a Secret's
    ``stringData`` (file names) are not secret, and the manifest must stay schema-valid."""
    if isinstance(value, dict) and _SIG_KEY not in value:
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return SECRET_MASK


def mask_python(value: Any, secret: bool) -> Any:
    """A resolved stack output, masked if it is secret."""
    return SECRET_MASK if secret else value
