"""`airlock-runtime serve` and `airlock-runtime token create`: settings, start-up, drain, exit.

Flags default from the contract's environment variables (runtime/contract.py), which is
how the orchestrator Deployment configures the process. SIGTERM: stop accepting
connections and claiming tasks, let every runner reach a step boundary, release the
leases, exit 0, all within the drain period (the pod's terminationGracePeriodSeconds less
a margin).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from runtime import contract
from runtime.errors import BadInput
from runtime.sandbox_flags import add_isolation_argument, check_isolation_available

log = logging.getLogger("airlock.service")
LOOPBACK = "127.0.0.1"


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--state", metavar="DIR", default=env(contract.STATE_DIR_ENV), help=f"state directory (${contract.STATE_DIR_ENV})")
    p.add_argument("--agent", metavar="SPEC", default=env(contract.AGENT_SPEC_ENV), help=f"agent spec YAML (${contract.AGENT_SPEC_ENV})")
    p.add_argument("--host", metavar="H", default=env(contract.HOST_ENV), help=f"bind address (${contract.HOST_ENV}; default 0.0.0.0)")
    p.add_argument("--port", metavar="PORT", default=env(contract.PORT_ENV, str(contract.PORT)), help=f"port; 0 picks a free one (${contract.PORT_ENV})")
    p.add_argument(
        "--concurrency", metavar="N", default=env(contract.CONCURRENCY_ENV, str(contract.DEFAULT_CONCURRENCY)),
        help=f"tasks run at once by this process (${contract.CONCURRENCY_ENV})",
    )
    p.add_argument("--tokens-file", metavar="FILE", default=env(contract.API_TOKENS_FILE_ENV), help=f"API tokens (${contract.API_TOKENS_FILE_ENV})")
    p.add_argument("--insecure-local", action="store_true", help="no tokens file: no authentication, loopback only")
    add_isolation_argument(p)


def add_token_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, metavar="N", help="who holds the token (goes into the audit log)")
    p.add_argument("--roles", required=True, metavar="R", help="comma-separated: submit, approve, admin")
    p.add_argument("--file", required=True, metavar="F", help="tokens file to append the hash to")


def _int(flag: str, text: str | None, low: int, high: int) -> int:
    try:
        value = int(str(text))
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadInput(f"{flag}: {text!r} is not allowed; use a whole number from {low} to {high}")
    return value


def _float_env(name: str, default: float, low: float, high: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadInput(f"{name}: {text!r} is not allowed; use a number from {low:g} to {high:g}")
    return value


def settings_from(args: argparse.Namespace) -> Any:
    from runtime.service.context import Settings, parse_json_env
    from runtime.store_api import state_dir_of

    store_url = os.environ.get(contract.STORE_ENV, "").strip()
    if store_url:
        state_dir = state_dir_of(store_url)
    elif args.state:
        state_dir = Path(args.state)
        store_url = f"sqlite://{state_dir.absolute()}"
    else:
        raise BadInput(f"--state: required (or set {contract.STATE_DIR_ENV} or {contract.STORE_ENV})")
    if not args.agent:
        raise BadInput(f"--agent: required (or set {contract.AGENT_SPEC_ENV})")
    port = _int("--port", args.port, 0, 65535)
    concurrency = _int("--concurrency", args.concurrency, 1, 256)
    host = args.host
    tokens = Path(args.tokens_file) if args.tokens_file else None
    if args.insecure_local:
        if tokens is not None:
            raise BadInput("--insecure-local: not with a tokens file; the tokens file already secures the API")
        if host not in (None, LOOPBACK, "localhost", "::1"):
            raise BadInput(f"--host: {host!r} with --insecure-local; without tokens the service binds to loopback only")
        host = LOOPBACK
    elif tokens is None:
        raise BadInput(
            f"--tokens-file: no API tokens file (flag or {contract.API_TOKENS_FILE_ENV}); make one with "
            "`airlock-runtime token create --name NAME --roles submit,approve,admin --file FILE`, "
            "or pass --insecure-local to serve without authentication on loopback only"
        )
    elif not tokens.is_file():
        raise BadInput(f"--tokens-file: {str(tokens)!r} does not exist or is not a file")
    # An explicit mode this machine cannot provide (gvisor without runsc) is refused now, with
    # the same message as `run`: never a silent fallback, never a pod that is never ready.
    check_isolation_available(args.sandbox_isolation)
    drain = _float_env(contract.DRAIN_SECONDS_ENV, contract.DRAIN_GRACE_SECONDS - contract.DRAIN_MARGIN_SECONDS, 1, 3600)
    return Settings(
        state_dir=state_dir,
        store_url=store_url,
        agent_spec=Path(args.agent),
        host=host or "0.0.0.0",
        port=port,
        concurrency=concurrency,
        tokens_file=tokens,
        insecure_local=args.insecure_local,
        max_task_chars=int(_float_env(contract.MAX_TASK_CHARS_ENV, contract.DEFAULT_MAX_TASK_CHARS, 1, 10_000_000)),
        lease_seconds=_float_env(contract.LEASE_SECONDS_ENV, contract.DEFAULT_LEASE_SECONDS, 0.5, 3600),
        drain_seconds=drain,
        expected_version=os.environ.get(contract.AGENT_VERSION_ENV) or None,
        model_routes=parse_json_env(contract.MODEL_ROUTES_ENV),
        webhook_key_secret=os.environ.get(contract.WEBHOOK_KEY_SECRET_ENV) or contract.DEFAULT_WEBHOOK_KEY_SECRET,
        sandbox_isolation=args.sandbox_isolation,
    )


def cmd_token_create(args: argparse.Namespace) -> int:
    from runtime.service.auth import create_token, parse_roles

    token = create_token(Path(args.file), args.name, parse_roles(args.roles))
    print(token)
    print(f"token {args.name!r} added to {args.file}; it is shown only this once", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from runtime.service.app import create_app
    from runtime.service.context import ServiceContext
    from runtime.service.workers import WorkerPool
    from runtime.store_api import open_store

    settings = settings_from(args)
    level = os.environ.get(contract.LOG_LEVEL_ENV, "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    open_store(settings.store_url, create=True).close()  # a bad state directory is bad input: fail now
    ctx = ServiceContext(settings)
    pool = WorkerPool(ctx)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        ctx.start_loading()
        pool.start()
        yield

    app = create_app(ctx, lifespan=lifespan)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        raise BadInput(f"--port: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=3, lifespan="on", proxy_headers=False
    )

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises SIGTERM after shutting down (the process would die by the
            # signal before draining); a drained service exits 0 instead.
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: Any) -> None:
            # Drain starts at the signal: /readyz turns 503, workers stop claiming at once.
            if not ctx.draining.is_set():
                log.info("received %s: draining (no new tasks; runners stop at their next step boundary)", signal.Signals(sig).name)
            ctx.draining.set()
            ctx.wake.set()
            super().handle_exit(sig, frame)

    server = Server(config)
    print(f"airlock-runtime serve: listening on http://{settings.host}:{bound} (store {settings.store_url})", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
        finished = pool.drain(settings.drain_seconds)
    finally:
        ctx.close()  # also stops the local sandbox executor: no exec outlives the process
    if finished:
        log.info("drained: every runner stopped at a step boundary and released its lease")
    else:
        log.warning("drain period over with runners still busy; their leases expire and another process resumes them")
    return 0
