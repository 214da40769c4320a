"""Fixtures for the runtime tests (no top-level conftest: other packages own tests/)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest
from runtime_testkit import ScriptedModelServer, Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def servers() -> Iterator[list[ScriptedModelServer]]:
    """Register servers here to have them shut down after the test."""
    started: list[ScriptedModelServer] = []
    yield started
    for server in started:
        server.close()


@pytest.fixture
def serve(servers: list[ScriptedModelServer]):  # type: ignore[no-untyped-def]
    def make(flavor: str = "openai", turns=(), **kwargs) -> ScriptedModelServer:  # type: ignore[no-untyped-def]
        server = ScriptedModelServer(flavor, turns, **kwargs)
        servers.append(server)
        return server

    return make


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """The IAM check reads what the AWS suites called: it runs after them (aws_moto.plan_iam_check)."""
    from aws_moto import plan_iam_check

    plan_iam_check(config, items)


@pytest.fixture(scope="session")
def aws_emulator():  # type: ignore[no-untyped-def]
    """moto's server over real HTTP on 127.0.0.1 and the fault-injecting proxy in front (aws_moto.py)."""
    from aws_moto import AWS_CALLS_FILE_ENV, AwsEmulator

    emulator = AwsEmulator()
    yield emulator
    journal = os.environ.get(AWS_CALLS_FILE_ENV)
    if journal:  # the IAM test's run of the AWS suites (tests/runtime/test_aws_iam_operations.py)
        Path(journal).write_text(json.dumps(emulator.used_operations()))
    emulator.close()


@pytest.fixture
def moto_server(aws_emulator) -> str:  # type: ignore[no-untyped-def]
    """The session's moto endpoint URL (direct, no proxy)."""
    return str(aws_emulator.url)


@pytest.fixture
def aws(request, aws_emulator):  # type: ignore[no-untyped-def]
    """Fresh queue, DLQ, table and buckets like the stack's; ``aws.env`` points the runtime at the
    proxy. The proxy's faults and recorded calls start empty for each test."""
    aws_emulator.proxy.reset()
    from aws_moto import HARNESS_MODULES

    return aws_emulator.new_resources(journal=request.path.name not in HARNESS_MODULES)


@pytest.fixture
def isolated_tool_imports() -> Iterator[None]:
    """Loading an agent in-process puts its directory on sys.path and imports `tools`: undo both."""
    saved_path, saved_tools = list(sys.path), sys.modules.pop("tools", None)
    yield
    sys.path[:] = saved_path
    sys.modules.pop("tools", None)
    if saved_tools is not None:
        sys.modules["tools"] = saved_tools


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """One real PostgreSQL server for the session (see pg_server.py); fails when it cannot start."""
    import pg_server as pg

    server = pg.start()
    yield server
    server.stop()
    import shutil

    shutil.rmtree(server.app_password_file.parent, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql", "aws"])
def backend(request, ws):  # type: ignore[no-untyped-def]
    """The store the test runs on: SQLite in ws.state, a fresh database on the session's PostgreSQL,
    or fresh stack-shaped AWS resources on the session's moto server."""
    from store_backends import make_backend

    pg = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    aws = request.getfixturevalue("aws") if request.param == "aws" else None
    proxy = request.getfixturevalue("aws_emulator").proxy if request.param == "aws" else None
    return make_backend(request.param, ws, pg, aws, proxy)


@pytest.fixture
def services():  # type: ignore[no-untyped-def]
    """`serve` processes a test started (service_kit.start_service); any still running is killed at the end."""
    started: list[Any] = []
    yield started
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()
