"""A real PostgreSQL server for the store tests: Debian's postgresql-15 binaries, a temp data directory.

Started once per pytest session (initdb + pg_ctl), listening on a free loopback port with
scram-sha-256 password auth (so the runtime's password-file path is exercised), stopped at
the end. PostgreSQL refuses to run as root, so as root it runs as ``nobody``. When the server
cannot start the tests fail, naming what is missing: the store suite is not optional.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("AIRLOCK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "airlock_admin"
APP_USER = "airlock"


@dataclass
class PgServer:
    root: Path
    port: int
    admin_password: str
    app_password: str
    app_password_file: Path
    _run_as: list[str]

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.admin_password, dbname=dbname,
            autocommit=True,
        )

    def new_database(self) -> str:
        """A fresh database owned by the app role; returns its AIRLOCK_STORE URL (no password in it)."""
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_USER}')
        return f"postgresql://{APP_USER}@127.0.0.1:{self.port}/{name}"

    def env(self, url: str) -> dict[str, str]:
        return {"AIRLOCK_STORE": url, "AIRLOCK_STORE_PASSWORD_FILE": str(self.app_password_file)}

    def stop(self) -> None:
        subprocess.run(
            [*self._run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True, text=True, timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fail(what: str) -> None:
    raise RuntimeError(f"the PostgreSQL test server cannot start: {what} (`.ci/run` installs Debian's postgresql)")


def start(*, durable: bool = False) -> PgServer:
    """``durable``: fsync on, as in production (bench/store_overhead.py); the tests run with it
    off, since they never pull the power and it saves the 2-core CI machine's disk."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).is_file():
            _fail(f"{PG_BIN / tool} is missing")
    root = Path(tempfile.mkdtemp(prefix="airlock-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            _fail("running as root and util-linux's runuser is missing (PostgreSQL refuses to run as root)")
        run_as = [runuser, "-u", "nobody", "--"]
        os.chmod(root, 0o700)
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
    admin_password = secrets.token_urlsafe(18)
    app_password = secrets.token_urlsafe(18)
    pwfile = root / "admin.pw"
    pwfile.write_text(admin_password + "\n")
    if run_as:
        os.chown(pwfile, nobody.pw_uid, nobody.pw_gid)
    init = subprocess.run(
        [*run_as, str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, "--pwfile", str(pwfile),
         "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        capture_output=True, text=True, timeout=180,
    )
    if init.returncode != 0:
        _fail(f"initdb exited {init.returncode}: {init.stderr.strip()[-800:]}")
    pwfile.unlink()
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync={'on' if durable else 'off'} -c max_connections=100"
    started = subprocess.run(
        [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-o", options,
         "-w", "-t", "120", "start"],
        capture_output=True, text=True, timeout=180,
    )
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        _fail(f"pg_ctl start exited {started.returncode}: {started.stderr.strip()[-400:]} {log[-800:]}")
    app_password_file = Path(tempfile.mkdtemp(prefix="airlock-pg-secret-")) / "password"
    app_password_file.write_text(app_password + "\n")
    app_password_file.chmod(0o600)
    server = PgServer(root, port, admin_password, app_password, app_password_file, run_as)
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD %s" .replace("%s", "'" + app_password + "'"))
    return server
