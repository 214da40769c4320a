"""Bad input through the real CLI: exit 2, the key path, no traceback, no bundle written.

And the same config error under the Pulumi program itself stops it before any resource
is registered (what `pulumi up` would do).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import airlock.synth.engine as engine
from components.config.loader import flatten
from components.program import InvalidStackConfig
from support import make_project, run_cli, set_key, stack_document

BAD = [
    ("models-tp", "prod", lambda d: d["config"]["airlock:models"][1].update(tensorParallelSize=3), "airlock:models[1].tensorParallelSize"),
    ("typo", "dev", lambda d: set_key(d, "sandboxs", []), "airlock:sandboxs"),
    ("imds", "dev", lambda d: d["config"]["airlock:sandboxes"][0].update(egressAllowlist=["169.254.169.254"]), "airlock:sandboxes[0].egressAllowlist[0]"),
    ("airgap-public-api", "airgap", lambda d: set_key(d, "cluster", {"endpointPublicAccessCidrs": ["203.0.113.0/24"]}), "airlock:cluster.endpointPublicAccessCidrs"),
]


@pytest.mark.parametrize("command", ["synth", "validate"])
@pytest.mark.parametrize("case, stack, edit, path", BAD, ids=[b[0] for b in BAD])
def test_bad_stack_exits_2_with_key_path(tmp_path: Path, command: str, case: str, stack: str, edit, path: str) -> None:
    document = stack_document(stack)
    edit(document)
    project = make_project(tmp_path, {stack: document})
    result = run_cli(command, stack, cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert path in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (project / "out").exists()


def test_unknown_stack_lists_known_ones() -> None:
    result = run_cli("synth", "production")
    assert result.returncode == 2
    assert "unknown stack 'production'" in result.stderr
    assert "known stacks: airgap, dev, onprem, prod, staging" in result.stderr


def test_broken_yaml_is_bad_input(tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (project / "stacks" / "Pulumi.broken.yaml").write_text("config:\n  airlock:platform: [aws\n")
    result = run_cli("validate", "broken", cwd=project)
    assert result.returncode == 2
    assert "is not valid YAML" in result.stderr and "Traceback" not in result.stderr


def test_bad_arguments_exit_2() -> None:
    assert run_cli("synth").returncode == 2
    assert run_cli("synth", "dev", "--frobnicate").returncode == 2


def test_existing_bundle_survives_a_failed_synth(tmp_path: Path) -> None:
    good = stack_document("dev")
    project = make_project(tmp_path, {"dev": good})
    assert run_cli("synth", "dev", cwd=project).returncode == 0
    before = (project / "out" / "dev" / "resources.json").read_bytes()
    good["config"]["airlock:platform"] = "gcp"
    (project / "stacks" / "Pulumi.dev.yaml").write_text(__import__("yaml").safe_dump(good))
    assert run_cli("synth", "dev", cwd=project).returncode == 2
    assert (project / "out" / "dev" / "resources.json").read_bytes() == before


def test_program_stops_before_registering_any_resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """__main__.py under the mock monitor, as under `pulumi up`: the config error is a
    RunError (printed without a traceback by the engine) and nothing was registered."""
    monitors: list[engine._RecordingMonitor] = []

    class Spy(engine._RecordingMonitor):
        def __init__(self, mocks) -> None:
            super().__init__(mocks)
            monitors.append(self)

    monkeypatch.setattr(engine, "_RecordingMonitor", Spy)
    document = stack_document("prod")
    document["config"]["airlock:models"][1]["tensorParallelSize"] = 3
    project = make_project(tmp_path, {"prod": document})
    with pytest.raises(InvalidStackConfig) as raised:
        engine.run_program(project, "airlock", "prod", flatten(document["config"]), "us-east-1")
    assert "airlock:models[1].tensorParallelSize" in str(raised.value)
    assert monitors and monitors[0].recorded == []
