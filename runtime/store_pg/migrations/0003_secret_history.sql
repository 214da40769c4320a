-- Fingerprints of secret values earlier runs were given (runtime/secret_history.py), shared by
-- every process on this database: the HMAC key (one row) and, per value, its length, rolling
-- fingerprint and HMAC. The values themselves are never stored.
CREATE TABLE secret_history_key (id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL);
CREATE TABLE secret_fingerprints (
    length INTEGER NOT NULL,
    mac TEXT NOT NULL,
    name TEXT NOT NULL,
    rolling BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (length, mac)
);
