"""Fixtures for the sandbox tests: one local executor per isolation mode for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_testkit import ExecClient, executor_for

from sandbox.server import LocalExecutor


@pytest.fixture(scope="session")
def executors() -> Iterator[dict[str, LocalExecutor]]:
    started: dict[str, LocalExecutor] = {}
    yield started
    for executor in started.values():
        executor.stop()


@pytest.fixture(params=["netns", "gvisor"])
def jailed(request: pytest.FixtureRequest, executors: dict[str, LocalExecutor]) -> Iterator[ExecClient]:
    client = ExecClient(executor_for(executors, request.param))
    yield client
    client.http.close()


@pytest.fixture(params=["process", "netns", "gvisor"])
def any_mode(request: pytest.FixtureRequest, executors: dict[str, LocalExecutor]) -> Iterator[ExecClient]:
    client = ExecClient(executor_for(executors, request.param))
    yield client
    client.http.close()
