"""``airlock audit STACK``: synthesize (or read a bundle), run the rules, apply the stack's
suppressions, render. Exit 1 when a finding is at or above --fail-on, 2 on bad input."""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

from airlock.audit.formats import RENDERERS
from airlock.audit.report import AuditReport, audit_bundle
from policy import AuditBundle
from policy.model import SEVERITIES

FORMATS = tuple(RENDERERS)
# Pin "today" for expiry checks (reproducible reports in CI and tests); default: the UTC date.
TODAY_ENV = "AIRLOCK_AUDIT_DATE"


class AuditInputError(Exception):
    """Bad arguments or a bundle that does not belong to the stack."""


def today() -> datetime.date:
    pinned = os.environ.get(TODAY_ENV)
    if pinned:
        try:
            return datetime.date.fromisoformat(pinned)
        except ValueError:
            raise AuditInputError(f"{TODAY_ENV}={pinned!r} is not a date (allowed: YYYY-MM-DD)") from None
    return datetime.datetime.now(datetime.timezone.utc).date()


def check_choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise AuditInputError(f"{option} {value!r} is not allowed; allowed: {', '.join(allowed)}")


def load_bundle(project_dir: Path, stack: str, bundle_dir: Path | None) -> AuditBundle:
    from airlock.synth.run import synthesize

    if bundle_dir is not None:
        if not bundle_dir.is_dir():
            raise AuditInputError(f"--bundle {bundle_dir}: no such directory")
        bundle = AuditBundle.from_directory(bundle_dir)
        if bundle.stack and bundle.stack != stack:
            raise AuditInputError(f"--bundle {bundle_dir} holds stack {bundle.stack!r}, not {stack!r}")
        return bundle
    with tempfile.TemporaryDirectory(prefix="airlock-audit-") as scratch:
        target = Path(scratch) / stack
        synthesize(project_dir, stack, target)
        return AuditBundle.from_directory(target)


def run_audit(project_dir: Path, stack: str, bundle_dir: Path | None, fail_on: str) -> AuditReport:
    from airlock.synth.run import validate_stack

    check_choice("--fail-on", fail_on, SEVERITIES)
    loaded = validate_stack(project_dir, stack)
    bundle = load_bundle(project_dir, stack, bundle_dir)
    return audit_bundle(bundle, list(loaded.config.audit_suppressions), fail_on, today(), stack=stack)
