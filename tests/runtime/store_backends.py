"""The store backends the behaviour suite runs on: the same CLI and service, a different AIRLOCK_STORE."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from runtime_testkit import Workspace

# moto's server runs in the test process and werkzeug logs every request at INFO: pytest would
# keep each record (hundreds of thousands in the takeover test) and print them on a failure.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@dataclass
class Backend:
    name: str
    ws: Workspace
    env: dict[str, str]
    pg: Any = None  # the PgServer, for the postgresql backend
    url: str | None = None
    aws: Any = None  # the AwsResources (aws_moto.py), for the aws backend
    aws_proxy: Any = None  # the FaultProxy the runtime's AWS calls go through

    def args(self) -> list[str]:
        """What selects the store on the command line: --state for SQLite, nothing (AIRLOCK_STORE) otherwise."""
        return ["--state", str(self.ws.state)] if self.name == "sqlite" else []

    def run_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self.ws.env, **self.env, **(extra or {})}

    def audit_records(self) -> list[dict[str, Any]]:
        if self.name == "sqlite":
            return self.ws.audit_lines()
        if self.name == "aws":
            return aws_audit_records(self.aws)
        with self.pg.admin(self.dbname) as conn:
            return [json.loads(r[0]) for r in conn.execute("SELECT record FROM audit_log ORDER BY seq")]

    def task_ids(self) -> list[str]:
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.ws.state / "airlock.db") as db:
                return [row[0] for row in db.execute("SELECT id FROM tasks")]
        if self.name == "aws":
            return [row["sk"] for row in aws_task_rows(self.aws)]
        with self.pg.admin(self.dbname) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM tasks")]

    def leases_held_by(self, pid: int) -> int:
        """Queue leases a process holds now (lease owners are "host:pid:start/worker")."""
        sql = "SELECT count(*) FROM queue WHERE lease_owner LIKE ?"
        pattern = f"%:{pid}:%"
        if self.name == "aws":  # the lease is on the task row (runtime/store_aws/work_queue.py)
            return sum(1 for row in aws_task_rows(self.aws) if f":{pid}:" in str(row.get("lease_owner", "")))
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
        if self.name == "aws":
            aws_tamper_audit(self.aws, seq)
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
        if self.name == "aws":
            from aws_moto import break_audit

            break_audit(self.aws_proxy, self.aws)
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
        """Rows of the store's own database (``?`` placeholders); SQL stores only."""
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.ws.state / "airlock.db", timeout=30) as db:
                return list(db.execute(sql, params))
        assert self.name == "postgresql", "the aws store has no SQL: use the methods below"
        with self.pg.admin(self.dbname) as conn:
            return list(conn.execute(sql.replace("?", "%s"), params))

    # What the suite checks in every store, whatever keeps it.

    def approval_status(self, approval_id: str) -> str | None:
        if self.name == "aws":
            item = aws_item(self.aws, "approvals", approval_id)
            return item["status"] if item else None
        rows = self.query("SELECT status FROM approvals WHERE id=?", (approval_id,))
        return rows[0][0] if rows else None

    def kill_switch_engaged(self) -> bool:
        if self.name == "aws":
            item = aws_item(self.aws, "controls", "kill_all")
            return bool(item and "value" in item)
        return self.query("SELECT count(*) FROM controls WHERE name='kill_all'") != [(0,)]

    def task_statuses(self) -> list[str]:
        if self.name == "aws":
            return [row["status"] for row in aws_task_rows(self.aws)]
        return [row[0] for row in self.query("SELECT status FROM tasks")]

    def secret_history_rows(self) -> list[Any]:
        """Everything the store keeps of the secret history (fingerprints, then the key)."""
        if self.name == "aws":
            return aws_partition(self.aws, "secrets")
        return self.query("SELECT * FROM secret_fingerprints") + self.query("SELECT * FROM secret_history_key")

    @property
    def dbname(self) -> str:
        assert self.url is not None
        return self.url.rsplit("/", 1)[1]


def make_backend(
    name: str, ws: Workspace, pg_server: Any | None, aws: Any | None = None, aws_proxy: Any | None = None
) -> Backend:
    if name == "sqlite":
        return Backend(name, ws, {})
    if name == "aws":
        assert aws is not None
        return Backend(name, ws, dict(aws.env), aws=aws, aws_proxy=aws_proxy, url="aws:")
    assert pg_server is not None
    url = pg_server.new_database()
    return Backend(name, ws, pg_server.env(url), pg=pg_server, url=url)


# ----------------------------------------------------------------------------- the aws store's items


def aws_partition(aws: Any, pk: str) -> list[dict[str, Any]]:
    """Every item of one partition of the store's table, read straight from moto."""
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    client, found, start = aws.client("dynamodb"), [], None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = client.query(TableName=aws.table, KeyConditionExpression="pk = :pk",
                            ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True, **extra)
        found += [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def aws_task_rows(aws: Any) -> list[dict[str, Any]]:
    return aws_partition(aws, "tasks")


def aws_item(aws: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return next((item for item in aws_partition(aws, pk) if item["sk"] == sk), None)


def aws_audit_records(aws: Any) -> list[dict[str, Any]]:
    from aws_moto import audit_records

    return audit_records(aws)


def aws_tamper_audit(aws: Any, seq: int) -> None:
    from aws_moto import tamper_audit

    tamper_audit(aws, seq)
