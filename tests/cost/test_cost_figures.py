"""`airlock cost` on the shipped stacks, checked against hand calculations.

Every expected figure below is worked out by hand from the catalog's prices (quoted with
their catalog keys; test_catalog_holds_the_prices_these_calculations_use pins them) and the
formulas of REFERENCE.md, not by calling the code under test:

    monthly = count x $/h x 730 h;   self-hosted $/1M = $/h / (tok/s x U x 3600 / 1e6)
    break-even tokens/day = monthly GPU $ / (blended API $ per token) / (730 / 24 days)
"""

from __future__ import annotations

import json

import pytest

from support import run_cli, shipped

HOURS = 730
DAYS = 730 / 24
U = 0.5  # the default --utilisation

# regions.us-east-1 of airlock/cost/prices.yaml
T3_LARGE, M6I_LARGE, M6I_XLARGE = 0.0832, 0.096, 0.192
G6E_XLARGE, G6E_12XLARGE, P5_48XLARGE = 1.861, 10.49, 55.04
EKS_HOURLY, NAT_HOURLY, ENDPOINT_AZ_HOURLY = 0.10, 0.045, 0.01
GP3_GB_MONTH, KMS_KEY_MONTH, SECRET_MONTH = 0.08, 1.00, 0.40
HAIKU_IN, HAIKU_OUT, SONNET_IN, SONNET_OUT = 1, 5, 3, 15


