"""`airlock:<name>` secrets: what the orchestrator provides on each platform, read by the real CLI.

Platform kubernetes mounts a Secret as a directory ($AIRLOCK_SECRETS_DIR, laid out here as
kubelet lays it out); platform aws hands the pod a JSON map of names to Secrets Manager
ARNs ($AIRLOCK_SECRET_ARNS_FILE), served here by moto over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from runtime_testkit import Call, calls, everything_written, final, run_cli, tool

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "refunds" / "agent.platform.yaml"
AGENT_SPEC_DOC = Path(__file__).resolve().parents[2] / "docs" / "agent-spec.md"
SECRET = 'pay-Tok3n-"q"-a1b2c3'  # a quote: also redacted in its JSON-escaped form
OTHER = "db-pass-77aa"


def mounted_secret(root: Path, values: dict[str, str]) -> Path:
    """A directory shaped like a kubelet Secret volume: each name -> ..data/name -> a timestamped dir."""
    directory = root / "mounted-secrets"
    payload = directory / "..2026_01_02_03_04_05.000000001"
    payload.mkdir(parents=True)
    for name, value in values.items():
        (payload / name).write_text(value)
    (directory / "..data").symlink_to(payload.name)
    for name in values:
        (directory / name).symlink_to(Path("..data") / name)
    return directory


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-central-1",
    }


def create_secrets(endpoint: str, ws, values: dict[str, str]) -> dict[str, str]:
    """Store each value in Secrets Manager; return name -> ARN, the map the orchestrator mounts.

    moto keeps one backend per process, so each test's secrets get its own prefix.
    """
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {
        name: client.create_secret(Name=f"airlock/{ws.root.name}/{name}", SecretString=value)["ARN"]
        for name, value in values.items()
    }


def test_platform_secret_from_the_mounted_directory_reaches_only_its_tool(ws, serve):
    secrets_dir = mounted_secret(ws.root, {"payments-key": SECRET + "\n", "db-password": OTHER})
    model = serve("openai", [calls(Call("which_secrets", {}), Call("leak_secret", {})), final("done")])
    spec = ws.spec(
        model,
        tools=[tool("which_secrets", secrets=["payments"]), tool("leak_secret", secrets=["payments"])],
        secrets=[
            {"name": "payments", "from": "airlock:payments-key"},
            {"name": "db", "from": "airlock:db-password"},
        ],
    )
    # The directory wins when both are set (the orchestrator sets one; a stray map must not matter).
    env = {**ws.env, "AIRLOCK_SECRETS_DIR": str(secrets_dir), "AIRLOCK_SECRET_ARNS_FILE": str(ws.root / "none.json")}
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=env)
    assert res.rc == 0, res.stderr
    which, leaked = model.tool_results(-1)
    # Only the secret the tool lists, with the file's one trailing newline removed.
    assert json.loads(which["content"]) == {"payments": len(SECRET)}
    assert leaked["content"] == "the payments key is [REDACTED:payments]"
    written = everything_written(ws, model, res)
    assert SECRET not in written and json.dumps(SECRET)[1:-1] not in written
    assert OTHER not in written


def test_platform_secret_from_the_arn_map_through_secrets_manager(ws, serve, moto_server):
    arn_map = ws.root / "secret-arns.json"
    arn_map.write_text(json.dumps(create_secrets(moto_server, ws, {"payments-key": SECRET})))
    model = serve("openai", [calls(Call("leak_secret", {}), Call("which_secrets", {})), final("done")])
    spec = ws.spec(
        model,
        tools=[tool("leak_secret", secrets=["payments"]), tool("which_secrets", secrets=["payments"])],
        secrets=[{"name": "payments", "from": "airlock:payments-key"}],
    )
    env = {**ws.env, **aws_env(moto_server), "AIRLOCK_SECRET_ARNS_FILE": str(arn_map)}
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=env)
    assert res.rc == 0, res.stderr
    leaked, which = model.tool_results(-1)
    assert leaked["content"] == "the payments key is [REDACTED:payments]"
    assert json.loads(which["content"]) == {"payments": len(SECRET)}
    assert SECRET not in everything_written(ws, model, res)


def run_expecting_bad_input(ws, model, secrets, env, *, filename="agent.yaml"):
    spec = ws.spec(model, tools=[], secrets=secrets, filename=filename)
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env={**ws.env, **env})
    assert res.rc == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert res.json["exit_code"] == 2
    assert model.count == 0 and not ws.state.exists()  # nothing started, nothing half-applied
    return res.stderr


def test_platform_secret_outside_the_orchestrator_names_both_variables(ws, serve):
    model = serve("openai", [final("never")])
    err = run_expecting_bad_input(ws, model, [{"name": "payments", "from": "airlock:payments-key"}], {})
    assert "secrets[0] (payments): from 'airlock:payments-key': neither AIRLOCK_SECRETS_DIR nor " in err
    assert "AIRLOCK_SECRET_ARNS_FILE is set" in err


def test_unknown_platform_secret_names_what_is_available(ws, serve, moto_server):
    model = serve("openai", [final("never")])
    secrets_dir = mounted_secret(ws.root, {"payments-key": SECRET, "db-password": OTHER})
    err = run_expecting_bad_input(
        ws, model, [{"name": "payments", "from": "airlock:payment-key"}], {"AIRLOCK_SECRETS_DIR": str(secrets_dir)}
    )
    # kubelet's ..data entries are not secrets and are not listed; the values never appear.
    assert (
        f"secrets[0] (payments): from 'airlock:payment-key': AIRLOCK_SECRETS_DIR={secrets_dir} has no "
        "secret 'payment-key'; available: db-password, payments-key" in err
    )
    assert SECRET not in err and OTHER not in err

    arn_map = ws.root / "secret-arns.json"
    arn_map.write_text(json.dumps({"payments-key": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:p-AbCdEf"}))
    err = run_expecting_bad_input(
        ws, model, [{"name": "payments", "from": "airlock:payment-key"}], {"AIRLOCK_SECRET_ARNS_FILE": str(arn_map)}
    )
    assert f"AIRLOCK_SECRET_ARNS_FILE={arn_map} has no secret 'payment-key'; available: payments-key" in err

    # In the map but gone from Secrets Manager: the ARN the map gave is named.
    err = run_expecting_bad_input(
        ws,
        model,
        [{"name": "payments", "from": "airlock:payments-key"}],
        {"AIRLOCK_SECRET_ARNS_FILE": str(arn_map), **aws_env(moto_server)},
    )
    assert "from 'airlock:payments-key': arn:aws:secretsmanager:eu-central-1:123456789012:secret:p-AbCdEf" in err
    assert "ResourceNotFoundException" in err

    arn_map.write_text("[not a map]")
    err = run_expecting_bad_input(
        ws, model, [{"name": "payments", "from": "airlock:payments-key"}], {"AIRLOCK_SECRET_ARNS_FILE": str(arn_map)}
    )
    assert f"AIRLOCK_SECRET_ARNS_FILE={arn_map}: the ARN map is not valid JSON" in err


def test_platform_secret_names_are_checked_with_the_spec(ws, serve):
    model = serve("openai", [final("never")])
    spec = ws.spec(model, tools=[], secrets=[{"name": "payments", "from": "airlock:../payments"}])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2 and "Traceback" not in res.stderr
    assert "secrets[0].from (line " in res.stderr
    assert "'airlock:../payments' names no valid platform secret; allowed: airlock:NAME" in res.stderr
    assert not ws.state.exists()


# --------------------------------------------------------------------------- apiKeySecret

MODEL_KEY = "sk-model-0a1b2c3d4e5f"
ROTATED_KEY = "sk-model-rotated-9z8y7x"


def keyed_route(server, secret: str, **extra) -> dict:
    return {
        "provider": server.flavor,
        "baseUrl": server.url,
        "model": server.model,
        "apiKeySecret": secret,
        "retryBackoffSeconds": 0.01,
        **extra,
    }


def test_route_key_from_a_mounted_platform_secret_is_sent_resolved_again_on_resume_and_never_written(ws, serve):
    secrets_dir = mounted_secret(ws.root, {"model-api-key": MODEL_KEY + "\n"})
    model = serve(
        "openai",
        [
            calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text=f"Using {MODEL_KEY}, refunding."),
            final(f"Done; my key is {ROTATED_KEY}."),
        ],
    )
    spec = ws.spec(
        keyed_route(model, "llm"),
        tools=[tool("issue_refund", "ask")],
        secrets=[{"name": "llm", "from": "airlock:model-api-key"}],
    )
    env = {**ws.env, "AIRLOCK_SECRETS_DIR": str(secrets_dir)}
    run = run_cli("run", "--agent", str(spec), "--task", "Refund order 7", "--state", str(ws.state), "--json", env=env)
    assert run.rc == 0, run.stderr
    assert run.json["status"] == "waiting_approval"
    assert model.headers[0]["authorization"] == f"Bearer {MODEL_KEY}"
    assert run.json["pending_approval"]["model_note"] == "Using [REDACTED:llm], refunding."

    # The platform rotates the Secret while the task waits: the resume uses the new key.
    (secrets_dir / "..data" / "model-api-key").write_text(ROTATED_KEY)
    approval = run.json["pending_approval"]["id"]
    decided = run_cli("approvals", "decide", approval, "approve", "--state", str(ws.state), env=env)
    assert decided.rc == 0, decided.stderr
    resumed = run_cli("resume", run.json["task_id"], "--state", str(ws.state), env=env)
    assert resumed.rc == 0, resumed.stderr
    assert model.count == 2 and model.headers[1]["authorization"] == f"Bearer {ROTATED_KEY}"
    assert ws.effects_done() != []  # the approved call ran
    assert "output: Done; my key is [REDACTED:llm]." in resumed.stdout

    status = run_cli("status", run.json["task_id"], "--state", str(ws.state), "--json", env=env)
    assert status.json["status"] == "succeeded"
    written = everything_written(ws, model, run, decided, resumed, status)
    assert MODEL_KEY not in written and ROTATED_KEY not in written
    # What the model was sent back holds the placeholder; the key went only in the header.
    assert "Using [REDACTED:llm], refunding." in json.dumps(model.requests[1])


def test_route_key_from_secrets_manager_through_the_arn_map(ws, serve, moto_server):
    arns = create_secrets(moto_server, ws, {"anthropic-api-key": MODEL_KEY, "payments-key": SECRET})
    arn_map = ws.root / "secret-arns.json"
    arn_map.write_text(json.dumps(arns))
    planner = serve("anthropic", [calls(Call("lookup_order", {"order_id": 1}), text=f"Plan ({MODEL_KEY}).")])
    default = serve("openai", [final("unused"), final("Answer.")])
    spec = ws.spec(
        {**keyed_route(default, "unused"), "apiKeySecret": None, "apiKeyEnv": "VLLM_API_KEY"},
        planner=keyed_route(planner, "anthropic"),
        tools=[tool("lookup_order")],
        secrets=[{"name": "anthropic", "from": "airlock:anthropic-api-key"}],
    )
    env = {
        **ws.env,
        **aws_env(moto_server),
        "AIRLOCK_SECRET_ARNS_FILE": str(arn_map),
        "VLLM_API_KEY": "vllm-local-key-42",
    }
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=env)
    assert res.rc == 0, res.stderr
    assert res.json["status"] == "succeeded" and res.json["output"] == "Answer."
    assert planner.headers[0]["x-api-key"] == MODEL_KEY  # Anthropic's header, from Secrets Manager
    assert default.headers[0]["authorization"] == "Bearer vllm-local-key-42"  # apiKeyEnv works beside it
    # The planner's text went on to the default route redacted.
    assert "Plan ([REDACTED:anthropic])." in json.dumps(default.requests[0])
    written = everything_written(ws, planner, res) + everything_written(ws, default)
    assert MODEL_KEY not in written and "vllm-local-key-42" not in written


def test_route_key_problems_are_bad_input_with_the_key_path(ws, serve):
    model = serve("openai", [final("never")])
    llm = [{"name": "llm", "from": "airlock:model-api-key"}]

    def refused(default, secrets, env=None, planner=None):
        spec = ws.spec(default, planner=planner, tools=[], secrets=secrets)
        res = run_cli(
            "run",
            "--agent",
            str(spec),
            "--task",
            "t",
            "--state",
            str(ws.state),
            "--json",
            env={**ws.env, **(env or {})},
        )
        assert res.rc == 2 and "Traceback" not in res.stderr, res.stderr
        assert model.count == 0 and not ws.state.exists()
        return res.json["error"]

    both = refused({**keyed_route(model, "llm"), "apiKeyEnv": "VLLM_API_KEY"}, llm, {"VLLM_API_KEY": "x"})
    assert (
        "models.default.apiKeySecret (line 8): 'llm' is set together with apiKeyEnv 'VLLM_API_KEY'; "
        "allowed: exactly one of apiKeyEnv and apiKeySecret" in both
    )

    unknown = refused(keyed_route(model, "llm"), llm, planner=keyed_route(model, "anthropic"))
    assert "models.planner.apiKeySecret (line " in unknown
    assert "'anthropic' is not a declared secret; declared: llm" in unknown

    no_platform = refused(keyed_route(model, "llm"), llm)
    assert (
        "secrets[0] (llm): from 'airlock:model-api-key': neither AIRLOCK_SECRETS_DIR nor AIRLOCK_SECRET_ARNS_FILE"
        in (no_platform)
    )

    empty_dir = mounted_secret(ws.root, {"model-api-key": "\n"})
    empty = refused(keyed_route(model, "llm"), llm, {"AIRLOCK_SECRETS_DIR": str(empty_dir)})
    assert "models.default.apiKeySecret: secret 'llm' is empty" in empty


# --------------------------------------------------------------------------- one spec, both platforms


@pytest.fixture
def orchestrator_env(monkeypatch):
    """Start from an environment without Airlock or AWS settings, as the CLI tests do."""
    import os

    for name in list(os.environ):
        if name.startswith(("AIRLOCK_", "AWS_", "OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VLLM_API_KEY", "vllm-local-key-42")
    # The orchestrator Deployment sets it on both platforms (components/workloads/orchestrator.py).
    monkeypatch.setenv("AIRLOCK_SANDBOXES", '{"default": "http://sandbox-executor.airlock-sbx-default.svc.cluster.local:8080"}')
    return monkeypatch


def test_the_documented_platform_example_loads_unchanged_on_both_platforms(
    ws, orchestrator_env, moto_server, isolated_tool_imports
):
    from runtime.agent import load_agent
    from runtime.spec import load_spec_file

    example_text = EXAMPLE.read_text()
    body = example_text[example_text.index("name: refunds") :]
    assert body in AGENT_SPEC_DOC.read_text(), "docs/agent-spec.md must show examples/refunds/agent.platform.yaml"
    values = {"anthropic-api-key": MODEL_KEY, "payments-api-key": SECRET}

    # Platform kubernetes: the stack's secrets mounted as files.
    orchestrator_env.setenv("AIRLOCK_SECRETS_DIR", str(mounted_secret(ws.root, values)))
    on_kubernetes = load_agent(load_spec_file(EXAMPLE))
    on_kubernetes.close()
    orchestrator_env.delenv("AIRLOCK_SECRETS_DIR")

    # Platform aws: a name -> ARN map, read from Secrets Manager.
    (ws.root / "secret-arns.json").write_text(json.dumps(create_secrets(moto_server, ws, values)))
    for name, value in {**aws_env(moto_server), "AIRLOCK_SECRET_ARNS_FILE": str(ws.root / "secret-arns.json")}.items():
        orchestrator_env.setenv(name, value)
    on_aws = load_agent(load_spec_file(EXAMPLE))
    on_aws.close()

    for agent in (on_kubernetes, on_aws):
        assert agent.secrets == {"anthropic": MODEL_KEY, "payments": SECRET}
        assert agent.redactor.text(f"{MODEL_KEY} / vllm-local-key-42") == (
            "[REDACTED:anthropic] / [REDACTED:api-key:default]"
        )
    assert on_kubernetes.version == on_aws.version
