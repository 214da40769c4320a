"""The agent spec: validation messages name the key path, value and what is allowed; the version is a content hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from runtime_testkit import run_cli

from runtime.spec import AgentSpec, SpecError, parse_spec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "agent-spec.md"

BASE = """\
name: refunds
instructions: Handle refunds.
models:
  default: {provider: openai, baseUrl: "http://vllm:8000/v1", model: qwen3-8b}
"""


def problems(text: str, monkeypatch=None) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="agent.yaml", base_dir=Path("."))
    return [p.render() for p in err.value.problems]


def test_issue_example_is_valid_and_versioned():
    text = """\
name: refunds
instructions: "..."
models:
  default:  {provider: openai, baseUrl: "http://vllm:8000/v1", model: qwen3-8b, apiKeyEnv: VLLM_API_KEY}
  planner:  {provider: anthropic, baseUrl: "https://api.anthropic.com", model: claude-sonnet-4-5, apiKeyEnv: ANTHROPIC_API_KEY}
secrets:
  - {name: payments, from: "env:PAYMENTS_KEY"}      # env:NAME | file:PATH | aws-secretsmanager:ID
tools:
  - {name: lookup_order, kind: python, target: "mypkg.tools:lookup_order", policy: allow}
  - {name: issue_refund, kind: python, target: "mypkg.tools:issue_refund", policy: ask, secrets: [payments]}
  - {name: drop_table,   kind: python, target: "mypkg.tools:drop_table",   policy: deny}
