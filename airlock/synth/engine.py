"""Run the real ``__main__.py`` on the Pulumi SDK's mock monitor and record what it registers.

This is Pulumi's documented unit-testing setup (``pulumi.runtime.set_mocks``) used for a
whole program: the program, the components and the SDK are the production code paths;
only the engine is replaced by a monitor that records each registration exactly as the
engine would receive it and answers with fake provider outputs (``fakes.py``).
"""

from __future__ import annotations

import logging
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from airlock.synth.fakes import fake_invoke, fake_resource
from airlock.synth.props import SECRET_MASK, struct_to_plain
from components.config.loader import FlatConfig
from components.program import offline_synthesis


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent_urn: str | None
    inputs: dict[str, Any]


@dataclass
class SynthRun:
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class _FakeProviders(pulumi.runtime.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", dict(args.inputs)
        return fake_resource(args.typ, args.name, _unwrap_secrets(args.inputs), self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        # An empty failure list: the mock monitor iterates it (None would crash every invoke).
        return fake_invoke(args.token, args.args, self.region), []


def _unwrap_secrets(value: Any) -> Any:
    """The SDK hands mocks secret-wrapped values; fakes compute on the plain ones."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return _unwrap_secrets(value.get("value"))
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps the engine-bound protobuf of every registration, before the SDK unwraps it."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            record = RecordedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent_urn=request.parent or None,
                inputs=struct_to_plain(request.object),
            )
            with self._lock:
                self.recorded.append(record)
        return response


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(project_dir: Path, project: str, stack: str, flat: FlatConfig, region: str) -> SynthRun:
    """Run ``project_dir/__main__.py`` for ``stack`` and return what it registered."""
    mocks = _FakeProviders(region)
    monitor = _RecordingMonitor(mocks)
    collector = _WarningCollector()
    logger = logging.getLogger(f"airlock.synth.{stack}")
    logger.propagate = False
    logger.handlers = [collector]
    logger.setLevel(logging.WARNING)

    # A fresh root stack resource, so several synths can run in one process (tests).
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, logger=logger, monitor=monitor)
    pulumi.runtime.set_all_config(dict(flat.values), sorted(flat.secret_keys))

    sys.path.insert(0, str(project_dir))
    try:
        def program() -> None:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

        with offline_synthesis():
            _sync_await(run_pulumi_func(program))
        outputs = _stack_outputs()
    finally:
        sys.path.remove(str(project_dir))
    return SynthRun(resources=list(monitor.recorded), outputs=outputs, warnings=collector.messages)


def _stack_outputs() -> dict[str, Any]:
    root = pulumi_settings.get_root_resource()
    result: dict[str, Any] = {}
    for key, value in sorted(getattr(root, "outputs", {}).items()):
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        secret = _sync_await(output.is_secret())
        result[key] = SECRET_MASK if secret else resolved
    return result
