"""The exceptions every CLI command maps to exit status 2 (bad input, never a traceback)."""

from __future__ import annotations

from airlock.audit.command import AuditInputError
from airlock.audit.suppressions import SuppressionError
from airlock.diff.command import DiffInputError
from airlock.project import ProjectNotFoundError
from airlock.synth.at_ref import RefError
from airlock.synth.target import OutputDirError
from components.config.errors import ConfigError, StackNotFoundError
from policy.bundle import BundleError

BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    StackNotFoundError,
    ProjectNotFoundError,
    OutputDirError,
    AuditInputError,
    SuppressionError,
    BundleError,
    RefError,
    DiffInputError,
)
