"""Secrets: every reference names a defined secret, and values are Pulumi secrets."""

from __future__ import annotations

from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig


def references(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    secrets = {s.name for s in config.secrets}
    known = ", ".join(sorted(secrets)) or "none defined in secrets"
    for i, cloud_model in enumerate(config.cloud_models):
        path = key_path("cloudModels", i, "apiKeySecret")
        if cloud_model.provider == "bedrock":
            if cloud_model.api_key_secret:
                yield ConfigIssue(path, cloud_model.api_key_secret, "bedrock authenticates with the orchestrator's IAM role; remove the key")
        elif cloud_model.api_key_secret is None:
            yield ConfigIssue(path, None, f"required for provider '{cloud_model.provider}'; name a secrets entry ({known})")
        elif cloud_model.api_key_secret not in secrets:
            yield ConfigIssue(path, cloud_model.api_key_secret, f"no such secret; allowed: {known}")
    headers = config.observability.headers_secret
    if headers and headers not in secrets:
        yield ConfigIssue(key_path("observability", "headersSecret"), headers, f"no such secret; allowed: {known}")
    for i, secret in enumerate(config.secrets):
        if secret.value is not None and key_path("secrets") not in ctx.secret_keys:
            yield ConfigIssue(
                key_path("secrets", i, "value"),
                "(set)",
                "is stored in plaintext in the stack file; set it as a Pulumi secret with "
                f"`pulumi config set --secret --path 'airlock:secrets[{i}].value' ...`",
            )
        # On aws the entry exists (empty) in Secrets Manager; on kubernetes the orchestrator
        # component says what happens instead (the file is not mounted).
        if secret.value is None and config.platform == "aws":
            yield ConfigIssue(
                key_path("secrets", i, "value"),
                None,
                f"not set: the store entry is created empty; set it with `pulumi config set --secret --path 'airlock:secrets[{i}].value' ...` "
                "or fill it out of band",
                "warning",
            )
