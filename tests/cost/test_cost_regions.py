"""`airlock cost` prices a stack in its own `aws:region`: the shipped stacks moved to the
catalog's second region (us-west-2) are checked against hand calculations from that region's
prices, a region-only price override shows which block was used, and a region the catalog
does not price stops with exit 2 naming it and the regions it has.

The us-west-2 figures below are quoted from regions.us-west-2 of airlock/cost/prices.yaml
(test_catalog_holds_the_us_west_2_prices pins them); the formulas are those of
test_cost_figures.py: monthly = count x $/h x 730 h.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import make_project, run_cli, shipped, stack_document

REGION = "us-west-2"
HOURS = 730

# regions.us-west-2 of airlock/cost/prices.yaml
T3_LARGE, M6I_LARGE, M6I_XLARGE = 0.0832, 0.096, 0.192
G6E_XLARGE, G6E_12XLARGE, P5_48XLARGE = 1.861, 10.49264, 55.04
EKS_HOURLY, NAT_HOURLY, ENDPOINT_AZ_HOURLY = 0.10, 0.045, 0.01
GP3_GB_MONTH, KMS_KEY_MONTH, SECRET_MONTH = 0.08, 1.00, 0.40
HAIKU_OUT, HAIKU_IN = 5, 1

AWS_STACKS = ("dev", "staging", "prod", "airgap")


def moved_to(stack: str, region: str) -> dict[str, Any]:
    """The shipped stack with aws:region and its availability zones moved to ``region``."""
    document = stack_document(stack)
    config = document["config"]
    config["aws:region"] = region
    network = config.get("airlock:network") or {}
    if network.get("availabilityZones"):
        network["availabilityZones"] = [f"{region}{zone[-1]}" for zone in network["availabilityZones"]]
    return document


@pytest.fixture(scope="module")
def west_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("west"), {stack: moved_to(stack, REGION) for stack in AWS_STACKS})


def cost_json(project: Path, stack: str, *extra: str) -> dict[str, Any]:
    # No --bundle: the command synthesizes the stack and takes the region from its aws:region.
    result = run_cli("cost", stack, "--format", "json", *extra, cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def west_reports(west_project: Path) -> dict[str, dict[str, Any]]:
    # One synth per stack for the whole module (each takes seconds).
    return {stack: cost_json(west_project, stack) for stack in AWS_STACKS}


def test_catalog_holds_the_us_west_2_prices() -> None:
    from airlock.cost.catalog import load_catalog

    catalog = load_catalog()
    assert sorted(catalog.regions) == ["us-east-1", "us-west-2"]
    west = catalog.regions[REGION]
    prices = {name: p.usd_per_hour for name, p in west.instances.items()}
    assert prices == {"t3.large": T3_LARGE, "m6i.large": M6I_LARGE, "m6i.xlarge": M6I_XLARGE,
                      "g6e.xlarge": G6E_XLARGE, "g6e.12xlarge": G6E_12XLARGE, "p5.48xlarge": P5_48XLARGE}
    assert (west.eks_cluster.usd_per_hour, west.nat_gateway.usd_per_hour, west.interface_endpoint.usd_per_hour_per_az) == (EKS_HOURLY, NAT_HOURLY, ENDPOINT_AZ_HOURLY)
    assert (west.ebs_gp3.usd_per_gb_month, west.kms_key.usd_per_month, west.secrets_manager_secret.usd_per_month) == (GP3_GB_MONTH, KMS_KEY_MONTH, SECRET_MONTH)
    # Every us-west-2 figure names a source with an address and the date it was read.
    figures = list(west.instances.values()) + [west.eks_cluster, west.nat_gateway, west.interface_endpoint, west.ebs_gp3, west.kms_key, west.secrets_manager_secret]
    for figure in figures:
        source = catalog.sources[figure.source]
        assert source.url.startswith("https://") and source.retrieved


def test_every_instance_type_of_the_shipped_aws_stacks_is_priced_in_both_regions() -> None:
    from airlock.cost.catalog import load_catalog

    catalog = load_catalog()
    used = set()
    for stack in AWS_STACKS:
        config = stack_document(stack)["config"]
        used.update((config.get("airlock:systemPool") or {}).get("instanceTypes") or [])
        used.update(pool["instanceType"] for pool in config.get("airlock:gpuPools") or [])
    # Pools without instanceTypes get the defaults; the synthesized bundles carry them.
    for stack in AWS_STACKS:
        used.update(t for r in shipped(stack).resources if r["type"] == "aws:eks/nodeGroup:NodeGroup" for t in r["inputs"]["instanceTypes"])
    for region in ("us-east-1", REGION):
        assert used <= set(catalog.regions[region].instances), (region, used - set(catalog.regions[region].instances))


EXPECTED = {
    "dev": 1 * T3_LARGE * HOURS + 1 * 50 * GP3_GB_MONTH + EKS_HOURLY * HOURS
    + 1 * NAT_HOURLY * HOURS + 10 * 2 * ENDPOINT_AZ_HOURLY * HOURS + 5 * KMS_KEY_MONTH + 1 * SECRET_MONTH,
    "staging": 2 * M6I_LARGE * HOURS + 2 * 50 * GP3_GB_MONTH + G6E_XLARGE * HOURS + 500 * GP3_GB_MONTH
    + EKS_HOURLY * HOURS + NAT_HOURLY * HOURS + 10 * 2 * ENDPOINT_AZ_HOURLY * HOURS + 5 * KMS_KEY_MONTH + 2 * SECRET_MONTH,
    "prod": 3 * M6I_XLARGE * HOURS + 3 * 50 * GP3_GB_MONTH + P5_48XLARGE * HOURS + 1000 * GP3_GB_MONTH
    + 4 * G6E_XLARGE * HOURS + 4 * 500 * GP3_GB_MONTH + EKS_HOURLY * HOURS + 3 * NAT_HOURLY * HOURS
    + 10 * 3 * ENDPOINT_AZ_HOURLY * HOURS + 5 * KMS_KEY_MONTH + 3 * SECRET_MONTH,
    "airgap": 2 * M6I_LARGE * HOURS + 2 * 50 * GP3_GB_MONTH + G6E_XLARGE * HOURS + 500 * GP3_GB_MONTH
    + G6E_12XLARGE * HOURS + 500 * GP3_GB_MONTH + EKS_HOURLY * HOURS + 10 * 3 * ENDPOINT_AZ_HOURLY * HOURS + 5 * KMS_KEY_MONTH,
}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_shipped_stacks_moved_to_us_west_2_cost_the_hand_calculation(west_reports: dict[str, dict[str, Any]], stack: str) -> None:
    report = west_reports[stack]
    assert report["region"] == REGION
    assert report["monthly_usd"] == pytest.approx(round(EXPECTED[stack], 2))
    # The figures came from the us-west-2 block: its sources are cited, the us-east-1 ones are not.
    assert "arcade-oregon" in report["sources"] and "kindatechnical-eks" not in report["sources"]
    assert report["unpriced_types"] == []


def test_airgap_in_us_west_2_uses_that_regions_l40s_x4_price(west_reports: dict[str, dict[str, Any]]) -> None:
    report = west_reports["airgap"]
    qwen32 = next(m for m in report["models"] if m["name"] == "qwen3-32b")
    assert qwen32["replica_usd_per_hour"] == pytest.approx(G6E_12XLARGE * 2 / 4)                  # TP 2 of a 4-GPU node
    assert qwen32["monthly_usd"] == pytest.approx(2 * G6E_12XLARGE * 2 / 4 * HOURS)               # 7,659.63
    assert qwen32["break_even_tokens_per_day"] == pytest.approx(G6E_12XLARGE * HOURS / ((HAIKU_OUT + HAIKU_IN) / 1e6) / (HOURS / 24))
    assert "tsaol-gpu-vantage" in report["sources"]


def test_the_stack_region_picks_the_price_block(west_project: Path, tmp_path: Path) -> None:
    # A price given for us-west-2 only: the moved dev stack pays it, the shipped one does not.
    prices = tmp_path / "prices.yaml"
    prices.write_text("regions:\n  us-west-2:\n    instances:\n      t3.large: {usd_per_hour: 0.5, source: reference}\n")
    west = cost_json(west_project, "dev", "--prices", str(prices))
    assert west["groups"]["nodes"] == pytest.approx(0.5 * HOURS)
    east = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--format", "json", "--prices", str(prices))
    assert east.returncode == 0, east.stderr
    assert json.loads(east.stdout)["groups"]["nodes"] == pytest.approx(round(0.0832 * HOURS, 2))   # us-east-1 t3.large


def test_a_region_the_catalog_does_not_price_names_it_and_the_priced_regions(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": moved_to("dev", "eu-west-1")})
    result = run_cli("cost", "dev", cwd=project)
    assert result.returncode == 2
    assert "no prices for region 'eu-west-1' (the catalog has: us-east-1, us-west-2)" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_figure_missing_in_the_region_names_the_figure_and_region(tmp_path: Path) -> None:
    # A prices file adding a region with only some figures: each missing one is named with
    # the region, never priced at $0 or taken from another region.
    project = make_project(tmp_path, {"staging": moved_to("staging", "us-east-2")})
    prices = tmp_path / "prices.yaml"
    region: dict[str, Any] = {"instances": {"m6i.large": {"usd_per_hour": 0.096, "source": "reference"}}}
    prices.write_text(yaml.safe_dump({"regions": {"us-east-2": region}}))
    result = run_cli("cost", "staging", "--prices", str(prices), cwd=project)
    assert result.returncode == 2
    assert "no price for ebs_gp3 in us-east-2 (used by node group system)" in result.stderr

    region["ebs_gp3"] = {"usd_per_gb_month": 0.08, "source": "reference"}
    prices.write_text(yaml.safe_dump({"regions": {"us-east-2": region}}))
    result = run_cli("cost", "staging", "--prices", str(prices), cwd=project)
    assert result.returncode == 2
    assert "no price for instance type 'g6e.xlarge' in us-east-2 (used by node group gpu-l40s)" in result.stderr


def test_stack_region_and_bundle_zones_must_agree() -> None:
    from airlock.cost.bundle_facts import read_bundle, with_stack_region
    from airlock.cost.errors import CostError

    facts = read_bundle(shipped("dev").directory)           # subnets in us-east-1a/b
    assert with_stack_region(facts, "us-east-1").region == "us-east-1"
    with pytest.raises(CostError, match="stack 'dev' has aws:region us-west-2 but its subnets are in us-east-1"):
        with_stack_region(facts, "us-west-2")
    onprem = read_bundle(shipped("onprem").directory)       # an existing cluster: nothing to price by region
    assert with_stack_region(onprem, "us-west-2").region is None
