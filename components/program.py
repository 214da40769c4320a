"""Glue between the Pulumi program and the config loader."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pulumi

from components.config.errors import ConfigError
from components.config.loader import LoadedConfig, from_pulumi_runtime, load


class InvalidStackConfig(pulumi.RunError):
    """Stops the program before any resource is registered. RunError makes the engine
    print just the message, which already names every bad key, without a traceback."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


# True while `airlock synth` runs the program on the mock monitor: values still to be
# filled in (severity "deploy") then warn instead of stopping the program.
_offline_synthesis = False


@contextlib.contextmanager
def offline_synthesis() -> Iterator[None]:
    global _offline_synthesis
    previous, _offline_synthesis = _offline_synthesis, True
    try:
        yield
    finally:
        _offline_synthesis = previous


def load_stack_config(project_dir: Path) -> LoadedConfig:
    stack = pulumi.get_stack()
    try:
        loaded = load(from_pulumi_runtime(), stack, project_dir, source=f"stack '{stack}'", for_deploy=not _offline_synthesis)
    except ConfigError as error:
        raise InvalidStackConfig(error) from None
    for warning in loaded.warnings:
        pulumi.log.warn(str(warning))
    return loaded
