"""Run the bad-input corpus and print the counts.

    python tests/hardening/corpus/run.py            # summary + every case that went wrong
    python tests/hardening/corpus/run.py --all      # every case
    python tests/hardening/corpus/run.py --json     # one JSON object

The cases run in one worker process (so a memory blow-up cannot take the caller with it),
in-process through the same entry points as the console scripts, each under a time limit
(SIGALRM) with the worker's data segment capped. Outcomes:

- ``exit 2``: rejected with exit 2, no traceback, and the message names what it should;
- ``wrongly accepted``: exit 0 for input that must be refused;
- ``exit 1``: exit 1 (an "internal error") where the input was the user's fault;
- ``traceback``: an exception escaped, a traceback was printed, or the case ran out of
  time or memory;
- ``other``: anything else unexpected (a control refused, exit 2 without the key path).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parents[2]
CASE_SECONDS = 60
DATA_LIMIT = 6 * 1024**3


class CaseTimeout(BaseException):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise CaseTimeout()


def _run_airlock(argv: list[str]) -> tuple[int, str, BaseException | None]:
    from typer.testing import CliRunner

    from airlock.cli import app

    result = CliRunner().invoke(app, argv, catch_exceptions=True)
    error = result.exception if result.exception and not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout + result.stderr, error


def _run_runtime(argv: list[str]) -> tuple[int, str, BaseException | None]:
    from runtime.cli import main

    out, err = io.StringIO(), io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        except CaseTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 - that is what we count
            code, error = 1, exc
            traceback.print_exc()
    return code, out.getvalue() + err.getvalue(), error


def worker(selected: set[str] | None) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    sys.path.insert(0, str(HERE.parent.parent))  # tests/, for `hardening.corpus`
    os.chdir(tempfile.mkdtemp(prefix="airlock-corpus-"))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_DATA, (DATA_LIMIT, DATA_LIMIT))
    from hardening.corpus.cases import all_cases

    signal.signal(signal.SIGALRM, _alarm)
    for case in all_cases():
        if selected and case.id not in selected:
            continue
        work = Path(tempfile.mkdtemp(prefix=f"{case.id[:40]}-"))
        saved = dict(os.environ)
        os.environ.pop("AIRLOCK_PROFILE", None)
        os.environ.update(case.env)
        code, text, error, note = 1, "", None, ""
        signal.alarm(CASE_SECONDS)
        try:
            argv = case.setup(work)
            runner = _run_airlock if case.program == "airlock" else _run_runtime
            code, text, error = runner(argv)
        except CaseTimeout:
            note = f"timeout after {CASE_SECONDS}s"
        except MemoryError:
            note = "MemoryError"
        finally:
            signal.alarm(0)
            os.environ.clear()
            os.environ.update(saved)
        if isinstance(error, CaseTimeout):
            note, error = f"timeout after {CASE_SECONDS}s", None
        if isinstance(error, MemoryError):
            note = "MemoryError"
        print(json.dumps({
            "id": case.id, "expect": case.expect, "code": code, "mentions": list(case.mentions),
            "error": note or (f"{type(error).__name__}: {error}"[:300] if error else None),
            "output": text[-2000:],
        }), flush=True)


def classify(row: dict) -> str:
    text = row["output"]
    if row["error"] or "Traceback (most recent call last)" in text:
        return "traceback"
    if row["code"] == row["expect"]:
        if row["expect"] == 0 or all(m in text for m in row["mentions"]):
            return "expected"
        return "other"
    if row["expect"] != 0 and row["code"] == 0:
        return "wrongly accepted"
    if row["code"] == 1:
        return "exit 1"
    return "other"


def run(selected: set[str] | None = None) -> list[dict]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker"] + (["--only", ",".join(sorted(selected))] if selected else [])
    proc = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_DIR, timeout=3600)
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            row["outcome"] = classify(row)
            rows.append(row)
    if proc.returncode != 0 and not rows:
        raise RuntimeError(f"corpus worker failed: {proc.stderr[-3000:]}")
    return rows


def summary(rows: list[dict]) -> dict[str, int]:
    rejected = [r for r in rows if r["expect"] != 0]
    return {
        "tried": len(rows),
        "bad inputs": len(rejected),
        "controls": len(rows) - len(rejected),
        "clean exit 2": sum(1 for r in rejected if r["outcome"] == "expected" and r["expect"] == 2),
        "documented exit 1": sum(1 for r in rejected if r["outcome"] == "expected" and r["expect"] == 1),
        "wrongly accepted": sum(1 for r in rows if r["outcome"] == "wrongly accepted"),
        "exit 1": sum(1 for r in rows if r["outcome"] == "exit 1"),
        "traceback": sum(1 for r in rows if r["outcome"] == "traceback"),
        "other": sum(1 for r in rows if r["outcome"] == "other"),
        "controls passed": sum(1 for r in rows if r["expect"] == 0 and r["outcome"] == "expected"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated case ids")
    parser.add_argument("--all", action="store_true", help="list every case, not only the failures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    selected = set(args.only.split(",")) if args.only else None
    if args.worker:
        worker(selected)
        return
    rows = run(selected)
    counts = summary(rows)
    if args.json:
        print(json.dumps({"counts": counts, "cases": rows}, indent=2))
        return
    for row in rows:
        if args.all or row["outcome"] != "expected":
            detail = row["error"] or row["output"].strip().splitlines()[-1:] or [""]
            print(f"{row['outcome']:17} exit {row['code']} (want {row['expect']})  {row['id']}: {str(detail)[:220]}")
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
