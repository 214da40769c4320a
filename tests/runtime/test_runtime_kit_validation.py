"""What the deployment kit calls: validate a spec for a stack's profile, and the version to stamp.

The kit runs inside a Pulumi program: validation must not read AIRLOCK_PROFILE, import
tool code or resolve secrets, and the version it stamps on pods must be the one the
runtime stamps on every task and audit record.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from runtime_testkit import final, run_cli

from runtime.spec import SpecError, parse_spec, validate_spec_text

CLOUD_PLANNER = """\
name: refunds
instructions: Handle refunds.
models:
  default: {provider: openai, baseUrl: "http://vllm.airlock-models.svc:8000/v1", model: qwen3-8b}
  planner: {provider: anthropic, baseUrl: "https://api.anthropic.com", model: claude-haiku-4-5, apiKeySecret: anthropic}
secrets:
  - {name: anthropic, from: "airlock:anthropic-api-key"}
  - {name: payments, from: "env:PAYMENTS_KEY_NOT_SET_ANYWHERE"}
  - {name: payments-again, from: "airlock:payments-api-key"}
  - {name: db, from: "airlock:payments-api-key"}
"""


def refusal(text: str, **kwargs) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="agent.yaml", base_dir=Path("."), **kwargs)
    return [p.render() for p in err.value.problems]


def test_explicit_airgapped_profile_refuses_a_cloud_route_while_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("AIRLOCK_PROFILE", raising=False)
    assert refusal(CLOUD_PLANNER, profile="airgapped") == [
        "models.planner.baseUrl (line 5): 'https://api.anthropic.com' is outside the cluster, refused by the "
        "airgapped profile; allowed: loopback, a bare service name, *.svc or *.svc.cluster.local"
    ]
    with pytest.raises(SpecError, match=r"models\.planner\.baseUrl"):
        validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile="airgapped")
    # Without the argument the runtime's behaviour is unchanged: no variable, no restriction.
    assert parse_spec(CLOUD_PLANNER, source="agent.yaml", base_dir=Path(".")).spec.models.planner is not None
    for allowed in ("cloud", "hybrid", None):
        validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile=allowed)


def test_the_kit_validation_does_not_read_the_environment(monkeypatch):
    monkeypatch.setenv("AIRLOCK_PROFILE", "airgapped")
    validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile="cloud")
    assert refusal(CLOUD_PLANNER)[0].endswith(
        "refused by AIRLOCK_PROFILE=airgapped; allowed: loopback, a bare service name, *.svc or *.svc.cluster.local"
    )
    monkeypatch.setenv("AIRLOCK_PROFILE", "offline")  # the runtime would refuse this value; the kit never sees it
    validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile="hybrid")
    with pytest.raises(
        ValueError, match=r"profile='offline' is not allowed; allowed: cloud, hybrid, airgapped or None"
    ):
        validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile="offline")  # type: ignore[arg-type]


def test_the_kit_validation_imports_no_tool_and_resolves_no_secret(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "kit_probe_tools.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\nraise SystemExit('tool code ran')\n"
    )
    text = CLOUD_PLANNER + (
        "tools:\n  - {name: refund, kind: python, target: 'kit_probe_tools:refund', policy: ask, secrets: [payments]}\n"
    )
    for name in ("AIRLOCK_SECRETS_DIR", "AIRLOCK_SECRET_ARNS_FILE", "PAYMENTS_KEY_NOT_SET_ANYWHERE"):
        monkeypatch.delenv(name, raising=False)
    loaded = validate_spec_text(text, source="agent.yaml", base_dir=tmp_path, profile="cloud")
    assert loaded.spec.tools[0].target == "kit_probe_tools:refund"
    assert not marker.exists() and "kit_probe_tools" not in sys.modules
    # An undeclared secret is still a spec error the kit sees, with its key path.
    bad = text.replace("apiKeySecret: anthropic", "apiKeySecret: claude")
    with pytest.raises(SpecError) as err:
        validate_spec_text(bad, source="agent.yaml", base_dir=tmp_path, profile="cloud")
    assert [p.path for p in err.value.problems] == ["models.planner.apiKeySecret"]
    assert "declared: anthropic, payments, payments-again, db" in str(err.value)


def test_platform_secret_names_are_what_the_stack_must_provide():
    loaded = validate_spec_text(CLOUD_PLANNER, source="agent.yaml", base_dir=Path("."), profile="cloud")
    assert loaded.spec.platform_secret_names() == ["anthropic-api-key", "payments-api-key"]


def test_the_version_to_stamp_is_the_one_every_task_and_audit_record_carries(ws, serve):
    model = serve("openai", [final("ok")])
    spec = ws.spec(model, tools=[])
    text = spec.read_text()
    stamped = validate_spec_text(text, source=str(spec), base_dir=ws.root, profile="airgapped").version
    # Comments, formatting and the profile do not change it.
    reformatted = "# deployed by airlock\n" + text.replace("\n", "\n\n")
    for profile in ("cloud", "hybrid", None):
        assert validate_spec_text(reformatted, source="x", base_dir=ws.root, profile=profile).version == stamped
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    assert res.json["agent_version"] == stamped
    records = ws.audit_lines()
    assert records and {r["agent_version"] for r in records} == {stamped}
    # A change of meaning is a new version.
    changed = text.replace("Use the tools.", "Use the tools carefully.")
    assert validate_spec_text(changed, source="x", base_dir=ws.root, profile="cloud").version != stamped


def test_the_cluster_domain_is_an_argument_not_the_machines_environment(monkeypatch):
    in_cluster = CLOUD_PLANNER.replace("vllm.airlock-models.svc:8000", "vllm.airlock-models.svc.cluster.local:8000")
    local_only = in_cluster[: in_cluster.index("  planner:")]
    monkeypatch.setenv("AIRLOCK_CLUSTER_DOMAIN", "corp.internal")  # whatever the deployer's shell has
    validate_spec_text(local_only, source="agent.yaml", base_dir=Path("."), profile="airgapped")
    refused = refusal(local_only, profile="airgapped")  # the runtime itself honours the variable
    assert refused[0].startswith("models.default.prices (line 4): no built-in price")  # not self-hosted there
    assert "allowed: loopback, a bare service name, *.svc or *.svc.corp.internal" in refused[1]
    with pytest.raises(SpecError, match=r"\*\.svc or \*\.svc\.corp\.example"):
        validate_spec_text(
            local_only, source="agent.yaml", base_dir=Path("."), profile="airgapped", cluster_domain="corp.example"
        )
