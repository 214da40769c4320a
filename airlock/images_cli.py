"""The ``airlock images`` command (registered in airlock/cli.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import typer

from airlock.images import Mode, ecr_registry, plan, stack_images

ACCOUNT_PLACEHOLDER = "${ACCOUNT_ID}"


def images(
    stack: str = typer.Argument(..., help="Stack name: stacks/Pulumi.<stack>.yaml."),
    account_id: str | None = typer.Option(
        None, "--account-id", help="aws: the AWS account of the stack's ECR (default: the commands ask `aws sts`)."
    ),
    export: Path | None = typer.Option(None, "--export", help="Connected side of an airgapped install: write every image to this OCI archive (.tar)."),
    import_: Path | None = typer.Option(None, "--import", help="Airgapped side: copy every image from this OCI archive into the stack's registry."),
    run: bool = typer.Option(False, "--run", help="Run the commands (needs skopeo; podman to build) instead of printing them."),
    project: Path | None = typer.Option(None, "--project", help="Project directory (default: nearest Pulumi.yaml upwards)."),
) -> None:
    """List every image the stack runs, with its digest, and copy them into the stack's registry."""
    from airlock.cli import EXIT_BAD_INPUT, _project, err, out
    from airlock.synth.run import validate_stack

    if export and import_:
        err.print("[red]error:[/red] --export and --import: pick one (export on the connected side, import on the airgapped side)")
        raise typer.Exit(EXIT_BAD_INPUT)
    project_dir = _project(project)
    # Not for_deploy: digests still to be filled in are what this command fills in.
    loaded = validate_stack(project_dir, stack)
    region = loaded.region or ""
    account = account_id or ACCOUNT_PLACEHOLDER
    registry = ecr_registry(account, region) if loaded.config.platform == "aws" else ""
    found = stack_images(loaded, registry)
    if not any(i.destination for i in found) and (export or import_):
        err.print(f"[red]error:[/red] stack '{stack}' pulls every image from upstream: there is no registry to import into")
        raise typer.Exit(EXIT_BAD_INPUT)

    # One block per image, never truncated: references and digests are copied from here.
    out.print(f"images of stack '{stack}':", highlight=False)
    for image in found:
        out.print(f"  airlock:images.{image.config_key}", highlight=False)
        out.print(f"    source:  {'build ' + image.dockerfile if image.dockerfile else image.source}", highlight=False)
        out.print(f"    digest:  {image.digest}", highlight=False)
        out.print(f"    pods pull from: {image.destination or 'upstream (no copy needed)'}", highlight=False)

    mode: Mode = "export" if export else "import" if import_ else "push"
    lines = plan(loaded, found, mode, export or import_)
    needs_account = loaded.config.platform == "aws" and account_id is None and mode != "export" and any(i.destination for i in found)
    if needs_account:
        lines.insert(1, "ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)")
    script = "\n".join(lines) + "\n"
    if not run:
        out.print("# commands (run them in the project directory, or pass --run):", highlight=False)
        out.print(script, highlight=False, markup=False)
        return
    missing = [tool for tool in ("skopeo", "bash") if shutil.which(tool) is None]
    if missing:
        err.print(f"[red]error:[/red] --run needs {', '.join(missing)} on PATH; install skopeo (apt-get install skopeo) or run the printed commands elsewhere")
        raise typer.Exit(EXIT_BAD_INPUT)
    result = subprocess.run(["bash", "-c", script], cwd=project_dir)
    if result.returncode != 0:
        err.print(f"[red]error:[/red] a copy command failed (exit {result.returncode}); fix it and rerun `airlock images {stack} --run`")
        raise typer.Exit(1)
