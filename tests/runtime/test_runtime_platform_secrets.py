"""`airlock:<name>` secrets: what the orchestrator provides on each platform, read by the real CLI.

Platform kubernetes mounts a Secret as a directory ($AIRLOCK_SECRETS_DIR, laid out here as
kubelet lays it out); platform aws hands the pod a JSON map of names to Secrets Manager
ARNs ($AIRLOCK_SECRET_ARNS_FILE), served here by moto over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from runtime_testkit import Call, calls, everything_written, final, run_cli, tool

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


def secretsmanager(endpoint: str):
    return boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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
    client = secretsmanager(moto_server)
    arn = client.create_secret(Name="airlock/prod/payments-key", SecretString=SECRET)["ARN"]
    arn_map = ws.root / "secret-arns.json"
    arn_map.write_text(json.dumps({"payments-key": arn}))
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
