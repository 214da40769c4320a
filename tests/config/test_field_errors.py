"""The stack config and the agent spec report pydantic errors through one module
(runtime/field_errors.py), so a misspelt key reads the same in both."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from runtime.spec import SpecError, parse_spec
from support import PROJECT_DIR, stack_document


def _stack_errors(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "prod", PROJECT_DIR)
    return [str(issue) for issue in raised.value.issues]


def test_a_misspelt_key_gets_the_same_hint_in_the_stack_config_and_the_agent_spec() -> None:
    config = stack_document("prod")["config"]
    config["airlock:gpuPools"][0]["gpuPerNode"] = 8
    (stack_problem,) = _stack_errors(config)
    assert stack_problem.startswith(
        "airlock:gpuPools[0].gpuPerNode = 8: unknown key; did you mean 'gpusPerNode'? allowed keys: name, instanceType, "
    )

    spec = "name: a\nmodels:\n  default: {provider: openai, model: m, baseUrl: 'http://127.0.0.1:1/v1'}\nbudgets: {maxStep: 3}\n"
    with pytest.raises(SpecError) as raised:
        parse_spec(spec, source="agent.yaml", base_dir=Path("."), profile=None)
    assert any(
        p.render().startswith("budgets.maxStep") and "unknown key; did you mean 'maxSteps'? allowed keys: maxSteps, " in p.render()
        for p in raised.value.problems
    ), [p.render() for p in raised.value.problems]


def test_a_disallowed_choice_names_what_is_allowed_in_both() -> None:
    config = stack_document("dev")["config"]
    config["airlock:profile"] = "clod"
    assert "airlock:profile = \"clod\": is not allowed; allowed: 'cloud', 'hybrid' or 'airgapped'" in _stack_errors(config)


def test_a_secret_value_is_never_shown() -> None:
    config = stack_document("onprem")["config"]
    config["airlock:cluster"] = {**config.get("airlock:cluster", {}), "kubeconfig": ["not", "text"]}
    (problem,) = _stack_errors(config)
    assert problem.startswith("airlock:cluster.kubeconfig = [secret]: ") and "not" not in problem.split(": ", 1)[1]
