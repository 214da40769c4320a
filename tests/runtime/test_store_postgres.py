"""The PostgreSQL store on a real server: URL and password rules, migrations, append-only audit, SKIP LOCKED leases."""

from __future__ import annotations

import threading

import psycopg
import pytest
from runtime_testkit import run_cli

from runtime.errors import BadInput
from runtime.store_api import Submission, open_store
from runtime.store_pg import migrate


def submission(task_id: str) -> Submission:
    return Submission(
        task_id=task_id, agent_name="a", agent_version="v1", spec_text="x", spec_path=None, spec_dir="/",
        task_text="t", request_sha256="0" * 64, submitted_by="test",
    )


def test_a_password_in_the_url_is_refused_and_the_message_does_not_repeat_it(pg_server):
    url = pg_server.new_database().replace("airlock@", "airlock:hunter2@")
    res = run_cli("status", "tsk_x", "--json", env={"AIRLOCK_STORE": url})
    assert res.rc == 2
    assert "carries a password" in res.stderr and "AIRLOCK_STORE_PASSWORD_FILE" in res.stderr
    assert "hunter2" not in res.stderr + res.stdout and "Traceback" not in res.stderr


def test_a_wrong_or_missing_password_file_is_one_clear_error(pg_server, tmp_path):
    url = pg_server.new_database()
    missing = run_cli("status", "tsk_x", env={"AIRLOCK_STORE": url, "AIRLOCK_STORE_PASSWORD_FILE": str(tmp_path / "nope")})
    assert missing.rc == 2 and "AIRLOCK_STORE_PASSWORD_FILE: cannot read" in missing.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    refused = run_cli("status", "tsk_x", env={"AIRLOCK_STORE": url, "AIRLOCK_STORE_PASSWORD_FILE": str(wrong)})
    assert refused.rc == 2 and "cannot connect to postgresql://airlock@127.0.0.1" in refused.stderr
    assert "password authentication failed" in refused.stderr and "Traceback" not in refused.stderr


def test_reading_commands_on_an_empty_database_say_it_holds_no_state(pg_server):
    url = pg_server.new_database()
    res = run_cli("approvals", "list", env=pg_server.env(url))
    assert res.rc == 2 and "holds no Airlock state yet" in res.stderr and "Traceback" not in res.stderr


def test_migrations_are_versioned_applied_once_and_a_newer_schema_is_refused(pg_server, monkeypatch):
    url = pg_server.new_database()
    monkeypatch.setenv("AIRLOCK_STORE_PASSWORD_FILE", str(pg_server.app_password_file))
    shipped = [v for v, _, _ in migrate.available()]
    open_store(url).close()
    open_store(url).close()  # a second start applies nothing again
    dbname = url.rsplit("/", 1)[1]
    with pg_server.admin(dbname) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert [r[0] for r in rows] == shipped and rows[0][1] == "init"
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'from_the_future')", (len(shipped) + 1,))
    with pytest.raises(BadInput, match=r"schema migrations \[\d+\] this runtime does not know"):
        open_store(url)


def test_the_audit_table_refuses_update_delete_and_truncate(pg_server, monkeypatch):
    url = pg_server.new_database()
    monkeypatch.setenv("AIRLOCK_STORE_PASSWORD_FILE", str(pg_server.app_password_file))
    store = open_store(url)
    audit = store.open_audit()
    try:
        audit.append("task_started", {"n": 1})
        store.record_audit_head(audit.append("task_finished", {"n": 2}))
        conn = store.conn.raw  # the runtime's own role, owner of the table
        for statement in ("UPDATE audit_log SET record='{}'", "DELETE FROM audit_log WHERE seq=2", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        assert store.verify_audit().ok and store.verify_audit().records == 2
    finally:
        audit.close()
        store.close()


def test_concurrent_claims_never_share_a_task_and_skip_locked_rows(pg_server, monkeypatch):
    url = pg_server.new_database()
    monkeypatch.setenv("AIRLOCK_STORE_PASSWORD_FILE", str(pg_server.app_password_file))
    seed = open_store(url)
    for i in range(40):
        seed.submit_task(submission(f"tsk_{i:03d}"))
    claimed: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        store = open_store(url)
        got = claimed.setdefault(name, [])
        while (claim := store.claim_next(name, "v1", 60)) is not None:
            got.append(claim.task_id)
        store.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    every = [task for tasks in claimed.values() for task in tasks]
    assert sorted(every) == [f"tsk_{i:03d}" for i in range(40)]  # each task leased once, none lost
    assert seed.queue_depth() == 0 and seed.count_by_status() == {"running": 40}
    # A lease held in an open transaction is skipped, not waited for.
    seed.submit_task(submission("tsk_locked"))
    seed.submit_task(submission("tsk_free"))
    blocker = psycopg.connect(**seed.target.conninfo())
    blocker.execute("SELECT 1 FROM queue WHERE task_id='tsk_locked' FOR UPDATE")
    try:
        claim = seed.claim_next("w9", "v1", 60)
        assert claim is not None and claim.task_id == "tsk_free"
    finally:
        blocker.rollback()
        blocker.close()
        seed.close()


def test_a_new_free_queue_row_wakes_a_listening_worker(pg_server, monkeypatch):
    url = pg_server.new_database()
    monkeypatch.setenv("AIRLOCK_STORE_PASSWORD_FILE", str(pg_server.app_password_file))
    waiter, submitter = open_store(url), open_store(url)
    try:
        assert waiter.wait_for_work(0.05) is False  # LISTEN is registered, nothing queued yet
        submitter.submit_task(submission("tsk_wake"))
        assert waiter.wait_for_work(60) is True
    finally:
        waiter.close()
        submitter.close()
