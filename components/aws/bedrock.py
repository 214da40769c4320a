"""Bedrock cloud models: the orchestrator's role may invoke exactly the configured models.

Bedrock authenticates with IAM (no API key), so a ``cloudModels`` entry with provider
``bedrock`` becomes permission to invoke that one model id. Cross-region inference
profiles (``us.``, ``eu.``, ``apac.``, ``global.`` ... prefixes) route a request to the
underlying model in any region of the profile, so for those the foundation-model ARN
names every region (``arn:aws:bedrock:*::foundation-model/<id>``): AWS checks the call
against the model in whichever region serves it.
"""

from __future__ import annotations

from collections.abc import Sequence
import re

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.policy import allow, document
from components.config.schema import CloudModelConfig

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
INFERENCE_PROFILE = re.compile(r"^(us|us-gov|eu|apac|jp|au|ca|global)\.(?P<model>.+)$")


def bedrock_models(cloud_models: Sequence[CloudModelConfig]) -> list[str]:
    return sorted({m.model for m in cloud_models if m.provider == "bedrock"})


def model_resources(account: AwsAccount, model_id: str) -> list[pulumi.Output[str]]:
    profile = INFERENCE_PROFILE.match(model_id)
    if profile is None:
        return [pulumi.Output.concat("arn:", account.partition, ":bedrock:", account.region, "::foundation-model/", model_id)]
    return [
        account.arn("bedrock", f"inference-profile/{model_id}"),
        pulumi.Output.concat("arn:", account.partition, ":bedrock:*::foundation-model/", profile["model"]),
    ]


def grant_bedrock_models(
    name: str, cloud_models: Sequence[CloudModelConfig], account: AwsAccount, role: aws.iam.Role, opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicy | None:
    models = bedrock_models(cloud_models)
    if not models:
        return None
    return aws.iam.RolePolicy(
        name,
        role=role.name,
        policy=document(
            *[
                allow(INVOKE_ACTIONS, model_resources(account, model), sid=f"InvokeModel{index}")
                for index, model in enumerate(models)
            ]
        ),
        opts=opts,
    )
