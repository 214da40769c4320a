"""The exec API's request and response, and the checks that turn bad input into one message
naming the field, the value and what is allowed."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandbox.config import ExecutorSettings

LANGUAGES = ("python", "bash")
# The code itself is written here in the work dir; never returned as a changed file.
ENTRY_FILES = {"python": ".airlock-main.py", "bash": ".airlock-main.sh"}


class BadRequest(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ExecRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    language: Literal["python", "bash"]
    code: str
    files: dict[str, str] = Field(default_factory=dict)
    stdin: str = ""
    timeout_seconds: int | None = Field(default=None, alias="timeoutSeconds", ge=1)
    memory_mb: int | None = Field(default=None, alias="memoryMb", ge=1)

    @field_validator("files")
    @classmethod
    def _relative_paths(cls, files: dict[str, str]) -> dict[str, str]:
        for path in files:
            pure = PurePosixPath(path)
            if not path or pure.is_absolute() or ".." in pure.parts or "\x00" in path:
                raise ValueError(f"path {path!r} must be relative to the work dir, without '..'")
            if path in ENTRY_FILES.values():
                raise ValueError(f"path {path!r} is reserved for the code")
        return files


def parse_request(body: Any, settings: ExecutorSettings) -> ExecRequest:
    """A valid request within the executor's maxima, or BadRequest naming the field."""
    if not isinstance(body, dict):
        raise BadRequest("", "the body must be a JSON object")
    try:
        request = ExecRequest.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        allowed = {"language": f"one of {', '.join(LANGUAGES)}"}.get(field)
        got = "" if err["type"] == "missing" else f" (got {str(err.get('input'))[:60]!r})"
        text = err["msg"].removeprefix("Value error, ")
        raise BadRequest(field, f"{text}{got}" + (f"; allowed: {allowed}" if allowed else "")) from None
    if request.timeout_seconds is not None and request.timeout_seconds > settings.max_timeout_seconds:
        raise BadRequest(
            "timeoutSeconds", f"{request.timeout_seconds} is above this executor's maximum of {settings.max_timeout_seconds}"
        )
    if request.memory_mb is not None and request.memory_mb > settings.max_memory_mb:
        raise BadRequest("memoryMb", f"{request.memory_mb} is above this executor's maximum of {settings.max_memory_mb}")
    if len(request.files) > settings.max_files:
        raise BadRequest("files", f"{len(request.files)} files; at most {settings.max_files} are allowed")
    size = len(request.code.encode()) + len(request.stdin.encode()) + sum(len(t.encode()) for t in request.files.values())
    if size > settings.max_code_bytes:
        raise BadRequest("code", f"code, stdin and files add up to {size} bytes; at most {settings.max_code_bytes} are allowed")
    return request


class ExecResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    exit_code: int | None = Field(alias="exitCode")
    stdout: str
    stderr: str
    truncated: bool
    duration_ms: int = Field(alias="durationMs")
    timed_out: bool = Field(alias="timedOut")
    files: dict[str, str]
    # Beyond the required shape: what stopped the process and how it was isolated.
    signal: str | None = None
    isolation: str
    files_omitted: list[str] = Field(default_factory=list, alias="filesOmitted")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)
