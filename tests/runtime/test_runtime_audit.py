"""The audit log: what it records, and `audit verify` catching edits, deletions, reordering."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil

import pytest
from runtime_testkit import Call, ScriptedModelServer, Workspace, calls, final, run_cli, tool


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A finished task whose log was written by three processes (run, decide, resume).

    Module-scoped: the tampering tests work on copies, so one run serves them all.
    """
    ws = Workspace(tmp_path_factory.mktemp("audited"))
    model = ScriptedModelServer(
        "openai",
        [
            calls(Call("lookup_order", {"order_id": 7})),
            calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})),
            final("Refunded 20 EUR."),
        ],
    )
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = run_cli(
        "run", "--agent", str(spec), "--task", "Refund order 7", "--state", str(ws.state), "--json", env=ws.env
    ).json
    assert run_cli("approvals", "decide", parked["pending_approval"]["id"], "approve", "--state", str(ws.state)).rc == 0
    done = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env).json
    model.close()
    assert done["status"] == "succeeded"
    return ws, done


def test_records_are_chained_and_hold_hashes_and_previews(audited):
    ws, done = audited
    records = ws.audit_lines()
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["prev_hash"] == "0" * 64
    for prev, rec in itertools.pairwise(records):
        assert rec["prev_hash"] == prev["hash"]
    for rec in records:
        assert set(rec) == {"seq", "ts", "task_id", "agent_version", "kind", "data", "prev_hash", "hash"}
        assert rec["task_id"] == done["task_id"] and rec["agent_version"] == done["agent_version"]
    kinds = [r["kind"] for r in records]
    for kind in (
        "task_started",
        "model_call",
        "policy_decision",
        "approval_requested",
        "approval_decided",
        "task_resumed",
        "approval_applied",
        "tool_call",
        "tool_result",
        "task_succeeded",
    ):
        assert kind in kinds, kind
    assert kinds.count("model_call") == 3
    refund_call = next(r["data"] for r in records if r["kind"] == "tool_call" and r["data"]["tool"] == "issue_refund")
    arguments = '{"order_id": 7, "amount": 20.0}'
    assert refund_call["arguments_sha256"] == hashlib.sha256(arguments.encode()).hexdigest()
    assert refund_call["arguments_preview"] == arguments
    result = next(r["data"] for r in records if r["kind"] == "tool_result" and r["data"]["tool"] == "issue_refund")
    assert set(result) >= {"result_sha256", "result_preview", "is_error"} and "result" not in result
    decided = next(r["data"] for r in records if r["kind"] == "approval_decided")
    assert decided["status"] == "approved"

    ok = run_cli("audit", "verify", "--state", str(ws.state))
    assert ok.rc == 0 and f"audit chain intact: {len(records)} records" in ok.stdout


def tampered(ws, tmp_path, edit):
    copy = tmp_path / "tampered"
    shutil.copytree(ws.state, copy)
    log = copy / "audit" / "audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(edit(lines)))
    return run_cli("audit", "verify", "--state", str(copy))


def change_field(lines):
    rec = json.loads(lines[4])
    rec["kind"] = "nothing_to_see"
    lines[4] = json.dumps(rec) + "\n"
    return lines


def change_and_rehash(lines):
    rec = json.loads(lines[4])
    rec["data"] = {"rewritten": True}
    body = {k: v for k, v in rec.items() if k != "hash"}
    rec["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    lines[4] = json.dumps(rec) + "\n"
    return lines


@pytest.mark.parametrize(
    "edit,expected",
    [
        (change_field, "line 5 (seq 5): content does not match its hash"),
        (change_and_rehash, "line 6 (seq 6): prev_hash does not match the previous record"),
        (lambda lines: lines[:4] + lines[5:], "line 5 (seq 6): expected seq 5"),
        (lambda lines: lines[:3] + [lines[4], lines[3]] + lines[5:], "line 4 (seq 5): expected seq 4"),
        (lambda lines: lines[:-1], "records were removed from the end"),
        (lambda lines: lines[:-1] + [lines[-1][:40]], "incomplete last line"),
    ],
    ids=["edit", "edit-and-rehash", "delete", "reorder", "truncate", "torn"],
)
def test_verify_names_the_first_bad_record(audited, tmp_path, edit, expected):
    ws, _ = audited
    res = tampered(ws, tmp_path, edit)
    assert res.rc == 1
    assert expected in res.stderr
    assert "Traceback" not in res.stderr


def test_verify_on_a_directory_without_state_is_bad_input(tmp_path):
    res = run_cli("audit", "verify", "--state", str(tmp_path / "nothing"))
    assert res.rc == 2 and "holds no Airlock state" in res.stderr
