"""The break-even chart of a hybrid stack, read back as a user would open it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from support import run_cli, shipped


def test_hybrid_stack_chart_png_svg_and_html(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_cli("cost", "staging", "--bundle", str(shipped("staging").directory), "--format", "html", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "staging: $1,804.34 per month" in result.stdout

    with Image.open(out / "chart.png") as png:
        assert png.format == "PNG" and png.size == (800, 360)  # 8 x 3.6 in at 100 dpi, one local model

    svg = (out / "chart.svg").read_text()
    # The break-even marker is an element with its own id, at 7.44M tokens/day (hand-computed
    # in test_cost_figures: $1,358.53 / $6 per 1M / 30.42 days).
    marker = re.search(r'<g id="break-even-qwen3-8b">(.*?)</g>', svg, re.S)
    assert marker and "<use" in marker.group(1)
    assert "break-even: 7.44M tokens/day" in svg

    html = (out / "cost.html").read_text()
    assert 'id="break-even-qwen3-8b"' in html and "$1,804.34" in html
    assert "Hybrid split: cloud planner and local implementers" in html
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', html)


def test_prod_chart_has_one_panel_and_marker_per_model(tmp_path: Path) -> None:
    result = run_cli("cost", "prod", "--bundle", str(shipped("prod").directory), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cost.txt").exists()
    with Image.open(tmp_path / "chart.png") as png:
        assert png.size == (800, 720)
    svg = (tmp_path / "chart.svg").read_text()
    assert 'id="break-even-llama-70b"' in svg and 'id="break-even-llama-8b"' in svg


def test_a_stack_without_local_models_gets_no_chart(tmp_path: Path) -> None:
    result = run_cli("cost", "dev", "--bundle", str(shipped("dev").directory), "--format", "markdown", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cost.md"]


def test_no_break_even_when_self_hosting_costs_more_per_token(tmp_path: Path) -> None:
    # At 5% utilisation the L40S replica costs $1.861 / (432 x 0.05 x 3600 / 1e6) = $23.93
    # per 1M output tokens, above Haiku's blended $6: there is no volume at which it pays.
    result = run_cli("cost", "staging", "--bundle", str(shipped("staging").directory), "--utilisation", "0.05",
                     "--format", "json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    import json

    (model,) = json.loads((tmp_path / "cost.json").read_text())["models"]
    assert model["self_hosted_usd_per_million"] == pytest.approx(1.861 / (432 * 0.05 * 3600 / 1e6))
    assert model["breaks_even_within_capacity"] is False
    svg = (tmp_path / "chart.svg").read_text()
    assert 'id="no-break-even-qwen3-8b"' in svg and 'id="break-even-qwen3-8b"' not in svg
