"""The ``airlock cost`` command body: arguments to options, errors to exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import typer
from rich.console import Console

from airlock.cost.command import CostOptions, Format, run_cost
from airlock.cost.economics import Assumptions
from airlock.cost.errors import CostError

EXIT_BAD_INPUT = 2


def _number(option: str, text: str | None, allowed: str, ok: Callable[[float], bool]) -> float | None:
    # Parsed here rather than by click so the message can quote the value and the range.
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or not ok(value):
        raise CostError(f"{option} '{text}' is not allowed: {allowed}")
    return value


def cost_command(
    stack: str, fmt: str, tokens_per_day_text: str | None, utilisation_text: str, input_ratio: float,
    planner_share: float, prices: Path | None, bundle: Path | None, out_dir: Path | None,
    base: str | None, project_dir: Callable[[], Path], out: Console, err: Console,
) -> None:
    from airlock.synth.at_ref import RefError

    try:
        tokens_per_day = _number("--tokens-per-day", tokens_per_day_text, "give output tokens per day as a number >= 0 (e.g. 2e6)", lambda v: 0 <= v < float("inf"))
        utilisation = _number("--utilisation", utilisation_text, "give a fraction of peak throughput, 0 < U <= 1 (e.g. 0.5)", lambda v: 0 < v <= 1)
    except CostError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    assert utilisation is not None
    try:
        chosen = Format(fmt.lower())
    except ValueError:
        err.print(f"[red]error:[/red] --format '{fmt}' is not one of: {', '.join(f.value for f in Format)}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    options = CostOptions(
        stack=stack, project_dir=project_dir if (bundle is None or base is not None) else None, fmt=chosen,
        assumptions=Assumptions(utilisation=utilisation, input_ratio=input_ratio, tokens_per_day=tokens_per_day, planner_share=planner_share),
        prices=prices, bundle=bundle, out=out_dir, base=base,
    )
    try:
        result = run_cost(options)
    except (CostError, RefError) as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if out_dir is None:
        # Plain write: rich markup in a JSON or HTML document would be corrupted.
        out.file.write(result.text)
        out.file.flush()
    else:
        out.print(f"{stack}: ${result.report.monthly_usd:,.2f} per month; wrote " + ", ".join(str(p) for p in result.written), highlight=False)
