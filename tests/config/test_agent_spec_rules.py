"""The orchestrator's agent spec must run on its stack: valid for the profile, routed to
models the stack serves, with credentials the orchestrator provides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from support import PROJECT_DIR, STACKS, make_project, stack_document


def _issues(tmp_path: Path, stack: str, spec: dict | None = None, config_edit=None) -> list[str]:
    document = stack_document(stack)
    if config_edit:
        config_edit(document["config"])
    project = make_project(tmp_path, {stack: document})
    if spec is not None:
        (project / "agents" / f"{stack}.yaml").write_text(yaml.safe_dump(spec))
    try:
        loaded = load(flatten(document["config"]), stack, project)
    except ConfigError as error:
        return [str(i) for i in error.issues]
    return [str(w) for w in loaded.warnings if w.path == "airlock:orchestrator.agentSpec"]


def _spec(stack: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / "agents" / f"{stack}.yaml").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_has_a_spec_that_runs_on_it(tmp_path: Path, stack: str) -> None:
    assert _issues(tmp_path, stack) == []


def test_the_default_spec_is_named_after_the_stack(tmp_path: Path) -> None:
    loaded = load(flatten(stack_document("dev")["config"]), "dev", PROJECT_DIR)
    assert loaded.config.orchestrator.agent_spec == "agents/dev.yaml"


def test_a_route_to_a_model_the_stack_does_not_serve(tmp_path: Path) -> None:
    spec = _spec("prod")
    spec["models"]["default"]["baseUrl"] = "http://llama-405b.airlock-models.svc.cluster.local:8000/v1"
    (issue,) = _issues(tmp_path, "prod", spec)
    assert issue.startswith('airlock:orchestrator.agentSpec = "agents/prod.yaml"')
    assert "models.default.baseUrl" in issue and "is not a model this stack serves" in issue
    assert "http://llama-8b.airlock-models.svc.cluster.local:8000/v1" in issue  # what is allowed


def test_a_route_must_use_the_served_model_name(tmp_path: Path) -> None:
    spec = _spec("prod")
    spec["models"]["default"]["model"] = "meta-llama/Llama-3.3-70B-Instruct"
    (issue,) = _issues(tmp_path, "prod", spec)
    assert "models.default.model" in issue and "serves 'llama-70b'" in issue


def test_local_routes_need_the_vllm_key(tmp_path: Path) -> None:
    spec = _spec("onprem")
    del spec["models"]["planner"]["apiKeyEnv"]
    (issue,) = _issues(tmp_path, "onprem", spec)
    assert "models.planner" in issue and "apiKeyEnv: VLLM_API_KEY" in issue


def test_cloud_keys_come_from_the_stack_secret(tmp_path: Path) -> None:
    spec = _spec("prod")
    spec["secrets"] = [{"name": "anthropic", "from": "airlock:payments-api-key"}]
    (issue,) = _issues(tmp_path, "prod", spec)
    assert 'from: "airlock:anthropic-api-key"' in issue


def test_platform_secret_must_exist_in_the_stack(tmp_path: Path) -> None:
    spec = _spec("prod")
    spec["secrets"].append({"name": "crm", "from": "airlock:crm-token"})
    (issue,) = _issues(tmp_path, "prod", spec)
    assert "secrets[1].from 'airlock:crm-token': no such stack secret" in issue
    assert "allowed: anthropic-api-key, hf-token, payments-api-key" in issue


def test_env_sources_are_flagged_as_missing_in_the_pod(tmp_path: Path) -> None:
    spec = _spec("prod")
    spec["secrets"].append({"name": "crm", "from": "env:CRM_TOKEN"})
    (warning,) = _issues(tmp_path, "prod", spec)
    assert "secrets[1].from 'env:CRM_TOKEN'" in warning and "would be missing in the pod" in warning


def test_airgapped_stack_refuses_a_cloud_route_in_its_spec(tmp_path: Path) -> None:
    spec = _spec("airgap")
    spec["models"]["planner"] = {"provider": "anthropic", "baseUrl": "https://api.anthropic.com", "model": "claude-sonnet-4-5"}
    issues = _issues(tmp_path, "airgap", spec)
    assert any("models.planner.baseUrl" in i and "outside the cluster" in i for i in issues), issues


def test_an_invalid_spec_is_reported_with_its_own_key_path(tmp_path: Path) -> None:
    spec = _spec("dev")
    spec["budgets"]["maxStep"] = 3
    issues = _issues(tmp_path, "dev", spec)
    assert any("is not a valid agent spec" in i and "budgets.maxStep" in i for i in issues), issues


def _tool_calling_off(config: dict) -> None:
    config["airlock:models"][1]["toolCalling"] = False  # onprem's qwen3-8b, the default route


def test_an_agent_with_tools_needs_a_model_served_with_tool_calling(tmp_path: Path) -> None:
    spec = _spec("onprem")
    spec["tools"] = [{"name": "lookup", "kind": "python", "target": "tools:lookup", "policy": "allow"}]
    (tmp_path / "x").mkdir()
    issues = [i for i in _issues(tmp_path / "x", "onprem", spec, _tool_calling_off) if "tool calling" in i]
    (issue,) = issues
    assert "models.default" in issue and "'qwen3-8b' is served without tool calling" in issue
    # Without tools, a model served without tool calling is fine.
    assert _issues(tmp_path, "onprem", _spec("onprem"), _tool_calling_off) == []


def test_a_context_window_larger_than_the_server_is_refused(tmp_path: Path) -> None:
    spec = _spec("onprem")
    spec["models"]["default"]["contextWindow"] = 32768
    (issue,) = _issues(tmp_path, "onprem", spec)
    assert "models.default.contextWindow 32768" in issue and "maxModelLen is 16384" in issue


def test_max_tokens_that_crowd_out_the_prompt_are_a_warning(tmp_path: Path) -> None:
    spec = _spec("staging")
    spec["models"]["default"]["maxTokens"] = 6000
    (warning,) = _issues(tmp_path, "staging", spec)
    assert "models.default.maxTokens 6000" in warning and "less than half of the 8192-token context window" in warning
