"""What the service's parts share: settings, the loaded agent, the store per thread, metrics.

The agent is loaded in the background (spec, tools, secrets, API keys) and retried until
it loads: a Secret created after the pod, or a model route being fixed, makes the pod
ready without a restart. Until then `/readyz` says why not.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime import contract
from runtime.agent import Agent
from runtime.audit import AuditLog
from runtime.errors import BadInput
from runtime.sandbox_tool import LocalSandboxes
from runtime.service.auth import TokenFile
from runtime.service.metrics import ServiceMetrics
from runtime.store import current_owner
from runtime.store_api import StateStore, open_store

log = logging.getLogger("airlock.service")


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    store_url: str
    agent_spec: Path
    host: str
    port: int
    concurrency: int
    tokens_file: Path | None
    insecure_local: bool
    max_task_chars: int
    lease_seconds: float
    drain_seconds: float
    expected_version: str | None = None
    model_routes: dict[str, Any] | None = None
    webhook_key_secret: str = contract.DEFAULT_WEBHOOK_KEY_SECRET
    sandbox_isolation: str = "auto"


class ServiceContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServiceMetrics()
        self.owner = current_owner()
        self.tokens = TokenFile(settings.tokens_file) if settings.tokens_file else None
        self.draining = threading.Event()
        self.wake = threading.Event()
        self.agent: Agent | None = None
        self.agent_error: str | None = "the agent spec is loading"
        self.webhook_key: bytes | None = None
        self._local = threading.local()
        self._held_lock = threading.Lock()
        self.held: dict[str, bool] = {}  # task id -> lease lost
        self._stop_loading = threading.Event()
        # Sandbox pools AIRLOCK_SANDBOXES does not name get a local executor, started by the
        # loader and kept for the process's lifetime (one, however often the loader retries).
        self.sandboxes = LocalSandboxes(settings.sandbox_isolation)
        self.metrics.watch_store(self._snapshot)

    # ------------------------------------------------------------- per-thread store and audit

    def store(self) -> StateStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self.settings.store_url, create=True)
            self._local.store = store
        return store

    def audit(self) -> AuditLog:
        audit = getattr(self._local, "audit", None)
        if audit is None:
            audit = self.store().open_audit()
            self._local.audit = audit
        return audit

    def _snapshot(self) -> dict[str, Any]:
        store = self.store()
        with self._held_lock:
            held = len(self.held)
        return {
            "tasks": store.count_by_status(),
            "pending": store.count_pending_approvals(),
            "queue": store.queue_depth(),
            "tool_error_ratio": self.metrics.tool_error_ratio(),
            "leases_held": held,
        }

    # ------------------------------------------------------------- readiness

    def not_ready_reason(self) -> str | None:
        if self.draining.is_set():
            return "draining: the process received SIGTERM and takes no new work"
        if self.agent is None:
            return self.agent_error or "the agent is not loaded"
        try:
            self.store().queue_depth()
        except BadInput as exc:  # the operator's to fix: the message says what
            return f"store unusable: {exc}"
        except Exception as exc:
            return f"store unreachable: {type(exc).__name__}: {exc}"
        return None

    # ------------------------------------------------------------- the agent

    def start_loading(self, retry_seconds: float = 5.0) -> None:
        def loop() -> None:
            while not self._stop_loading.is_set():
                try:
                    self.agent = load_service_agent(self.settings, self.sandboxes)
                    self.webhook_key = webhook_key(self.agent, self.settings)
                    self.agent_error = None
                    log.info("agent %s version %s loaded", self.agent.name, self.agent.version)
                    return
                except Exception as exc:  # every reason is reported by /readyz, then retried
                    self.agent = None
                    message = str(exc) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"
                    if message != self.agent_error:
                        log.error("agent not loaded: %s", message)
                    self.agent_error = f"agent not loaded: {message}"
                self._stop_loading.wait(retry_seconds)

        threading.Thread(target=loop, name="agent-loader", daemon=True).start()

    def close(self) -> None:
        """After the drain: stop loading, close the agent, stop the local sandbox executor
        (killing any exec still running, so none outlives the process)."""
        self._stop_loading.set()
        try:
            if self.agent is not None:
                self.agent.close()
        finally:
            self.sandboxes.close()

    def sandbox_report(self) -> dict[str, Any]:
        """For /readyz: per sandbox pool, its executor and the isolation in force."""
        return self.sandboxes.describe(self.agent.spec.tools) if self.agent is not None else {}


def load_service_agent(settings: Settings, sandboxes: LocalSandboxes) -> Agent:
    from runtime.agent import load_agent
    from runtime.spec import load_spec_file

    loaded = load_spec_file(str(settings.agent_spec))
    if settings.expected_version and loaded.version != settings.expected_version:
        raise BadInput(
            f"{contract.AGENT_VERSION_ENV}={settings.expected_version} but {str(settings.agent_spec)!r} is version "
            f"{loaded.version}: the mounted spec is not the one this Deployment was made for"
        )
    if settings.model_routes is not None:
        check_routes_deployed(loaded.spec.routes(), settings.model_routes)
    return load_agent(loaded, sandboxes=sandboxes.urls(loaded.spec.tools))


def check_routes_deployed(routes: dict[str, Any], deployed: dict[str, Any]) -> None:
    """Every route of the spec must be one the stack deploys (AIRLOCK_MODEL_ROUTES)."""
    offered = {(str(r.get("baseUrl", "")).rstrip("/"), r.get("model")) for r in deployed.values() if isinstance(r, dict)}
    for name, route in routes.items():
        key = (str(route.base_url).rstrip("/"), route.model)
        if route.provider != "anthropic" and key not in offered:
            raise BadInput(
                f"models.{name}: {route.model!r} at {route.base_url} is not a model route this stack deploys "
                f"({contract.MODEL_ROUTES_ENV} lists: {', '.join(sorted(f'{m} at {u}' for u, m in offered)) or 'none'})"
            )


def webhook_key(agent: Agent, settings: Settings) -> bytes | None:
    """The approval webhook's signing key; required whenever the spec has a webhook URL."""
    if not agent.spec.approvals.webhook_url:
        return None
    from runtime.errors import SecretUnavailable
    from runtime.platform_secrets import PlatformSecretNotFound
    from runtime.secrets import resolve_secrets
    from runtime.spec import SecretSpec

    name = settings.webhook_key_secret
    try:
        spec = SecretSpec.model_validate({"name": "webhook-key", "from": f"airlock:{name}"})
        value = resolve_secrets([spec], settings.agent_spec.parent)["webhook-key"]
    except (SecretUnavailable, PlatformSecretNotFound) as exc:
        raise BadInput(
            f"approvals.webhookUrl is set, so approval notifications are signed, but the signing key "
            f"(platform secret {name!r}, see {contract.WEBHOOK_KEY_SECRET_ENV}) is not available: {exc}"
        ) from None
    return value.encode()


def parse_json_env(name: str) -> dict[str, Any] | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{name}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise BadInput(f"{name}: expected a JSON object, got {type(value).__name__}")
    return value
