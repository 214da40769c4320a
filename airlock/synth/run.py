"""``airlock synth``: stack file -> validated config -> program on mocks -> bundle on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airlock.project import project_name
from airlock.synth.bundle import Bundle, build, write
from airlock.synth.target import probe_writable
from airlock.synth.engine import run_program
from components.config.errors import ConfigError
from components.config.loader import LoadedConfig, load, read_stack_file, stack_file
from components.program import InvalidStackConfig

# Offline, a kubernetes-platform stack has no region; fakes still need one for ARNs.
OFFLINE_REGION = "us-east-1"


@dataclass(frozen=True)
class SynthResult:
    bundle: Bundle
    loaded: LoadedConfig
    out_dir: Path


def validate_stack(project_dir: Path, stack: str, for_deploy: bool = False) -> LoadedConfig:
    """``for_deploy``: the checks `pulumi up` runs first, values still to be filled in included."""
    flat = read_stack_file(project_dir, stack)
    return load(flat, stack, project_dir, source=str(stack_file(project_dir, stack).relative_to(project_dir)), for_deploy=for_deploy)


def synthesize(project_dir: Path, stack: str, out_dir: Path) -> SynthResult:
    probe_writable(out_dir)  # refuse a foreign or unwritable --out before spending time on the program
    flat = read_stack_file(project_dir, stack)
    source = str(stack_file(project_dir, stack).relative_to(project_dir))
    # Validate before running anything: bad input must not produce a bundle.
    loaded = load(flat, stack, project_dir, source=source)
    try:
        run = run_program(project_dir, project_name(project_dir), stack, flat, loaded.region or OFFLINE_REGION)
    except InvalidStackConfig as error:
        raise ConfigError(error.error.stack, error.error.issues, source) from None
    config = loaded.config
    bundle = build(
        run,
        project=project_name(project_dir),
        stack=stack,
        platform=config.platform,
        profile=config.profile,
        kubernetes_version=config.cluster.kubernetes_version,
    )
    write(bundle, out_dir)
    return SynthResult(bundle, loaded, out_dir)
