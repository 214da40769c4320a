"""Reading a secret's current value from Secrets Manager at deploy time (a data source,
not a resource), for the few values a Kubernetes workload must get as a Kubernetes Secret."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def current_secret_string(secret_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The AWSCURRENT value, as a Pulumi secret. ``secret_id`` may be a SecretVersion's ARN
    output, which makes the read wait until the stack has written its first version."""
    version = aws.secretsmanager.get_secret_version_output(
        secret_id=secret_id, opts=pulumi.InvokeOutputOptions(parent=opts.parent)
    )
    return pulumi.Output.secret(version.secret_string)
