"""The operator CLI: ``airlock synth``, ``airlock validate``, ``airlock cost``, ``airlock images``.

Exit status: 0 success, 2 bad input (stack config, stack name, arguments), 1 a fault in
Airlock itself (for example a component producing an invalid Kubernetes object).
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console
from rich.table import Table

from airlock.project import check_project, find_project

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Airlock: deploy production AI agents on infrastructure you own.",
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_FAULT = 1
EXIT_FINDINGS = 1  # airlock audit: a finding at or above --fail-on
EXIT_BROADENS = 3  # airlock diff: a change broadens access (a CI gate)

ProjectOption = typer.Option(None, "--project", help="Project directory (default: nearest Pulumi.yaml upwards).")


def cli_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Map errors to exit statuses at the command boundary; bad input never shows a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from airlock.bad_input import BAD_INPUT_ERRORS

        try:
            command(*args, **kwargs)
        except BAD_INPUT_ERRORS as error:
            err.print(f"[red]error:[/red] {error}", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # noqa: BLE001 the CLI boundary: report faults, do not crash
            _report_fault(error)
            raise typer.Exit(EXIT_FAULT) from None

    return run


def _project(project: Path | None) -> Path:
    return check_project(project) if project else find_project()


@app.command()
@cli_errors
def validate(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    project: Path | None = ProjectOption,
) -> None:
    """Check a stack's config (types, profile rules, sizing) without running the program."""
    from airlock.synth.run import validate_stack

    loaded = validate_stack(_project(project), stack, for_deploy=True)
    config = loaded.config
    _print_warnings([str(w) for w in loaded.warnings])
    out.print(
        f"[green]stack '{stack}' is valid[/green]: platform {config.platform}, profile {config.profile}, "
        f"{len(config.gpu_pools)} GPU pool(s), {len(config.models)} local model(s), "
        f"{len(config.cloud_models)} cloud model(s), {len(config.sandboxes)} sandbox pool(s)"
    )


@app.command()
@cli_errors
def synth(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    out_dir: Path | None = typer.Option(None, "--out", help="Bundle directory (default: out/<stack>)."),
    project: Path | None = ProjectOption,
) -> None:
    """Write the stack's desired state (resources.json, manifests/) offline: no cloud, no cluster."""
    from airlock.synth.run import synthesize

    started = time.perf_counter()
    target = out_dir or Path("out") / stack
    with err.status(f"synthesizing stack '{stack}' on the mock monitor..."):
        result = synthesize(_project(project), stack, target)
    bundle = result.bundle
    table = Table(title=f"{bundle.project}/{bundle.stack} ({bundle.platform}, {bundle.profile})", show_lines=False)
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for type_token, count in sorted(bundle.counts_by_type().items()):
        table.add_row(type_token, str(count))
    out.print(table)
    _print_warnings([str(w) for w in result.loaded.warnings] + [w for w in bundle.warnings if not _is_config_warning(w, result)])
    out.print(
        f"wrote {target}: {len(bundle.resources)} resources, {len(bundle.manifests)} Kubernetes manifests "
        f"(validated for {result.loaded.config.cluster.kubernetes_version}) in {time.perf_counter() - started:.1f}s"
    )


@app.command()
@cli_errors
def cost(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    fmt: str = typer.Option("table", "--format", help="table, json, markdown or html."),
    tokens_per_day: str | None = typer.Option(None, "--tokens-per-day", help="Output tokens per day of agent traffic (a number >= 0, e.g. 2e6)."),
    utilisation: str = typer.Option("0.5", "--utilisation", help="Share of peak throughput the local models sustain on average (0 < U <= 1)."),
    input_ratio: float = typer.Option(1.0, "--input-ratio", min=0, help="Input tokens per output token (prices the API side)."),
    planner_share: float = typer.Option(0.2, "--planner-share", min=0, max=1, help="Share of output tokens on the planner route."),
    prices: Path | None = typer.Option(None, "--prices", help="Prices file merged over the shipped catalog (same layout)."),
    bundle: Path | None = typer.Option(None, "--bundle", help="Price an existing bundle (airlock synth --out) instead of synthesizing."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write cost.<format> and chart.png/.svg to this directory."),
    base: str | None = typer.Option(None, "--base", help="Git ref to compare with: shows the monthly delta of the change."),
    project: Path | None = ProjectOption,
) -> None:
    """Monthly cost of a stack by resource group, and where its local models break even with cloud APIs."""
    from airlock.cost.cli_command import cost_command

    cost_command(stack, fmt, tokens_per_day, utilisation, input_ratio, planner_share, prices, bundle, out_dir, base, lambda: _project(project), out, err)


@app.command()
@cli_errors
def audit(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    bundle: Path | None = typer.Option(None, "--bundle", help="Audit this synth bundle instead of synthesizing."),
    report_format: str = typer.Option("table", "--format", help="table, json, sarif, junit or html."),
    fail_on: str = typer.Option("high", "--fail-on", help="Exit 1 on a finding at or above: high, medium or low."),
    output: Path | None = typer.Option(None, "--output", help="Write the report to this file instead of stdout."),
    project: Path | None = ProjectOption,
) -> None:
    """Run the security rules (docs/auditors.md) on the stack: exit 1 on findings at or above --fail-on."""
    from airlock.audit.command import FORMATS, check_choice, run_audit
    from airlock.audit.formats import RENDERERS

    check_choice("--format", report_format, FORMATS)
    report = run_audit(_project(project), stack, bundle, fail_on)
    text = RENDERERS[report_format](report)
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
    if report.failing():
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
@cli_errors
def diff(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    base: str = typer.Option(..., "--base", help="Git ref to compare from (e.g. origin/main)."),
    head: str | None = typer.Option(None, "--head", help="Git ref to compare to (default: the working tree)."),
    report_format: str = typer.Option("text", "--format", help="text, markdown or json."),
    project: Path | None = ProjectOption,
) -> None:
    """What a change does to the stack: resources added, removed, changed; exit 3 if anything broadens."""
    from airlock.diff.command import DiffInputError, run_diff
    from airlock.diff.render import RENDERERS as DIFF_RENDERERS

    if report_format not in DIFF_RENDERERS:
        raise DiffInputError(f"--format {report_format!r} is not allowed; allowed: {', '.join(DIFF_RENDERERS)}")
    with err.status(f"synthesizing stack '{stack}' at {base} and {head or 'the working tree'}..."):
        report = run_diff(_project(project), stack, base, head)
    typer.echo(DIFF_RENDERERS[report_format](report), nl=False)
    if report.broadens:
        raise typer.Exit(EXIT_BROADENS)


def _is_config_warning(message: str, result) -> bool:
    # The program logs config warnings too (so `pulumi up` shows them); print them once.
    return any(message == str(w) for w in result.loaded.warnings)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)


from airlock.images_cli import images as _images  # noqa: E402 (its own module; needs the helpers above)

app.command("images")(cli_errors(_images))


def main() -> None:
    """Console-script entry point (usage errors exit 2, as click does)."""
    app()


def _report_fault(error: Exception) -> None:
    from airlock.synth.manifests import ManifestError

    if isinstance(error, ManifestError):
        err.print(f"[red]error:[/red] synthesized manifest failed schema validation: {error}", highlight=False, soft_wrap=True)
    else:
        err.print(f"[red]internal error:[/red] {type(error).__name__}: {error}", highlight=False, soft_wrap=True)
    if os.environ.get("AIRLOCK_DEBUG"):
        traceback.print_exc()
    else:
        err.print("set AIRLOCK_DEBUG=1 for the traceback, and please report it", highlight=False)


if __name__ == "__main__":
    main()
