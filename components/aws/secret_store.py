"""The secret store: Secrets Manager secrets under a customer-managed key, readable only by
the orchestrator.

One secret per ``secrets`` entry. A value set in the stack (always a Pulumi secret) becomes
the secret's first version, encrypted in Pulumi state as well; an entry without a value is
created empty and filled out of band (``aws secretsmanager put-secret-value``), so the
value never passes through Pulumi at all.

Reading needs two permissions, both granted to the orchestrator's role only:
``secretsmanager:GetSecretValue`` on exactly these secrets and ``kms:Decrypt`` on exactly
this key, and only through Secrets Manager. Sandboxes have no AWS identity at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.policy import allow, document
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.schema import SecretConfig

# Days a deleted secret can still be restored: long enough to notice a mistaken removal.
RECOVERY_WINDOW_DAYS = 30


@dataclass(frozen=True)
class SecretStoreArgs:
    stack: AwsStack
    secrets: Sequence[SecretConfig]
    account: AwsAccount
    # The role allowed to read the secrets (the orchestrator's IRSA role).
    reader_role: aws.iam.Role


class SecretStore(pulumi.ComponentResource):
    key: EncryptionKey
    secrets: dict[str, aws.secretsmanager.Secret]
    secret_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:SecretStore", name, None, opts)
        stack, account = args.stack, args.account
        child = pulumi.ResourceOptions(parent=self)
        self.key = EncryptionKey(
            f"{name}-key",
            EncryptionKeyArgs(
                stack,
                account,
                purpose="secrets",
                description="Secrets Manager secrets of the agent runtime",
                via_services=("secretsmanager",),
            ),
            child,
        )
        self.secrets = {}
        self.current_value_ids: dict[str, pulumi.Output[str]] = {}
        for entry in args.secrets:
            secret_name = f"{stack.cluster_name}/{entry.name}"
            secret = aws.secretsmanager.Secret(
                f"{name}-{entry.name}",
                name=secret_name,
                description=entry.description or f"Airlock secret '{entry.name}'",
                kms_key_id=self.key.arn,
                recovery_window_in_days=RECOVERY_WINDOW_DAYS,
                tags=aws_tags(stack, secret_name, **{"airlock:secret": entry.name}),
                opts=child,
            )
            # What reading the secret's current value waits for: its first version, when
            # the stack sets one (an unset entry is filled out of band).
            self.current_value_ids[entry.name] = secret.arn
            if entry.value is not None:
                version = aws.secretsmanager.SecretVersion(
                    f"{name}-{entry.name}",
                    secret_id=secret.id,
                    # Secret in the engine, in state and in `airlock synth` bundles alike.
                    secret_string=pulumi.Output.secret(entry.value.get_secret_value()),
                    opts=child,
                )
                self.current_value_ids[entry.name] = version.secret_id
            self.secrets[entry.name] = secret
        self.secret_arns = {secret_name: secret.arn for secret_name, secret in self.secrets.items()}

        if self.secrets:
            aws.iam.RolePolicy(
                f"{name}-read",
                role=args.reader_role.name,
                policy=document(
                    allow(["secretsmanager:GetSecretValue"], list(self.secret_arns.values()), sid="ReadTheseSecrets"),
                    allow(
                        ["kms:Decrypt"],
                        [self.key.arn],
                        sid="DecryptThemThroughSecretsManager",
                        conditions={"StringEquals": {"kms:ViaService": account.regional_service("secretsmanager")}},
                    ),
                ),
                opts=child,
            )
        self.register_outputs({"keyArn": self.key.arn, "secretArns": self.secret_arns})
