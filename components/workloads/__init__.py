"""The workloads Airlock runs on a cluster, identical for platforms 'aws' and 'kubernetes'.

One component per namespace (each owns its namespace, its NetworkPolicies and its
workloads): ``Observability`` (airlock-telemetry), ``EgressProxy`` (airlock-egress),
``ModelServing`` with one ``ModelServer`` per model (airlock-models), one ``Sandbox`` per
sandbox pool (airlock-sbx-<pool>) and ``Orchestrator`` (airlock-orchestrator).

The pure parts (pod specs, vLLM flags, proxy routes, policies, rendered configs) live in
their own modules so tests and audits can compute them without running Pulumi.
"""
