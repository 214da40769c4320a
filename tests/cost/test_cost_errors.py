"""Bad input to `airlock cost` exits 2 with one message naming what is wrong; nothing is
ever priced at $0 for want of a price."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support import run_cli, shipped


def bundle_copy(stack: str, tmp_path: Path) -> Path:
    target = tmp_path / stack
    shutil.copytree(shipped(stack).directory, target)
    return target


def edit_resources(bundle: Path, old: str, new: str) -> None:
    path = bundle / "resources.json"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_unknown_instance_type_names_it(tmp_path: Path) -> None:
    bundle = bundle_copy("dev", tmp_path)
    edit_resources(bundle, '"t3.large"', '"x9.huge"')
    result = run_cli("cost", "dev", "--bundle", str(bundle))
    assert result.returncode == 2
    assert "no price for instance type 'x9.huge' in us-east-1 (used by node group system)" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_unknown_cloud_model_names_it(tmp_path: Path) -> None:
    bundle = bundle_copy("dev", tmp_path)
    edit_resources(bundle, "model: claude-haiku-4-5", "model: claude-mystery-9")
    result = run_cli("cost", "dev", "--bundle", str(bundle), "--tokens-per-day", "1000")
    assert result.returncode == 2
    assert "no price for model 'claude-mystery-9' of provider anthropic" in result.stderr


def test_region_without_prices_names_it(tmp_path: Path) -> None:
    bundle = bundle_copy("dev", tmp_path)
    edit_resources(bundle, '"availabilityZone": "us-east-1a"', '"availabilityZone": "eu-west-1a"')
    edit_resources(bundle, '"availabilityZone": "us-east-1b"', '"availabilityZone": "eu-west-1b"')  # dev spans two zones
    result = run_cli("cost", "dev", "--bundle", str(bundle))
    assert result.returncode == 2
    assert "no prices for region 'eu-west-1'" in result.stderr


def test_an_added_price_file_fills_the_gap(tmp_path: Path) -> None:
    bundle = bundle_copy("dev", tmp_path)
    edit_resources(bundle, '"t3.large"', '"x9.huge"')
    prices = tmp_path / "prices.yaml"
    prices.write_text("regions:\n  us-east-1:\n    instances:\n      x9.huge: {usd_per_hour: 2.0, source: reference}\n")
    result = run_cli("cost", "dev", "--bundle", str(bundle), "--prices", str(prices), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["groups"]["nodes"] == 2.0 * 730


def test_negative_or_non_numeric_tokens_per_day() -> None:
    for value in ("-5", "lots", "nan"):
        result = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--tokens-per-day", value)
        assert result.returncode == 2, value
        assert f"--tokens-per-day '{value}' is not allowed" in result.stderr and ">= 0" in result.stderr


def test_utilisation_out_of_range() -> None:
    result = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--utilisation", "1.5")
    assert result.returncode == 2 and "--utilisation '1.5' is not allowed: give a fraction" in result.stderr


def test_malformed_prices_file_names_the_field(tmp_path: Path) -> None:
    cases = {
        "regions:\n  us-east-1:\n    instances:\n      t3.large: {usd_per_hour: cheap, source: reference}\n":
            "regions.us-east-1.instances.t3.large.usd_per_hour = 'cheap': must be a valid number",
        "regions:\n  us-east-1:\n    nat_gateway: {usd_per_hour: -1, usd_per_gb: 0.045, source: reference}\n":
            "regions.us-east-1.nat_gateway.usd_per_hour = -1: must be greater than or equal to 0",
        "models:\n  openai/gpt-9: {usd_per_million_input: 1, usd_per_million_output: 2, source: a-blog}\n":
            "models.openai/gpt-9.source: 'a-blog' is not a key of sources",
        "regions:\n  us-east-1:\n    instances:\n      t3.large: {usd_per_hour: 1, source: reference, discount: 5}\n":
            "regions.us-east-1.instances.t3.large.discount = 5: unknown key",
        "models: [1, 2\n": "is not valid YAML",
    }
    for index, (text, message) in enumerate(cases.items()):
        prices = tmp_path / f"prices-{index}.yaml"
        prices.write_text(text)
        result = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--prices", str(prices))
        assert result.returncode == 2, text
        assert f"prices file {prices}" in result.stderr and message in result.stderr, result.stderr


def test_existing_cluster_stack_is_refused_with_the_reason() -> None:
    result = run_cli("cost", "onprem", "--bundle", str(shipped("onprem").directory))
    assert result.returncode == 2 and "platform kubernetes" in result.stderr


def test_bundle_of_another_stack_is_refused() -> None:
    result = run_cli("cost", "prod", "--bundle", str(shipped("dev").directory))
    assert result.returncode == 2 and "is of stack 'dev', not 'prod'" in result.stderr


def test_unknown_format() -> None:
    result = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--format", "pdf")
    assert result.returncode == 2 and "--format 'pdf' is not one of: table, json, markdown, html" in result.stderr
