"""The ``airlock cost`` command body: arguments to options, errors to exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from airlock.cost.command import CostOptions, Format, run_cost
from airlock.cost.economics import Assumptions
from airlock.cost.errors import CostError

EXIT_BAD_INPUT = 2


def cost_command(
    stack: str, fmt: str, tokens_per_day: Optional[float], utilisation: float, input_ratio: float,
    planner_share: float, prices: Optional[Path], bundle: Optional[Path], out_dir: Optional[Path],
    base: Optional[str], project_dir: Path, out: Console, err: Console,
) -> None:
    from airlock.synth.at_ref import RefError

    try:
        chosen = Format(fmt.lower())
    except ValueError:
        err.print(f"[red]error:[/red] --format '{fmt}' is not one of: {', '.join(f.value for f in Format)}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    options = CostOptions(
        stack=stack, project_dir=project_dir, fmt=chosen,
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