budgets: {maxSteps: 20, maxInputTokens: 200000, maxOutputTokens: 20000, maxCostUsd: 2.0, maxSeconds: 600}
approvals: {webhookUrl: "https://hooks.example.com/airlock"}
"""
    loaded = parse_spec(text, source="x", base_dir=Path("."))
    assert loaded.spec.tools[1].policy == "ask" and loaded.spec.secrets[0].source == "env:PAYMENTS_KEY"
    assert loaded.spec.budgets.max_cost_usd == 2.0
    assert re.fullmatch(r"[0-9a-f]{16}", loaded.version)
    # Formatting, comments and key order do not change the version; content does.
    reformatted = "# comment\n" + text.replace(
        "{maxSteps: 20, maxInputTokens: 200000,", "{maxInputTokens: 200000, maxSteps: 20,"
    )
    assert parse_spec(reformatted, source="x", base_dir=Path(".")).version == loaded.version
    changed = text.replace("maxSteps: 20", "maxSteps: 21")
    assert parse_spec(changed, source="x", base_dir=Path(".")).version != loaded.version


@pytest.mark.parametrize(
    "addition,expected",
    [
        (
            "tools:\n  - {name: a, kind: python, target: 'm:a', policy: maybe}\n",
            "tools[0].policy (line 6): 'maybe' is not allowed; allowed: 'allow', 'ask' or 'deny'",
        ),
        (
            "tools:\n  - {name: a, kind: python, target: 'm:a', policy: allow, retries: 3}\n",
            "tools[0].retries (line 6): unknown key; allowed keys: name, kind, target, policy, secrets, description",
        ),
        (
            "budgets: {max_steps: 3}\n",
            "budgets.max_steps (line 5): unknown key; did you mean 'maxSteps'? allowed keys: maxSteps, maxInputTokens",
        ),
        ("budgets: {maxSteps: 0}\n", "budgets.maxSteps (line 5): must be greater than or equal to 1 (got 0)"),
        ("budgets: {maxCostUsd: cheap}\n", "budgets.maxCostUsd (line 5): must be a valid number"),
        (
            "tools:\n  - {name: 'has space', kind: python, target: 'm:a', policy: allow}\n",
            "tools[0].name (line 6): 'has space' does not match the allowed form",
        ),
        (
            "tools:\n  - {name: a, kind: shell, target: 'm:a', policy: allow}\n",
            "tools[0].kind (line 6): 'shell' is not allowed; allowed: 'python'",
        ),
        (
            "tools:\n  - {name: a, kind: python, target: 'no_colon', policy: allow}\n",
            "tools[0].target (line 6): 'no_colon' does not match the allowed form",
        ),
        ("tools:\n  - {name: a, kind: python, target: 'm:a'}\n", "tools[0].policy (line 6): required key is missing"),
        (
            "secrets:\n  - {name: k, from: 'vault:x'}\n",
            "secrets[0].from (line 6): 'vault:x' is not a supported secret source; allowed: env:NAME, file:PATH, aws-secretsmanager:ID, airlock:NAME",
        ),
        (
            "approvals: {webhookUrl: 'ftp://x'}\n",
            "approvals.webhookUrl (line 5): 'ftp://x' must be an http:// or https:// URL",
        ),
        ("colour: blue\n", "colour (line 5): unknown key; allowed keys: name, description, instructions, models"),
        (
            "secrets:\n  - {name: k, from: 'env:K'}\n  - {name: k, from: 'env:L'}\n",
            "secrets[1].name (line 7): 'k' is declared twice",
        ),
        (
            "tools:\n  - {name: a, kind: python, target: 'm:a', policy: allow, secrets: [nope]}\n",
            "tools[0].secrets[0] (line 6): 'nope' is not a declared secret; declared: (no secrets declared)",
        ),
        (
            "tools:\n  - {name: a, kind: python, target: 'm:a', policy: allow}\n  - {name: a, kind: python, target: 'm:b', policy: deny}\n",
            "tools[1].name (line 7): 'a' is declared twice",
        ),
    ],
)
def test_errors_name_path_line_value_and_what_is_allowed(addition, expected):
    found = problems(BASE + addition)
    assert any(p.startswith(expected) for p in found), found


def test_model_route_errors():
    text = (
        BASE.replace("provider: openai", "provider: gemini")
        + "  planner: {provider: openai, baseUrl: 'https://api.openai.com/v1', model: gpt-5}\n  extra: {}\n"
    )
    found = problems(text)
    assert found[0] == "models.default.provider (line 4): 'gemini' is not allowed; allowed: 'openai' or 'anthropic'"
    assert found[1].startswith("models.extra (line 6): unknown key; allowed keys: default, planner")
    # A cloud model with no known price must say its price: a cost budget must not count it as free.
    fixed = BASE + "  planner: {provider: openai, baseUrl: 'https://api.openai.com/v1', model: gpt-5}\n"
    [priced] = problems(fixed)
    assert priced.startswith("models.planner.prices (line 5): no built-in price for model 'gpt-5'")
    ok = (
        BASE
        + "  planner: {provider: openai, baseUrl: 'https://api.openai.com/v1', model: gpt-5, prices: {input: 1.25, output: 10}}\n"
    )
    assert parse_spec(ok, source="x", base_dir=Path(".")).spec.models.planner.prices.output == 10


def test_yaml_problems():
    assert problems("name: [unclosed\n")[0].startswith("invalid YAML at line 2")
    assert problems(BASE + "name: again\n") == [
        "invalid YAML at line 5, column 1: duplicate key 'name' (first at line 1)"
    ]
    assert problems("- just\n- a list\n") == ["the spec must be a YAML mapping of keys, got ['just', 'a list']"]


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("http://vllm:8000/v1", True),
        ("http://vllm.models.svc:8000/v1", True),
        ("http://vllm.models.svc.cluster.local:8000/v1", True),
        ("http://localhost:8000/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.anthropic.com", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://vllm.models:8000/v1", False),
        ("http://vllm.svc.evil.com/v1", False),
    ],
)
def test_airgapped_accepts_only_cluster_and_loopback(monkeypatch, url, allowed):
    monkeypatch.setenv("AIRLOCK_PROFILE", "airgapped")
    text = f"name: a\ninstructions: x\nmodels:\n  default: {{provider: openai, baseUrl: '{url}', model: m, prices: {{input: 0, output: 0}}}}\n"
    if allowed:
        parse_spec(text, source="x", base_dir=Path("."))
    else:
        [found] = problems(text)
        assert found.startswith("models.default.baseUrl (line 4):") and "outside the cluster" in found


def _models(model: type[BaseModel], seen=None):
    seen = seen if seen is not None else set()
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for inner in (arg, *getattr(arg, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    _models(inner, seen)
    return seen


def test_every_field_is_described_and_documented():
    docs = DOCS.read_text()
    for model in _models(AgentSpec):
        for name, field in model.model_fields.items():
            key = field.alias or name
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"`{key}`" in docs, f"docs/agent-spec.md does not document `{key}` ({model.__name__})"


def test_cli_reports_spec_problems_with_exit_2_and_no_traceback(tmp_path):
    spec = tmp_path / "agent.yaml"
    spec.write_text(
        BASE + "tools:\n  - {name: a, kind: python, target: 'm:a', policy: maybe}\nbudgets: {maxStepz: 1}\n"
    )
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(tmp_path / "state"), "--json")
    assert res.rc == 2 and "Traceback" not in res.stderr
    assert "invalid agent spec" in res.stderr and "(2 problems)" in res.stderr
    assert "tools[0].policy (line 6): 'maybe' is not allowed" in res.stderr
    assert "budgets.maxStepz (line 7): unknown key" in res.stderr
    assert res.json["exit_code"] == 2 and "tools[0].policy" in res.json["error"]
    assert not (tmp_path / "state").exists()


def test_cli_reports_tool_import_problems(tmp_path):
    (tmp_path / "tools.py").write_text("def ok(x: int) -> int:\n    return x\n\ndef star(*args):\n    return 1\n")
    spec = tmp_path / "agent.yaml"
    spec.write_text(
        BASE
        + "tools:\n"
        + "  - {name: a, kind: python, target: 'tools:missing', policy: allow}\n"
        + "  - {name: b, kind: python, target: 'nomodule:f', policy: ask}\n"
        + "  - {name: c, kind: python, target: 'tools:star', policy: allow}\n"
        + "  - {name: d, kind: python, target: 'tools:ok', policy: allow}\n"
    )
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(tmp_path / "state"))
    assert res.rc == 2 and "Traceback" not in res.stderr
    assert "tools[0].target: 'tools:missing': module 'tools' has no attribute 'missing'" in res.stderr
    assert "tools[1].target: 'nomodule:f': cannot import module 'nomodule'" in res.stderr
    assert "tools[2].target: 'tools:star': parameter 'args': *args/**kwargs cannot be described" in res.stderr


def test_cli_bad_arguments_and_ids(tmp_path):
    missing = run_cli("run", "--agent", str(tmp_path / "nope.yaml"), "--task", "t", "--state", str(tmp_path))
    assert missing.rc == 2 and "--agent: spec file" in missing.stderr and "does not exist" in missing.stderr
    no_state = run_cli("run", "--agent", "x.yaml", "--task", "t")
    assert no_state.rc == 2 and "--state: required (or set AIRLOCK_STORE" in no_state.stderr
    nothing = run_cli("resume", "tsk_x", "--state", str(tmp_path / "empty"))
    assert nothing.rc == 2 and "holds no Airlock state" in nothing.stderr
    empty = run_cli("run", "--agent", "x.yaml", "--task", "  ", "--state", str(tmp_path))
    assert empty.rc == 2 and "--task: must not be empty" in empty.stderr
    unknown_cmd = run_cli("launch")
    assert unknown_cmd.rc == 2 and "invalid choice: 'launch'" in unknown_cmd.stderr
    for res in (missing, no_state, nothing, empty, unknown_cmd):
        assert "Traceback" not in res.stderr


def test_the_refunds_example_loads_and_is_refused_airgapped(monkeypatch, isolated_tool_imports):
    from runtime.agent import load_agent
    from runtime.spec import load_spec_file

    example = Path(__file__).resolve().parents[2] / "examples" / "refunds" / "agent.yaml"
    for name, value in {"VLLM_API_KEY": "k1", "ANTHROPIC_API_KEY": "k2", "PAYMENTS_KEY": "k3"}.items():
        monkeypatch.setenv(name, value)
    agent = load_agent(load_spec_file(example), sandboxes={"default": "http://127.0.0.1:9"})
    assert [d.name for d in agent.definitions] == ["lookup_order", "issue_refund", "run_python"]  # deny: not offered
    schema = agent.definitions[1].parameters
    assert schema["properties"]["reason"]["enum"] == ["damaged", "late", "other"]
    assert agent.prices["default"].input_per_mtok == 0 and agent.prices["planner"].output_per_mtok == 15
    agent.close()
    monkeypatch.setenv("AIRLOCK_PROFILE", "airgapped")
    with pytest.raises(SpecError) as err:
        load_spec_file(example)
    assert [p.path for p in err.value.problems] == ["models.planner.baseUrl"]