def cost_json(stack: str, *extra: str) -> dict:
    result = run_cli("cost", stack, "--bundle", str(shipped(stack).directory), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_catalog_holds_the_prices_these_calculations_use() -> None:
    from airlock.cost.catalog import load_catalog

    catalog = load_catalog()
    region = catalog.regions["us-east-1"]
    prices = {name: p.usd_per_hour for name, p in region.instances.items()}
    assert prices["t3.large"] == T3_LARGE and prices["m6i.large"] == M6I_LARGE and prices["m6i.xlarge"] == M6I_XLARGE
    assert prices["g6e.xlarge"] == G6E_XLARGE and prices["g6e.12xlarge"] == G6E_12XLARGE and prices["p5.48xlarge"] == P5_48XLARGE
    assert (region.eks_cluster.usd_per_hour, region.nat_gateway.usd_per_hour, region.interface_endpoint.usd_per_hour_per_az) == (EKS_HOURLY, NAT_HOURLY, ENDPOINT_AZ_HOURLY)
    assert (region.ebs_gp3.usd_per_gb_month, region.kms_key.usd_per_month, region.secrets_manager_secret.usd_per_month) == (GP3_GB_MONTH, KMS_KEY_MONTH, SECRET_MONTH)
    haiku, sonnet = catalog.models["anthropic/claude-haiku-4-5"], catalog.models["anthropic/claude-sonnet-4-5"]
    assert (haiku.usd_per_million_input, haiku.usd_per_million_output, sonnet.usd_per_million_input, sonnet.usd_per_million_output) == (HAIKU_IN, HAIKU_OUT, SONNET_IN, SONNET_OUT)
    # Every figure carries a source with an address and the date it was read.
    for source in catalog.sources.values():
        assert source.url and source.retrieved


def test_dev_costs_its_node_control_plane_nat_endpoints_keys_and_secret() -> None:
    report = cost_json("dev")
    expected_groups = {
        "nodes": 1 * T3_LARGE * HOURS,                       # 60.736
        "node storage": 1 * 50 * GP3_GB_MONTH,               # 4.00
        "control plane": EKS_HOURLY * HOURS,                 # 73.00
        "network": 1 * NAT_HOURLY * HOURS + 10 * 2 * ENDPOINT_AZ_HOURLY * HOURS,  # 32.85 + 146.00: 10 interface endpoints in two AZs
        "security": 5 * KMS_KEY_MONTH + 1 * SECRET_MONTH,    # 5.40
    }
    assert report["groups"] == pytest.approx({k: round(v, 2) for k, v in expected_groups.items()})
    assert report["monthly_usd"] == pytest.approx(321.99)
    assert report["models"] == [] and report["unpriced_types"] == []
    # Usage-priced resources are listed with their rates, not silently counted as $0.
    listed = " ".join(u["resource"] for u in report["usage_priced"])
    assert "SQS" in listed and "DynamoDB" in listed and "CloudWatch" in listed and "S3 buckets" in listed


def test_staging_hybrid_split_and_break_even() -> None:
    report = cost_json("staging", "--tokens-per-day", "5000000")
    gpu_month = 1 * G6E_XLARGE * HOURS                       # 1,358.53
    expected_total = (2 * M6I_LARGE * HOURS + 2 * 50 * GP3_GB_MONTH + gpu_month + 500 * GP3_GB_MONTH
                      + EKS_HOURLY * HOURS + NAT_HOURLY * HOURS + 10 * 2 * ENDPOINT_AZ_HOURLY * HOURS
                      + 5 * KMS_KEY_MONTH + 2 * SECRET_MONTH)
    assert report["monthly_usd"] == pytest.approx(round(expected_total, 2))   # 1,804.34

    (qwen,) = report["models"]
    tokens_per_s = 300 * 864 / 600                           # 8B on A10G scaled to the L40S's bandwidth: 432
    assert qwen["throughput"]["measured"] is False and "estimate" in qwen["throughput"]["basis"]
    assert qwen["throughput"]["tokens_per_s"] == pytest.approx(tokens_per_s)
    assert qwen["capacity_tokens_per_day"] == pytest.approx(1 * tokens_per_s * U * 86400)          # 18.66M
    assert qwen["self_hosted_usd_per_million"] == pytest.approx(G6E_XLARGE / (tokens_per_s * U * 3600 / 1e6))  # $2.39
    blended = HAIKU_OUT + 1 * HAIKU_IN                       # one input token per output token by default
    assert qwen["api_model"] == "anthropic/claude-haiku-4-5" and qwen["api_blended_usd_per_million"] == blended
    assert qwen["break_even_tokens_per_day"] == pytest.approx(gpu_month / (blended / 1e6) / DAYS)   # 7.44M
    assert qwen["breaks_even_within_capacity"] is True

    planner, default = report["traffic"]
    assert (planner["route"], planner["kind"], planner["target"]) == ("planner", "cloud", "anthropic/claude-sonnet-4-5")
    assert planner["tokens_per_day"] == pytest.approx(0.2 * 5e6)
    assert planner["monthly_usd"] == pytest.approx(1e6 * DAYS * (SONNET_OUT + SONNET_IN) / 1e6)     # $547.50
    assert (default["route"], default["kind"]) == ("default", "local")
    assert default["monthly_usd"] == pytest.approx(gpu_month)                                     # 4M/day fits one replica
    assert default["api_alternative_monthly_usd"] == pytest.approx(4e6 * DAYS * blended / 1e6)   # $730.00


def test_prod_prices_the_h100_pool_and_the_70b_model_from_a_measured_figure() -> None:
    report = cost_json("prod")
    h100_month = 1 * P5_48XLARGE * HOURS
    expected = (3 * M6I_XLARGE * HOURS + 3 * 50 * GP3_GB_MONTH + h100_month + 1000 * GP3_GB_MONTH
                + 4 * G6E_XLARGE * HOURS + 4 * 500 * GP3_GB_MONTH + EKS_HOURLY * HOURS
                + 3 * NAT_HOURLY * HOURS + 10 * 3 * ENDPOINT_AZ_HOURLY * HOURS + 5 * KMS_KEY_MONTH + 3 * SECRET_MONTH)
    # gpu-l40s runs desiredSize 4 nodes: with no node autoscaler, KEDA's 4 replicas need them all.
    assert report["monthly_usd"] == pytest.approx(round(expected, 2))     # 46,682.55
    assert report["groups"]["GPU nodes"] == pytest.approx(round(h100_month + 4 * G6E_XLARGE * HOURS, 2))

    llama70 = next(m for m in report["models"] if m["name"] == "llama-70b")
    replica_hourly = P5_48XLARGE * 4 / 8                     # TP 4 on an 8-GPU node: 27.52
    assert llama70["throughput"] == {"tokens_per_s": 3500, "measured": True,
                                     "basis": llama70["throughput"]["basis"], "source": "reference"}
    assert llama70["replica_usd_per_hour"] == pytest.approx(replica_hourly)
    assert llama70["monthly_usd"] == pytest.approx(2 * replica_hourly * HOURS)                     # 40,179.20
    assert llama70["self_hosted_usd_per_million"] == pytest.approx(replica_hourly / (3500 * U * 3600 / 1e6))  # $4.37
    assert llama70["api_model"] == "anthropic/claude-sonnet-4-5"
    assert llama70["break_even_tokens_per_day"] == pytest.approx(2 * replica_hourly * HOURS / ((SONNET_OUT + SONNET_IN) / 1e6) / DAYS)  # 73.4M

    llama8 = next(m for m in report["models"] if m["name"] == "llama-8b")
    assert (llama8["replicas"], llama8["max_replicas"]) == (2, 4)  # KEDA's minimum and maximum


def test_airgap_estimates_the_32b_fp8_model_across_size_and_gpu() -> None:
    report = cost_json("airgap")
    assert report["monthly_usd"] == pytest.approx(round(
        2 * M6I_LARGE * HOURS + 2 * 50 * GP3_GB_MONTH + G6E_XLARGE * HOURS + 500 * GP3_GB_MONTH
        + G6E_12XLARGE * HOURS + 500 * GP3_GB_MONTH + EKS_HOURLY * HOURS + 10 * 3 * ENDPOINT_AZ_HOURLY * HOURS
        + 5 * KMS_KEY_MONTH, 2))                               # 9,541.39: no NAT, no secrets
    qwen32 = next(m for m in report["models"] if m["name"] == "qwen3-32b")
    tokens_per_s = 1700 * (2 * 864) / (2 * 3350) * 70 / 32   # 70B FP8 on 2xH100, scaled: 959.1
    assert qwen32["precision"] == "fp8" and qwen32["throughput"]["measured"] is False
    assert qwen32["throughput"]["tokens_per_s"] == pytest.approx(tokens_per_s)
    assert qwen32["monthly_usd"] == pytest.approx(2 * G6E_12XLARGE * 2 / 4 * HOURS)               # 2 replicas x 2 of 4 GPUs
    assert qwen32["break_even_tokens_per_day"] == pytest.approx(G6E_12XLARGE * HOURS / ((HAIKU_OUT + HAIKU_IN) / 1e6) / DAYS)


def test_utilisation_and_input_ratio_change_the_economics() -> None:
    report = cost_json("staging", "--utilisation", "0.25", "--input-ratio", "3")
    (qwen,) = report["models"]
    assert qwen["self_hosted_usd_per_million"] == pytest.approx(G6E_XLARGE / (432 * 0.25 * 3600 / 1e6))
    assert qwen["api_blended_usd_per_million"] == HAIKU_OUT + 3 * HAIKU_IN


def test_tables_and_markdown_show_the_total_and_the_split() -> None:
    table = run_cli("cost", "staging", "--bundle", str(shipped("staging").directory), "--tokens-per-day", "5e6")
    assert table.returncode == 0, table.stderr
    assert "$1,804.34" in table.stdout and "hybrid split" in table.stdout and "claude-sonnet-4-5" in table.stdout
    markdown = run_cli("cost", "staging", "--bundle", str(shipped("staging").directory), "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert "**$1,804.34 per month**" in markdown.stdout and "## Sources" in markdown.stdout and "https://" in markdown.stdout
