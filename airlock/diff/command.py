"""``airlock diff STACK --base REF [--head REF]``: synthesize both sides, compare, classify,
and report new audit findings. Exit 3 when anything broadens."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from airlock.diff.compare import compare
from airlock.diff.model import ResourceChange
from airlock.diff.stack_secrets import changed_secrets
from policy import AuditBundle, Finding, run_rules


class DiffInputError(Exception):
    """Bad arguments to airlock diff."""


@dataclass
class DiffReport:
    stack: str
    base: str
    head: str
    changes: list[ResourceChange]
    secrets: list[tuple[str, str]]
    new_findings: list[Finding]
    resolved_findings: list[Finding]

    @property
    def broadens(self) -> bool:
        return any(c.effect == "broadening" for c in self.changes)


def _finding_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule_id, finding.resource_key, finding.path)


def diff_bundles(stack: str, base_label: str, head_label: str, base_dir: Path, head_dir: Path, base_stack_file: Path, head_stack_file: Path) -> DiffReport:
    base, head = AuditBundle.from_directory(base_dir), AuditBundle.from_directory(head_dir)
    base_findings = {_finding_key(f): f for f in run_rules(base)}
    head_findings = {_finding_key(f): f for f in run_rules(head)}
    return DiffReport(
        stack=stack,
        base=base_label,
        head=head_label,
        changes=compare(base, head),
        secrets=changed_secrets(base_stack_file, head_stack_file),
        new_findings=[f for k, f in sorted(head_findings.items()) if k not in base_findings],
        resolved_findings=[f for k, f in sorted(base_findings.items()) if k not in head_findings],
    )


def run_diff(project_dir: Path, stack: str, base_ref: str, head_ref: str | None) -> DiffReport:
    from airlock.synth.at_ref import file_at_ref, repo_root_of, resolve, synth_at_ref
    from airlock.synth.run import synthesize

    repo_root = repo_root_of(project_dir)
    subdir = project_dir.resolve().relative_to(repo_root.resolve())
    stack_path = subdir / "stacks" / f"Pulumi.{stack}.yaml"
    for ref in (base_ref, head_ref):
        if ref is not None:
            resolve(repo_root, ref)
    with tempfile.TemporaryDirectory(prefix="airlock-diff-") as scratch:
        root = Path(scratch)
        base_dir = synth_at_ref(stack, base_ref, repo_root, root / "base", subdir)
        (root / "base.yaml").write_text(file_at_ref(repo_root, base_ref, stack_path) or "")
        if head_ref is None:
            synthesize(project_dir, stack, root / "head")
            head_dir, head_file, head_label = root / "head", project_dir / "stacks" / f"Pulumi.{stack}.yaml", "working tree"
        else:
            head_dir = synth_at_ref(stack, head_ref, repo_root, root / "head", subdir)
            (root / "head.yaml").write_text(file_at_ref(repo_root, head_ref, stack_path) or "")
            head_file, head_label = root / "head.yaml", head_ref
        return diff_bundles(stack, base_ref, head_label, base_dir, head_dir, root / "base.yaml", head_file)
