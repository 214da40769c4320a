-- The runtime's state: the same tables as the SQLite store (runtime/store.py,
-- runtime/store_queue.py), with PostgreSQL types, plus the append-only audit log.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    agent_name TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    spec_text TEXT NOT NULL,
    spec_path TEXT,
    spec_dir TEXT NOT NULL,
    task_text TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    error TEXT,
    owner TEXT,
    kill_requested INTEGER NOT NULL DEFAULT 0,
    checkpoint_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tasks_by_created ON tasks (created_at, id);
CREATE INDEX tasks_by_status ON tasks (status);
CREATE TABLE messages (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    idx INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (task_id, idx)
);
CREATE TABLE checkpoints (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    n_messages INTEGER NOT NULL,
    status TEXT NOT NULL,
    usage TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
CREATE TABLE ledger (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    tool_call_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    tool TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('intent', 'done')),
    result TEXT,
    is_error INTEGER,
    intent_at TEXT NOT NULL,
    result_at TEXT,
    PRIMARY KEY (task_id, tool_call_id)
);
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    tool_call_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    payload TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    notify_status TEXT,
    UNIQUE (task_id, tool_call_id)
);
CREATE INDEX approvals_pending ON approvals (status, requested_at);
CREATE TABLE controls (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE queue (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    agent_version TEXT NOT NULL,
    enqueued_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_expires_at DOUBLE PRECISION,
    claims INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_by_version ON queue (agent_version, enqueued_at);
CREATE TABLE submissions (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    idempotency_key TEXT UNIQUE,
    request_sha256 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    submitted_by TEXT NOT NULL
);
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    task_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_by_task ON events (task_id, id);

-- The audit chain (see runtime/audit.py): one row per record, its canonical JSON as written.
-- Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for every role (a superuser
-- must disable the trigger first, which `audit verify` then exposes by the broken hashes).
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    hash TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE FUNCTION airlock_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION airlock_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION airlock_audit_append_only();
