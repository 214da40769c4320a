"""Findings 11-14: YAML limits, duplicate keys, exit 2 instead of 1, strict numbers, reserved
tag keys, agent specs outside the project, null reported as null. Plus the corpus: every
case of tests/hardening/corpus ends as a careful CLI would end it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from runtime import yaml_safe
from runtime.spec import SpecError, parse_spec
from support import PROJECT_DIR, make_project, run_cli, stack_document

from hardening.corpus import run as corpus
from hardening.corpus.cases import BILLION_LAUGHS


def _issues(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "dev", PROJECT_DIR)
    return [str(i) for i in raised.value.issues]


def test_alias_bomb_is_refused_before_it_is_built() -> None:
    started = time.process_time()
    with pytest.raises(yaml_safe.YamlRejected, match="expands to more than"):
        yaml_safe.load_text(BILLION_LAUGHS)
    assert time.process_time() - started < 5  # refused from the events, not by building 9^10 nodes


def test_deep_nesting_and_size_are_limited() -> None:
    with pytest.raises(yaml_safe.YamlRejected, match="nested more than"):
        yaml_safe.load_text("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(yaml_safe.YamlRejected, match="bytes"):
        yaml_safe.load_bytes(b"a: 1\n#" + b"x" * (yaml_safe.MAX_BYTES + 1))
    assert yaml_safe.load_text("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}  # ordinary aliases still work


def test_stack_file_alias_bomb_and_duplicates_exit_2(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": stack_document("dev")})
    (project / "stacks" / "Pulumi.bomb.yaml").write_text(BILLION_LAUGHS)
    result = run_cli("validate", "bomb", cwd=project)
    assert result.returncode == 2 and "expands to more than" in result.stderr
    text = (PROJECT_DIR / "stacks" / "Pulumi.dev.yaml").read_text()
    (project / "stacks" / "Pulumi.dev.yaml").write_text(text.replace("  airlock:profile: cloud\n", "  airlock:profile: cloud\n  airlock:profile: hybrid\n"))
    result = run_cli("validate", "dev", cwd=project)
    assert result.returncode == 2 and "duplicate key 'airlock:profile'" in result.stderr


def test_agent_spec_alias_bomb_is_a_spec_error() -> None:
    text = BILLION_LAUGHS.replace("config:", "name: x\ninstructions: y\nmodels:").replace("airlock:", "")
    with pytest.raises(SpecError, match="expands to more than"):
        parse_spec(text, source="a.yaml", base_dir=Path("."), profile=None)


@pytest.mark.parametrize("encoding", ["utf-16", "binary"])
def test_non_utf8_stack_file_exits_2(tmp_path: Path, encoding: str) -> None:
    project = make_project(tmp_path, {})
    data = (PROJECT_DIR / "stacks" / "Pulumi.dev.yaml").read_text().encode("utf-16") if encoding == "utf-16" else bytes(range(256))
    (project / "stacks" / "Pulumi.enc.yaml").write_bytes(data)
    result = run_cli("validate", "enc", cwd=project)
    assert result.returncode == 2 and "not UTF-8" in result.stderr and "internal error" not in result.stderr


def test_every_yaml_read_goes_through_the_safe_loader() -> None:
    """No module of the project parses YAML except runtime/yaml_safe.py."""
    offenders = []
    for folder in ("airlock", "components", "runtime"):
        for path in (PROJECT_DIR / folder).rglob("*.py"):
            if path.name == "yaml_safe.py":
                continue
            if re.search(r"yaml\.(safe_load|load|full_load|unsafe_load|compose|safe_load_all|load_all)\(", path.read_text()):
                offenders.append(str(path.relative_to(PROJECT_DIR)))
    assert offenders == []


@pytest.mark.parametrize(
    "edit, path",
    [
        (lambda c: c["airlock:orchestrator"].update(replicas=True), "airlock:orchestrator.replicas"),
        (lambda c: c["airlock:sandboxes"][0].update(replicas=True), "airlock:sandboxes[0].replicas"),
        (lambda c: c["airlock:systemPool"].update(minSize=False), "airlock:systemPool.minSize"),
    ],
)
def test_booleans_are_not_numbers_in_stack_config(edit, path: str) -> None:
    config = stack_document("dev")["config"]
    edit(config)
    assert any(i.startswith(path) and "not the boolean" in i for i in _issues(config))


@pytest.mark.parametrize("budget", ["maxSteps", "maxSeconds", "maxCostUsd"])
def test_booleans_and_infinity_are_not_budgets(budget: str) -> None:
    base = "name: a\ninstructions: x\nmodels: {default: {provider: openai, baseUrl: 'http://vllm:8000/v1', model: m, prices: {input: 0, output: 0}}}\n"
    for value in ("true", ".inf", ".nan"):
        with pytest.raises(SpecError, match=f"budgets.{budget}"):
            parse_spec(base + f"budgets: {{{budget}: {value}}}\n", source="a.yaml", base_dir=Path("."), profile=None)


@pytest.mark.parametrize("url", ["http://vllm:99999/v1", "http://vllm:0/v1"])
def test_spec_port_out_of_range_is_a_spec_error(url: str) -> None:
    text = f"name: a\ninstructions: x\nmodels: {{default: {{provider: openai, baseUrl: '{url}', model: m, prices: {{input: 0, output: 0}}}}}}\n"
    with pytest.raises(SpecError, match="models.default.baseUrl"):
        parse_spec(text, source="a.yaml", base_dir=Path("."), profile=None)


@pytest.mark.parametrize("key", ["aws:createdBy", "AWS:team"])
def test_reserved_aws_tag_prefix_is_refused(key: str) -> None:
    config = stack_document("dev")["config"]
    config["airlock:tags"] = {key: "x"}
    assert any(f"airlock:tags.{key}" in i and "reserves" in i for i in _issues(config))


def test_agent_spec_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": stack_document("dev")})
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((project / "agents" / "dev.yaml").read_text())  # a valid spec, but not shipped with the project
    config = stack_document("dev")["config"]
    config["airlock:orchestrator"]["agentSpec"] = "../elsewhere.yaml"
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "dev", project)
    assert "points outside the project directory" in str(raised.value)


def test_null_is_reported_as_null() -> None:
    config = stack_document("dev")["config"]
    config["airlock:network"] = None
    issues = _issues(config)
    assert 'airlock:network = null: is null' in "\n".join(issues)
    assert "None" not in "\n".join(issues)


def test_synth_out_under_proc_exits_2_before_running_the_program() -> None:
    result = run_cli("synth", "dev", "--out", "/proc/airlock-corpus")
    assert result.returncode == 2 and "cannot be written" in result.stderr


def test_the_bad_input_corpus() -> None:
    """Every corpus case: exit 2 naming the key (or its documented status); controls pass."""
    rows = corpus.run()
    counts = corpus.summary(rows)
    wrong = [f"{r['outcome']}: {r['id']}: {r['error'] or r['output'][-300:]}" for r in rows if r["outcome"] != "expected"]
    assert wrong == [], "\n".join(wrong)
    assert counts["tried"] >= 250 and counts["traceback"] == counts["exit 1"] == counts["wrongly accepted"] == 0
