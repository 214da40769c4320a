"""The executor's limits: a default and a maximum for what a request may ask, fixed caps for
the rest. Read once from the environment (``AIRLOCK_EXEC_*``, see docs/sandboxes.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ENV_PREFIX = "AIRLOCK_EXEC_"


class ConfigError(Exception):
    """A setting is invalid; the message names the variable, the value and what is allowed."""


class ExecutorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: int = Field(60, ge=1, le=3600, description="Default wall-clock limit of one exec.")
    max_timeout_seconds: int = Field(
        0, ge=0, le=3600, description="Largest timeoutSeconds a request may ask; 0: max(300, timeout_seconds)."
    )
    memory_mb: int = Field(512, ge=32, le=65536, description="Default address-space limit (RLIMIT_AS) in MiB.")
    max_memory_mb: int = Field(2048, ge=32, le=65536, description="Largest memoryMb a request may ask.")
    cpu_seconds: int = Field(60, ge=1, le=3600, description="CPU seconds per exec (RLIMIT_CPU).")
    max_processes: int = Field(64, ge=4, le=4096, description="Processes and threads per exec (RLIMIT_NPROC).")
    max_open_files: int = Field(256, ge=16, le=65536, description="Open files per process (RLIMIT_NOFILE).")
    max_file_mb: int = Field(64, ge=1, le=65536, description="Largest file a process may write (RLIMIT_FSIZE), MiB.")
    tmp_mb: int = Field(64, ge=1, le=65536, description="Size of the private /tmp (netns, gvisor), MiB.")
    max_output_bytes: int = Field(65536, ge=1024, le=16 << 20, description="stdout and stderr are each cut here.")
    max_code_bytes: int = Field(256 << 10, ge=1024, le=16 << 20, description="Largest code plus stdin plus files.")
    max_files: int = Field(64, ge=0, le=10000, description="Most files a request may send or a response return.")
    max_file_result_bytes: int = Field(65536, ge=0, le=16 << 20, description="Largest changed file returned (text).")
    concurrency: int = Field(4, ge=1, le=256, description="Execs at once; more get 429.")
    work_dir: Path = Field(Path("/work"), description="Writable volume where each exec gets a fresh directory.")
    # Each concurrent exec runs as its own uid when the executor is root: NPROC then counts
    # only that exec's processes, and execs cannot signal each other.
    uid_base: int = Field(2_000_000, ge=1000, le=2**31 - 70000, description="First uid of execs (root only).")

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> ExecutorSettings:
        if self.max_timeout_seconds == 0:  # the pool's execTimeoutSeconds may be above 300
            object.__setattr__(self, "max_timeout_seconds", max(300, self.timeout_seconds))
        if self.timeout_seconds > self.max_timeout_seconds:
            raise ValueError(
                f"{ENV_PREFIX}TIMEOUT_SECONDS={self.timeout_seconds} is above {ENV_PREFIX}MAX_TIMEOUT_SECONDS={self.max_timeout_seconds}"
            )
        if self.memory_mb > self.max_memory_mb:
            raise ValueError(f"{ENV_PREFIX}MEMORY_MB={self.memory_mb} is above {ENV_PREFIX}MAX_MEMORY_MB={self.max_memory_mb}")
        return self


def env_name(field: str) -> str:
    return "AIRLOCK_WORK_DIR" if field == "work_dir" else ENV_PREFIX + field.upper()


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: object) -> ExecutorSettings:
    """Settings from ``AIRLOCK_EXEC_<FIELD>`` (and AIRLOCK_WORK_DIR), then `overrides`."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in ExecutorSettings.model_fields:
        raw = env.get(env_name(field))
        if raw is not None and raw.strip():
            values[field] = raw.strip()
    values.update(overrides)
    try:
        return ExecutorSettings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["loc"]:
                field = str(err["loc"][0])
                problems.append(f"{env_name(field)}={values.get(field)!r}: {err['msg']}")
            else:
                problems.append(err["msg"].removeprefix("Value error, "))
        raise ConfigError("; ".join(problems)) from None
