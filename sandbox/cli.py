"""`airlock-sandbox`: serve the sandbox executor. Exit 2 with one message on bad input."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import uvicorn

from sandbox.app import Executor
from sandbox.config import ConfigError, settings_from_env
from sandbox.isolation import ISOLATIONS, IsolationUnavailable, check_available
from sandbox.server import uvicorn_config

EXIT_BAD_INPUT = 2
ISOLATION_ENV = "AIRLOCK_SANDBOX_ISOLATION"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="airlock-sandbox", description="Airlock sandbox executor: runs agents' code with limits.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve POST /v1/exec, GET /healthz and GET /readyz")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument(
        "--isolation",
        choices=ISOLATIONS,
        default=os.environ.get(ISOLATION_ENV) or "process",
        help=f"how each exec is isolated (default: ${ISOLATION_ENV}, else 'process': the container is the boundary)",
    )
    serve.add_argument("--work-dir", help="writable volume for the execs' work dirs (default: $AIRLOCK_WORK_DIR or /work)")
    return parser


def _fail(message: str) -> int:
    print(f"airlock-sandbox: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {"work_dir": args.work_dir} if args.work_dir else {}
    try:
        settings = settings_from_env(**overrides)
        check_available(args.isolation)
    except (ConfigError, IsolationUnavailable) as exc:
        return _fail(str(exc))
    work = settings.work_dir
    if not work.is_dir() or not os.access(work, os.W_OK | os.X_OK):
        return _fail(f"work dir {str(work)!r} is not a writable directory; mount the writable volume there or set AIRLOCK_WORK_DIR")
    if not 0 <= args.port < 65536:
        return _fail(f"--port {args.port} is out of range; allowed: 0-65535")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn_config(Executor(settings, args.isolation), log_level="info")
    config.host, config.port = args.host, args.port
    print(f"airlock-sandbox: serving on {args.host}:{args.port}, isolation {args.isolation}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run()  # handles SIGTERM: finishes running execs, then exits
    return 0


if __name__ == "__main__":
    sys.exit(main())
