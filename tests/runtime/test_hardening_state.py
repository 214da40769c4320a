"""Findings 2-4: operator actions and their audit record go together; a damaged state
directory is an error, never a fresh start; an empty id is bad input."""

from __future__ import annotations

import json
import sqlite3
import shutil

import pytest
from runtime_testkit import Call, calls, final, run_cli, tool


def _parked(ws, serve):
    model = serve("openai", [calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})), final("done")])
    spec = ws.spec(model, tools=[tool("issue_refund", "ask")])
    res = run_cli("run", "--agent", str(spec), "--task", "Refund order 7", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    out = json.loads(res.stdout.splitlines()[-1])
    assert out["status"] == "waiting_approval"
    return out


def _audit_kinds(ws) -> list[str]:
    return [json.loads(line)["kind"] for line in (ws.state / "audit" / "audit.jsonl").read_text().splitlines()]


def _approval_status(ws, approval_id: str) -> str:
    with sqlite3.connect(ws.state / "airlock.db") as db:
        return db.execute("SELECT status FROM approvals WHERE id=?", (approval_id,)).fetchone()[0]


def _break_audit_log(ws) -> None:
    """Unwritable even for root: the log's path is a directory."""
    log = ws.state / "audit" / "audit.jsonl"
    shutil.move(log, ws.state / "audit.jsonl.saved")
    log.mkdir()


def test_decision_is_not_kept_when_its_audit_record_cannot_be_written(ws, serve) -> None:
    parked = _parked(ws, serve)
    approval_id = parked["pending_approval"]["id"]
    _break_audit_log(ws)
    res = run_cli("approvals", "decide", approval_id, "approve", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2, res.stderr
    assert "cannot write the audit log" in res.stderr and "Traceback" not in res.stderr
    assert _approval_status(ws, approval_id) == "pending"


def test_decision_rolls_back_when_the_append_fails(ws, serve, monkeypatch) -> None:
    """The failure inside the transaction (disk full at the append), in process."""
    from runtime import approvals
    from runtime.audit import AuditLog
    from runtime.errors import StateUnusable
    from runtime.store import Store

    parked = _parked(ws, serve)
    approval_id = parked["pending_approval"]["id"]

    def full(*args, **kwargs):
        raise StateUnusable("cannot write the audit log: No space left on device")

    store, audit = Store(ws.state, create=False), AuditLog(ws.state / "audit")
    monkeypatch.setattr(audit, "append", full)
    try:
        with pytest.raises(StateUnusable):
            approvals.decide(store, approval_id, approve=True, by="op", reason=None, audit=audit)
        assert approvals.get(store, approval_id).status == "pending"
    finally:
        audit.close()
        store.close()


def test_decision_and_record_together(ws, serve) -> None:
    parked = _parked(ws, serve)
    approval_id = parked["pending_approval"]["id"]
    res = run_cli("approvals", "decide", approval_id, "deny", "--reason", "no", "--state", str(ws.state), env=ws.env)
    assert res.rc == 0, res.stderr
    assert _approval_status(ws, approval_id) == "denied"
    assert _audit_kinds(ws)[-1] == "approval_decided"
    assert run_cli("audit", "verify", "--state", str(ws.state)).rc == 0


def test_kill_switch_is_not_engaged_without_its_audit_record(ws, serve) -> None:
    _parked(ws, serve)
    _break_audit_log(ws)
    res = run_cli("kill", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2 and "cannot write the audit log" in res.stderr
    with sqlite3.connect(ws.state / "airlock.db") as db:
        assert db.execute("SELECT count(*) FROM controls WHERE name='kill_all'").fetchone()[0] == 0
        assert db.execute("SELECT status FROM tasks").fetchone()[0] == "waiting_approval"


def test_kill_with_an_empty_id_is_bad_input(ws, serve) -> None:
    _parked(ws, serve)
    for empty in ("", "  "):
        res = run_cli("kill", empty, "--state", str(ws.state), env=ws.env)
        assert res.rc == 2, res.stderr
        assert "must not be empty" in res.stderr
    with sqlite3.connect(ws.state / "airlock.db") as db:
        assert db.execute("SELECT count(*) FROM controls WHERE name='kill_all'").fetchone()[0] == 0
        assert db.execute("SELECT status FROM tasks").fetchone()[0] == "waiting_approval"


@pytest.mark.parametrize("command", [["resume", ""], ["status", ""], ["approvals", "decide", "", "approve"]])
def test_other_empty_ids_are_bad_input(ws, serve, command) -> None:
    _parked(ws, serve)
    res = run_cli(*command, "--state", str(ws.state), env=ws.env)
    assert res.rc == 2, res.stderr
    assert "must not be empty" in res.stderr


def test_zero_byte_database_is_an_error_not_a_fresh_start(ws, serve) -> None:
    parked = _parked(ws, serve)
    (ws.state / "airlock.db").write_bytes(b"")
    for leftover in ("airlock.db-wal", "airlock.db-shm"):
        (ws.state / leftover).unlink(missing_ok=True)
    for args in (["status", parked["task_id"]], ["approvals", "list"], ["kill"]):
        res = run_cli(*args, "--state", str(ws.state), env=ws.env)
        assert res.rc == 2, (args, res.stderr)
        assert "is empty (0 bytes)" in res.stderr
    spec = ws.root / "agent.yaml"
    res = run_cli("run", "--agent", str(spec), "--task", "again", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2 and "is empty (0 bytes)" in res.stderr
    assert (ws.state / "airlock.db").stat().st_size == 0  # nothing was re-created over it


def test_garbage_or_foreign_database_is_an_error(ws, serve) -> None:
    _parked(ws, serve)
    db = ws.state / "airlock.db"
    for leftover in ("airlock.db-wal", "airlock.db-shm"):
        (ws.state / leftover).unlink(missing_ok=True)
    db.write_bytes(b"not a database at all" * 100)
    res = run_cli("approvals", "list", "--state", str(ws.state))
    assert res.rc == 2 and "not an SQLite database" in res.stderr
    db.unlink()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE other (x)")
    res = run_cli("approvals", "list", "--state", str(ws.state))
    assert res.rc == 2 and "not an Airlock state database" in res.stderr


def test_removed_database_next_to_an_audit_log_is_an_error(ws, serve) -> None:
    _parked(ws, serve)
    for name in ("airlock.db", "airlock.db-wal", "airlock.db-shm"):
        (ws.state / name).unlink(missing_ok=True)
    spec = ws.root / "agent.yaml"
    res = run_cli("run", "--agent", str(spec), "--task", "again", "--state", str(ws.state), env=ws.env)
    assert res.rc == 2 and "has an audit log but no airlock.db" in res.stderr
    assert not (ws.state / "airlock.db").exists()
