"""The runtime service's contract with the Deployment that runs it: one source for both sides.

`components/workloads/orchestrator.py` builds the orchestrator pod from these names and
`airlock-runtime serve` reads them, so the port the probes hit, the paths they ask for,
the variables the pod sets and the directories it mounts cannot drift apart. (Components
may import the runtime; the runtime never imports components.)
"""

from __future__ import annotations

from typing import Final

# ----------------------------------------------------------------------------- process

SERVE_ARGS: Final = ("serve",)
"""What the container runs (the image's entrypoint is `airlock-runtime`)."""
PORT: Final = 8080
PORT_NAME: Final = "http"
HEALTHZ_PATH: Final = "/healthz"
READYZ_PATH: Final = "/readyz"
METRICS_PATH: Final = "/metrics"
RUNTIME_UID: Final = 10001

DRAIN_GRACE_SECONDS: Final = 60
"""terminationGracePeriodSeconds of the pod, and the time `serve` has to drain after SIGTERM."""
DRAIN_MARGIN_SECONDS: Final = 5
"""`serve` aims to exit this long before the grace period ends (the kubelet's SIGKILL)."""

# ----------------------------------------------------------------------------- mounts

AGENT_DIR: Final = "/etc/airlock/agent"
AGENT_SPEC_FILE: Final = f"{AGENT_DIR}/agent.yaml"
SECRETS_DIR: Final = "/var/run/secrets/airlock/secrets"
SECRET_ARNS_DIR: Final = "/etc/airlock/secret-arns"
SECRET_ARNS_FILE: Final = f"{SECRET_ARNS_DIR}/secret-arns.json"
API_TOKENS_DIR: Final = "/var/run/secrets/airlock/api-tokens"
API_TOKENS_KEY: Final = "tokens"
API_TOKENS_FILE: Final = f"{API_TOKENS_DIR}/{API_TOKENS_KEY}"
API_TOKENS_SECRET: Final = "orchestrator-api-tokens"
"""The Kubernetes Secret holding the tokens file; created by the operator (docs/api.md)."""
STATE_DIR: Final = "/var/lib/airlock"
TMP_DIR: Final = "/tmp"

# ----------------------------------------------------------------------------- environment

AGENT_SPEC_ENV: Final = "AIRLOCK_AGENT_SPEC"
AGENT_VERSION_ENV: Final = "AIRLOCK_AGENT_VERSION"
"""The version the deploy kit computed; `serve` is not ready if the spec it loads differs."""
STATE_DIR_ENV: Final = "AIRLOCK_STATE_DIR"
STORE_ENV: Final = "AIRLOCK_STORE"
"""`sqlite:///<state dir>` (default: the state directory), `postgresql://USER@HOST/DB`, or `aws:`."""
AWS_STORE: Final = "aws:"
"""The AWS backend: queue, table and buckets named by the AIRLOCK_* variables below."""
API_TOKENS_FILE_ENV: Final = "AIRLOCK_API_TOKENS_FILE"
HOST_ENV: Final = "AIRLOCK_HOST"
PORT_ENV: Final = "AIRLOCK_PORT"
CONCURRENCY_ENV: Final = "AIRLOCK_CONCURRENCY"
MAX_TASK_CHARS_ENV: Final = "AIRLOCK_MAX_TASK_CHARS"
LEASE_SECONDS_ENV: Final = "AIRLOCK_LEASE_SECONDS"
DRAIN_SECONDS_ENV: Final = "AIRLOCK_DRAIN_SECONDS"
WEBHOOK_KEY_SECRET_ENV: Final = "AIRLOCK_WEBHOOK_KEY_SECRET"
"""Name of the platform secret holding the approval webhook's HMAC key."""
PROFILE_ENV: Final = "AIRLOCK_PROFILE"
PLATFORM_ENV: Final = "AIRLOCK_PLATFORM"
STACK_ENV: Final = "AIRLOCK_STACK"
LOG_LEVEL_ENV: Final = "AIRLOCK_LOG_LEVEL"
MODEL_ROUTES_ENV: Final = "AIRLOCK_MODEL_ROUTES"
"""JSON: every model route the stack deploys; `serve` checks the spec's routes are among them."""
SANDBOXES_ENV: Final = "AIRLOCK_SANDBOXES"
"""JSON: sandbox pool name -> executor URL."""
SECRETS_DIR_ENV: Final = "AIRLOCK_SECRETS_DIR"
SECRET_ARNS_FILE_ENV: Final = "AIRLOCK_SECRET_ARNS_FILE"
QUEUE_URL_ENV: Final = "AIRLOCK_QUEUE_URL"
CHECKPOINT_TABLE_ENV: Final = "AIRLOCK_CHECKPOINT_TABLE"
AUDIT_BUCKET_ENV: Final = "AIRLOCK_AUDIT_BUCKET"
DEAD_LETTER_QUEUE_URL_ENV: Final = "AIRLOCK_DEAD_LETTER_QUEUE_URL"
"""The work queue's DLQ: a message there ends its task `failed` with the reason."""
PAYLOAD_BUCKET_ENV: Final = "AIRLOCK_PAYLOAD_BUCKET"
"""Bucket for state too big for a DynamoDB item (messages over ~350 KB); not Object-Locked."""
AWS_AUDIT_HEAD_KEY: Final = {"pk": "audit", "sk": "head"}
"""The DynamoDB item holding the audit chain head (seq, hash) for the AWS backend."""
MODEL_API_KEY_ENV: Final = "VLLM_API_KEY"

DEFAULT_CONCURRENCY: Final = 4
DEFAULT_MAX_TASK_CHARS: Final = 32_000
DEFAULT_LEASE_SECONDS: Final = 30.0
DEFAULT_WEBHOOK_KEY_SECRET: Final = "approval-webhook-key"
