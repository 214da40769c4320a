"""Read access to mirrored model weights in S3 (``models[].weightsSource: s3``).

The model-server service account gets an IRSA role that can list and read exactly the
configured ``s3://bucket/prefix`` locations and nothing else: no write, no other prefix,
no other bucket. Stacks without S3 weights get no role at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections import defaultdict
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.iam import IrsaRole, IrsaRoleArgs, ServiceAccountRef
from components.aws.policy import Statement, allow, document
from components.config.schema import ModelConfig
from components.aws.stack import AwsStack
from components.config.naming import MODEL_SERVER_SERVICE_ACCOUNT, MODELS_NAMESPACE


def weights_locations(models: Sequence[ModelConfig]) -> dict[str, list[str]]:
    """Bucket -> sorted key prefixes (without trailing slash) of every S3-mirrored model."""
    locations: dict[str, set[str]] = defaultdict(set)
    for model in models:
        if model.weights_source == "s3" and model.weights_uri:
            bucket, _, prefix = model.weights_uri.removeprefix("s3://").partition("/")
            locations[bucket].add(prefix.strip("/"))
    return {bucket: sorted(prefixes) for bucket, prefixes in sorted(locations.items())}


@dataclass(frozen=True)
class ModelWeightsReaderArgs:
    stack: AwsStack
    # The local models; those with weightsSource 's3' name the buckets and prefixes to read.
    models: Sequence[ModelConfig]
    account: AwsAccount
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]


class ModelWeightsReader(pulumi.ComponentResource):
    role: IrsaRole

    def __init__(self, name: str, args: ModelWeightsReaderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:ModelWeightsReader", name, None, opts)
        locations = weights_locations(args.models)
        if not locations:
            raise ValueError("no model has weightsSource 's3'; create no weights reader")
        self.role = IrsaRole(
            "model-server",
            IrsaRoleArgs(
                stack=args.stack,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                service_accounts=[ServiceAccountRef(MODELS_NAMESPACE, MODEL_SERVER_SERVICE_ACCOUNT)],
                description="vLLM model servers: read mirrored model weights",
            ),
            pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-read",
            role=self.role.role.name,
            policy=document(*weights_statements(args.account, locations)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"roleArn": self.role.arn, "locations": locations})


def weights_statements(account: AwsAccount, locations: dict[str, list[str]]) -> list[Statement]:
    statements: list[Statement] = []
    for index, (bucket, prefixes) in enumerate(locations.items()):
        bucket_arn = pulumi.Output.concat("arn:", account.partition, ":s3:::", bucket)
        listed = [p for prefix in prefixes for p in ((f"{prefix}/", f"{prefix}/*") if prefix else ("*",))]
        statements.append(
            allow(
                ["s3:ListBucket"],
                [bucket_arn],
                sid=f"ListWeights{index}",
                conditions={"StringLike": {"s3:prefix": listed}},
            )
        )
        statements.append(
            allow(
                ["s3:GetObject"],
                [pulumi.Output.concat(bucket_arn, "/", f"{prefix}/*" if prefix else "*") for prefix in prefixes],
                sid=f"ReadWeights{index}",
            )
        )
    return statements
