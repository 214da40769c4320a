"""Monthly cost against tokens per day, per local model: the GPU replicas the volume needs
(a step each time another replica is needed) against the API tier's per-token price, with
the break-even point marked. Written as PNG and SVG with matplotlib's Agg backend; the
break-even marker of model M has the SVG id ``break-even-M``."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from airlock.cost.economics import SECONDS_PER_DAY, ModelEconomics  # noqa: E402
from airlock.cost.report import CostReport  # noqa: E402

WIDTH_IN, HEIGHT_PER_MODEL_IN, DPI = 8.0, 3.6, 100
SAMPLES = 400


def chart_size_px(models: int) -> tuple[int, int]:
    return int(WIDTH_IN * DPI), int(HEIGHT_PER_MODEL_IN * models * DPI)


def _curves(model: ModelEconomics, report: CostReport) -> tuple[list[float], list[float], list[float]]:
    per_replica = model.throughput.tokens_per_s * report.assumptions.utilisation * SECONDS_PER_DAY
    top = max(2 * model.break_even_tokens_per_day, 1.2 * model.capacity_tokens_per_day)
    if report.assumptions.tokens_per_day:
        top = max(top, 1.2 * report.assumptions.tokens_per_day)
    xs = [top * i / SAMPLES for i in range(SAMPLES + 1)]
    replica_month = model.replica_usd_per_hour * report.hours_per_month
    local = [max(model.replicas, math.ceil(x / per_replica)) * replica_month for x in xs]
    api = [x * (report.hours_per_month / 24) * model.api_blended_usd_per_million / 1e6 for x in xs]
    return xs, local, api


def render_chart(report: CostReport, png: Path, svg: Path) -> None:
    models = report.models
    if not models:
        return
    plt.rcParams["svg.hashsalt"] = "airlock-cost"  # stable element ids between runs
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, readable by screen readers
    figure, axes = plt.subplots(len(models), 1, figsize=(WIDTH_IN, HEIGHT_PER_MODEL_IN * len(models)), dpi=DPI, squeeze=False)
    for ax, model in zip(axes[:, 0], models, strict=True):
        xs, local, api = _curves(model, report)
        millions = [x / 1e6 for x in xs]
        ax.step(millions, local, where="post", label=f"self-hosted: {model.name} ({model.gpus_per_replica}x{model.gpu} per replica)", color="#1f6feb")
        ax.plot(millions, api, label=f"API: {model.api_model} (${model.api_blended_usd_per_million:.2f}/1M blended)", color="#d1242f")
        if model.breaks_even_within_capacity:
            x = model.break_even_tokens_per_day
            y = model.monthly_usd
            (marker,) = ax.plot([x / 1e6], [y], "o", color="black", markersize=8, label=f"break-even: {x / 1e6:.2f}M tokens/day")
            marker.set_gid(f"break-even-{model.name}")
            ax.axvline(x / 1e6, color="black", linestyle=":", linewidth=1)
            ax.annotate(f"{x / 1e6:.2f}M/day, ${y:,.0f}/month", (x / 1e6, y), textcoords="offset points", xytext=(8, -14))
        else:
            ax.text(0.02, 0.92, "no break-even: self-hosted costs more per token than the API at this utilisation",
                    transform=ax.transAxes, fontsize=8, gid=f"no-break-even-{model.name}")
        estimate = "" if model.throughput.measured else " (throughput estimated)"
        ax.set_title(f"{report.stack}: {model.name}{estimate}, utilisation {report.assumptions.utilisation:.0%}", fontsize=10)
        ax.set_xlabel("output tokens per day (millions)")
        ax.set_ylabel("USD per month")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left" if not model.breaks_even_within_capacity else "lower right")
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
    figure.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(figure)
