"""Secrets: from env, file and AWS Secrets Manager into the tool's context only; redacted everywhere else."""

from __future__ import annotations

import json

import boto3
from runtime_testkit import Call, calls, everything_written, final, run_cli, tool

SECRET = 'sk_live_Pa$$w0rd-"quoted"-9f8e7d'  # quote: also redacted in its JSON-escaped form
API_KEY = "vllm-key-5d1b2c3a4e"


def test_secret_values_reach_tools_but_never_the_model_state_audit_or_terminal(ws, serve):
    model = serve(
        "openai",
        [
            calls(
                Call("secret_length", {}),
                Call("leak_secret", {}),
                Call("fail_with_secret", {}),
                Call("lookup_order", json.dumps({"order_id": 1, "note": SECRET})),  # the model repeats it
                text=f"I will not say {SECRET} or {API_KEY}.",
            ),
            final(f"The key is {SECRET} and the API key is {API_KEY}."),
        ],
    )
    route = {"provider": "openai", "baseUrl": model.url, "model": "qwen3-8b", "apiKeyEnv": "VLLM_API_KEY"}
    spec = ws.spec(
        route,
        tools=[
            tool("secret_length", secrets=["payments"]),
            tool("leak_secret", secrets=["payments"]),
            tool("fail_with_secret", secrets=["payments"]),
            tool("lookup_order"),
        ],
        secrets=[{"name": "payments", "from": "env:PAYMENTS_KEY"}],
    )
    env = {**ws.env, "PAYMENTS_KEY": SECRET, "VLLM_API_KEY": API_KEY}
    res = run_cli("run", "--agent", str(spec), "--task", "Refund", "--state", str(ws.state), env=env)
    assert res.rc == 0, res.stderr
    assert "task " in res.stdout and ": succeeded" in res.stdout  # human output, progress on stderr
    assert model.headers[0]["authorization"] == f"Bearer {API_KEY}"  # the key went where it belongs

    length, leaked, failed, echoed = model.tool_results(-1)
    assert length["content"] == str(len(SECRET))  # the tool had the real value
    assert leaked["content"] == "the payments key is [REDACTED:payments]"
    assert (
        failed["content"]
        == "error: tool 'fail_with_secret' raised PermissionError: payments API rejected key [REDACTED:payments]"
    )
    assert "'[REDACTED:payments]'" in echoed["content"]  # arguments were redacted on arrival
    assert "[REDACTED:payments] and the API key is [REDACTED:api-key:default]" in res.stdout

    task_id = next(line.split()[1].rstrip(":") for line in res.stdout.splitlines() if line.startswith("task "))
    status = run_cli("status", task_id, "--state", str(ws.state), "--json")
    assert status.json["output"] == "The key is [REDACTED:payments] and the API key is [REDACTED:api-key:default]."
    written = everything_written(ws, model, res) + status.stdout
    assert SECRET not in written and json.dumps(SECRET)[1:-1] not in written
    assert API_KEY not in written
    # The model's own text in the conversation it is shown again is redacted too.
    assert "I will not say [REDACTED:payments]" in json.dumps(model.requests[-1])


def test_each_tool_gets_only_the_secrets_it_lists(ws, serve):
    (ws.root / "db.secret").write_text("db-pass-123\n")
    model = serve("openai", [calls(Call("which_secrets", {}, id="a")), final("ok")])
    spec = ws.spec(
        model,
        tools=[tool("which_secrets", secrets=["db"])],
        secrets=[{"name": "payments", "from": "env:PAYMENTS_KEY"}, {"name": "db", "from": "file:db.secret"}],
    )
    res = run_cli(
        "run",
        "--agent",
        str(spec),
        "--task",
        "t",
        "--state",
        str(ws.state),
        "--json",
        env={**ws.env, "PAYMENTS_KEY": SECRET},
    )
    assert res.rc == 0, res.stderr
    # Only "db", and the file's trailing newline is not part of the value.
    assert json.loads(model.tool_results(-1)[0]["content"]) == {"db": len("db-pass-123")}


def test_aws_secrets_manager_over_http(ws, serve, moto_server):
    aws_env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-central-1",
    }
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_secret(Name="prod/payments", SecretString=SECRET)
    client.create_secret(Name="prod/db", SecretString=json.dumps({"user": "app", "password": "pw-from-json-77"}))

    model = serve("openai", [calls(Call("leak_secret", {}), Call("which_secrets", {})), final("done")])
    spec = ws.spec(
        model,
        tools=[tool("leak_secret", secrets=["payments"]), tool("which_secrets", secrets=["payments", "dbpass"])],
        secrets=[
            {"name": "payments", "from": "aws-secretsmanager:prod/payments"},
            {"name": "dbpass", "from": "aws-secretsmanager:prod/db#password"},
        ],
    )
    res = run_cli(
        "run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env={**ws.env, **aws_env}
    )
    assert res.rc == 0, res.stderr
    leaked, which = model.tool_results(-1)
    assert leaked["content"] == "the payments key is [REDACTED:payments]"
    assert json.loads(which["content"]) == {"dbpass": len("pw-from-json-77"), "payments": len(SECRET)}

    missing = ws.spec(
        model, tools=[], secrets=[{"name": "x", "from": "aws-secretsmanager:prod/nope"}], filename="missing.yaml"
    )
    res = run_cli(
        "run", "--agent", str(missing), "--task", "t", "--state", str(ws.root / "other"), env={**ws.env, **aws_env}
    )
    assert res.rc == 2
    assert "secrets[0] (x): from 'aws-secretsmanager:prod/nope': ResourceNotFoundException" in res.stderr
    assert "Traceback" not in res.stderr


def test_unresolvable_secret_is_bad_input_and_creates_no_state(ws, serve):
    model = serve("openai", [final("never")])
    spec = ws.spec(model, tools=[], secrets=[{"name": "payments", "from": "env:PAYMENTS_KEY"}])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2
    assert "secrets[0] (payments): from 'env:PAYMENTS_KEY': environment variable PAYMENTS_KEY is not set" in res.stderr
    assert not ws.state.exists() and model.count == 0
