"""Hostile code against the local executor, in its own namespaces and under gVisor: each
attempt is stopped or contained with a clear result, and the next call works normally."""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

from sandbox_testkit import ExecClient


def test_cannot_reach_a_server_on_the_hosts_loopback(jailed: ExecClient) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=accept)
    thread.start()
    try:
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
            "    print('CONNECTED')\n"
            "except OSError as exc:\n"
            "    print('blocked:', exc)\n"
        )
        result = jailed.run(code)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert result["stdout"].startswith("blocked:"), result
    # netns: "Network is unreachable" (loopback down); gVisor: its own empty loopback refuses.
    assert "unreachable" in result["stdout"] or "refused" in result["stdout"]
    assert accepted == []
    jailed.still_serves()


def test_cannot_resolve_a_dns_name(jailed: ExecClient) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    print('RESOLVED', socket.getaddrinfo('example.com', 443))\n"
        "except socket.gaierror as exc:\n"
        "    print('no DNS:', exc)\n"
    )
    result = jailed.run(code)
    assert result["stdout"].startswith("no DNS:"), result
    jailed.still_serves()


def test_cannot_read_an_orchestrator_secret_outside_its_work_dir(jailed: ExecClient, tmp_path: Path) -> None:
    # World-readable on purpose: what keeps it out is that the file does not exist in the
    # sandbox's filesystem, not its permissions.
    secret = tmp_path / "orchestrator-secrets" / "payments-api-key"
    secret.parent.mkdir()
    secret.write_text("sk_live_orchestrator_secret")
    os.chmod(tmp_path, 0o755)
    os.chmod(secret.parent, 0o755)
    os.chmod(secret, 0o644)
    code = (
        "import os\n"
        f"path = {str(secret)!r}\n"
        "try:\n"
        "    print('READ', open(path).read())\n"
        "except OSError as exc:\n"
        "    print('denied:', type(exc).__name__)\n"
        "print('root holds:', sorted(os.listdir('/')))\n"
    )
    result = jailed.run(code)
    assert "sk_live_orchestrator_secret" not in result["stdout"] + result["stderr"]
    assert "denied: FileNotFoundError" in result["stdout"], result
    # The sandbox sees the system's programs, its work dir and a private /tmp, nothing else.
    assert "'root', 'home'" not in result["stdout"] and "'var'" not in result["stdout"]
    jailed.still_serves()


def test_fork_bomb_is_capped_by_the_process_limit(jailed: ExecClient) -> None:
    code = (
        "import os, time\n"
        "children = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        children += 1\n"
        "except OSError as exc:\n"
        "    print('fork refused after', children, 'children:', exc)\n"
    )
    result = jailed.run(code, timeoutSeconds=30)
    assert result["exitCode"] == 0 and "fork refused after" in result["stdout"], result
    children = int(result["stdout"].split("after ")[1].split()[0])
    assert children < 16  # the executor's max_processes in these tests
    # The sleeping children were killed with the namespace when the main process ended.
    jailed.still_serves()


def test_allocating_4_gb_fails_with_memory_error(jailed: ExecClient) -> None:
    result = jailed.run("block = bytearray(4 * 1024**3)\nprint('ALLOCATED')")
    assert result["exitCode"] == 1
    assert "MemoryError" in result["stderr"] and "ALLOCATED" not in result["stdout"]
    jailed.still_serves()


def test_writing_2_gb_stops_at_the_file_size_limit(jailed: ExecClient) -> None:
    code = "with open('big.bin', 'wb') as fh:\n    for _ in range(2048):\n        fh.write(b'x' * 2**20)\nprint('WROTE 2 GB')"
    result = jailed.run(code)
    assert result["exitCode"] == 1 and "File too large" in result["stderr"], result
    assert "WROTE" not in result["stdout"]
    assert result["filesOmitted"] == ["big.bin"]  # too big to return, and removed with the work dir
    jailed.still_serves()


def test_an_endless_loop_is_killed_at_the_wall_clock_timeout(jailed: ExecClient) -> None:
    result = jailed.run("print('started', flush=True)\nwhile True:\n    pass", timeoutSeconds=3)
    assert result["timedOut"] is True and result["signal"] == "SIGKILL"
    assert result["stdout"] == "started\n"
    assert "wall-clock timeout of 3s" in result["stderr"]
    jailed.still_serves()


def test_background_processes_do_not_outlive_the_exec(jailed: ExecClient) -> None:
    seconds = f"300.{random.randrange(10**8):08d}"  # a command line no other process on the machine has
    code = (
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '{seconds}'], start_new_session=True)\n"
        "print('left a sleeper behind')\n"
    )
    result = jailed.run(code)
    assert result["exitCode"] == 0
    assert not _host_processes_running(["sleep", seconds])
    jailed.still_serves()


def _host_processes_running(argv: list[str]) -> list[str]:
    wanted = "\0".join(argv).encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().rstrip(b"\0") == wanted:
                found.append(entry.name)
        except OSError:
            pass
    return found
