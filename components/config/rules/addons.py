"""Add-ons a stack relies on but Airlock does not install: their CRDs must exist before any
custom resource of theirs is created, or `pulumi up` fails with "no matches for kind"."""

from __future__ import annotations

from typing import Iterator

from components.config.endpoints import parse_endpoint_or_none
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig

# Custom-resource groups a stack may create, and the add-on whose CRDs define them.
CRD_ADDONS = {"keda.sh": "keda", "postgresql.cnpg.io": "cloudnativepg"}


def installed_addons(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """A feature that needs an add-on is refused unless the stack says it is installed."""
    installed = set(config.cluster.installed_addons)
    for i, model in enumerate(config.models):
        autoscaling = model.autoscaling
        if not autoscaling.enabled:
            continue
        if "keda" not in installed:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "enabled"),
                True,
                "needs KEDA, which Airlock does not install: its ScaledObject would fail with 'no matches for kind'. "
                "Install KEDA and Prometheus (docs/aws.md, first deploy) and list them in cluster.installedAddons: "
                "[keda, prometheus], or set enabled: false",
            )
        prometheus = parse_endpoint_or_none(autoscaling.prometheus_url)
        if prometheus is not None and prometheus.in_cluster and "prometheus" not in installed:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "prometheusUrl"),
                autoscaling.prometheus_url,
                "KEDA's trigger queries this in-cluster Prometheus, which Airlock does not install; install it "
                "(docs/aws.md, first deploy) and add 'prometheus' to cluster.installedAddons, or point the URL at "
                "your own Prometheus",
            )
