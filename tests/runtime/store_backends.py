"""The store backends the behaviour suite runs on: the same CLI and service, a different AIRLOCK_STORE."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime_testkit import Workspace


@dataclass
class Backend:
    name: str
    ws: Workspace
    env: dict[str, str]
    pg: Any = None  # the PgServer, for the postgresql backend
    url: str | None = None

    def args(self) -> list[str]:
        """What selects the store on the command line: --state for SQLite, nothing (AIRLOCK_STORE) otherwise."""
        return ["--state", str(self.ws.state)] if self.name == "sqlite" else []

    def run_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self.ws.env, **self.env, **(extra or {})}

    def audit_records(self) -> list[dict[str, Any]]:
        if self.name == "sqlite":
            return self.ws.audit_lines()
        with self.pg.admin(self.dbname) as conn:
            return [json.loads(r[0]) for r in conn.execute("SELECT record FROM audit_log ORDER BY seq")]

    def task_ids(self) -> list[str]:
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.ws.state / "airlock.db") as db:
                return [row[0] for row in db.execute("SELECT id FROM tasks")]
        with self.pg.admin(self.dbname) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM tasks")]

    def leases_held_by(self, pid: int) -> int:
        """Queue leases a process holds now (lease owners are "host:pid:start/worker")."""
        sql = "SELECT count(*) FROM queue WHERE lease_owner LIKE ?"
        pattern = f"%:{pid}:%"
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.ws.state / "airlock.db", timeout=30) as db:
                return int(db.execute(sql, (pattern,)).fetchone()[0])
        with self.pg.admin(self.dbname) as conn:
            return int(conn.execute(sql.replace("?", "%s"), (pattern,)).fetchone()[0])

    def tamper_audit(self, seq: int) -> None:
        """Change one audit record the way an attacker with full access to the store would."""
        if self.name == "sqlite":
            path = self.ws.state / "audit" / "audit.jsonl"
            lines = path.read_text().splitlines(keepends=True)
            record = json.loads(lines[seq - 1])
            record["data"]["tampered"] = True
            lines[seq - 1] = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
            path.write_text("".join(lines))
            return
        with self.pg.admin(self.dbname) as conn:
            # Even the table's trigger must be switched off first: a superuser can, and verify still notices.
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
            conn.execute(
                "UPDATE audit_log SET record = regexp_replace(record, '\"ts\":\"[^\"]*\"', '\"ts\":\"2020-01-01T00:00:00Z\"')"
                " WHERE seq=%s",
                (seq,),
            )
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")

    def break_audit(self) -> None:
        """Make the next audit append fail (SQLite: the log's path is a directory, unwritable
        even for root; PostgreSQL: a trigger refuses every insert into audit_log)."""
        if self.name == "sqlite":
            log = self.ws.state / "audit" / "audit.jsonl"
            log.rename(self.ws.state / "audit.jsonl.saved")
            log.mkdir()
            return
        with self.pg.admin(self.dbname) as conn:
            conn.execute(
                "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$"
            )
            conn.execute(
                "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()"
            )

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of the store's own database (``?`` placeholders)."""
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.ws.state / "airlock.db", timeout=30) as db:
                return list(db.execute(sql, params))
        with self.pg.admin(self.dbname) as conn:
            return list(conn.execute(sql.replace("?", "%s"), params))

    @property
    def dbname(self) -> str:
        assert self.url is not None
        return self.url.rsplit("/", 1)[1]


def make_backend(name: str, ws: Workspace, pg_server: Any | None) -> Backend:
    if name == "sqlite":
        return Backend(name, ws, {})
    assert pg_server is not None
    url = pg_server.new_database()
    return Backend(name, ws, pg_server.env(url), pg=pg_server, url=url)
