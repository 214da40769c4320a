"""`airlock diff` between two commits of a temporary copy of this repository: each class of
broadening change is detected (exit 3), a rename or a comment-only change is neutral (exit
0), a changed secret value shows as changed and never its value, and bad input exits 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from support import PROJECT_DIR, run_cli

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
DIGEST = "sha256:5b0f4c6a8e3d2f1b9a7c6e5d4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
SECRET_A, SECRET_B = "v1:AAAAAAAAcipherOne0000", "v1:BBBBBBBBcipherTwo1111"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}).stdout.strip()


def replace(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text()
    assert old in text, f"{path} no longer contains {old!r}: update this crafted change"
    target.write_text(text.replace(old, new, 1))


def append_config(repo: Path, stack: str, block: str) -> None:
    target = repo / "stacks" / f"Pulumi.{stack}.yaml"
    target.write_text(target.read_text().rstrip("\n") + "\n" + block)


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bundles: dict[str, Path] = {}

    def commit(self, name: str, parent: str, edit: Callable[[Path], None]) -> str:
        git(self.root, "checkout", "-q", "--detach", parent)
        edit(self.root)
        git(self.root, "commit", "-qam", name)
        git(self.root, "tag", name)
        return name


@pytest.fixture(scope="session")
def repo(tmp_path_factory) -> Repo:
    # Bundles are cached by git tree: the base side is synthesized once for all cases.
    os.environ["AIRLOCK_SYNTH_CACHE"] = str(tmp_path_factory.mktemp("synth-cache"))
    root = tmp_path_factory.mktemp("diff-repo") / "airlock"
    files = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files", "--cached", "--others", "--exclude-standard"], check=True, capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, files):
        source = PROJECT_DIR / name
        if source.is_file() and not name.startswith("tests/"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "tag", "base")
    made = Repo(root)
    made.commit("base-pinned", "base", lambda r: append_config(r, "dev", f"  airlock:images:\n    runtime: airlock/runtime:0.1.0@{DIGEST}\n"))
    made.commit("base-ask", "base", lambda r: replace(r, "agents/dev.yaml", "tools: []", "tools:\n  - {name: issue_refund, kind: python, target: 'tools:issue_refund', policy: ask}"))
    # gVisor is refused on platform aws (issue 11), so the isolation case runs on onprem.
    made.commit("base-gvisor", "base", lambda r: replace(r, "stacks/Pulumi.onprem.yaml", "  - name: default\n      egressAllowlist", "  - name: default\n      isolation: gvisor\n      egressAllowlist"))
    made.commit("base-secret", "base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "      description: Anthropic API key for the default route.\n", f"      description: Anthropic API key for the default route.\n      value:\n        secure: {SECRET_A}\n"))
    return made


def external_store(repo: Path) -> None:
    """onprem's in-cluster CloudNativePG store replaced by a server at a private address."""
    target = repo / "stacks" / "Pulumi.onprem.yaml"
    text = target.read_text()
    start, end = text.index("    store:\n"), text.index("    autoscaling:\n")
    target.write_text(text[:start] + "    store: {kind: postgresql, host: 10.20.0.15, passwordSecret: runtime-pg}\n" + text[end:])


# class -> (base tag, crafted change, the effect class the diff must report as broadening)
BROADENING: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "iam-actions": ("base", lambda r: replace(r, "components/aws/runtime_stores.py", '    "dynamodb:Query",\n', '    "dynamodb:Query",\n    "dynamodb:Scan",\n'), "iam"),
    "iam-conditions": ("base", lambda r: replace(r, "components/aws/endpoint_policies.py", 'conditions.setdefault("StringEquals", {})["aws:PrincipalAccount"] = account.id', "pass"), "endpoint-policy"),
    # dev ships `airlock:cluster` with an empty access path (issue 12): the cases fill it in.
    "security-group": ("base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "    endpointPublicAccessCidrs: []\n", "    endpointPublicAccessCidrs: []\n    endpointPrivateAccessCidrs: [10.99.0.0/16]\n"), "security-group"),
    # Documentation ranges (RFC 5737) are refused, so a public range stands in for the deployer's.
    "public-api-cidrs": ("base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "    endpointPublicAccessCidrs: []\n", "    endpointPublicAccessCidrs: [100.24.0.0/24]\n"), "public-api"),
    "network-policy": ("base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "egressAllowlist: [pypi.org, files.pythonhosted.org]", "egressAllowlist: [pypi.org, files.pythonhosted.org, 10.10.200.0/24]"), "network-policy"),
    "sandbox-allowlist": ("base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "egressAllowlist: [pypi.org, files.pythonhosted.org]", "egressAllowlist: [pypi.org, files.pythonhosted.org, github.com]"), "sandbox-allowlist"),
    "pod-security": ("base", lambda r: replace(r, "components/workloads/pod_security.py", '"readOnlyRootFilesystem": True,', '"readOnlyRootFilesystem": False,'), "pod-security"),
    "image-pinning": ("base-pinned", lambda r: replace(r, "stacks/Pulumi.dev.yaml", f"@{DIGEST}", ""), "image-pinning"),
    "secret-readers": ("base", lambda r: replace(r, "stacks/Pulumi.dev.yaml", "  airlock:sandboxes:\n", "    - name: github-token\n      description: Token for the code tools.\n  airlock:sandboxes:\n"), "secret-readers"),
    "agent-tools": ("base", lambda r: replace(r, "agents/dev.yaml", "tools: []", "tools:\n  - {name: lookup_order, kind: python, target: 'tools:lookup_order', policy: ask}"), "agent-tools"),
    "budgets": ("base", lambda r: replace(r, "agents/dev.yaml", "maxSteps: 20", "maxSteps: 80"), "budgets"),
    "approvals": ("base-ask", lambda r: replace(r, "agents/dev.yaml", "policy: ask}", "policy: allow}"), "approvals"),
    "sandbox-isolation": ("base-gvisor", lambda r: replace(r, "stacks/Pulumi.onprem.yaml", "      isolation: gvisor\n", ""), "sandbox-isolation"),
    # The runtime may now open connections to an address outside the cluster.
    "store-egress": ("base", external_store, "network-policy"),
}
# The stack each case diffs, where it is not dev.
CASE_STACK = {"sandbox-isolation": "onprem", "store-egress": "onprem"}


def _json_diff(repo: Repo, base: str, head: str, stack: str = "dev"):
    """In-process, through the functions the CLI calls (the CLI itself is tested below)."""
    from airlock.diff.command import run_diff
    from airlock.diff.render import render_json

    report = run_diff(repo.root, stack, base, head)
    return (3 if report.broadens else 0), json.loads(render_json(report))


@pytest.mark.parametrize("case", sorted(BROADENING))
def test_each_broadening_class_exits_3(case, repo):
    base, edit, area = BROADENING[case]
    head = repo.commit(f"case-{case}", base, edit)
    code, report = _json_diff(repo, base, head, CASE_STACK.get(case, "dev"))
    broadening = [e for c in report["changes"] for e in c["effects"] if e["effect"] == "broadening"]
    assert code == 3 and report["broadens"], report
    assert area in {e["class"] for e in broadening}, broadening


def test_rename_and_comment_only_changes_are_neutral(repo):
    def edit(root: Path) -> None:
        # A rename inside the program (a helper and its callers) and comments in the stack and agent files.
        replace(root, "components/workloads/pod_security.py", "def container_security_context(", "def restricted_container_context(")
        for path in (root / "components").rglob("*.py"):
            text = path.read_text()
            if "container_security_context" in text:
                path.write_text(text.replace("container_security_context", "restricted_container_context"))
        replace(root, "stacks/Pulumi.dev.yaml", "config:\n", "# reviewed by the platform team\nconfig:\n")
        replace(root, "agents/dev.yaml", "name: assistant", "# the assistant\nname: assistant")

    head = repo.commit("neutral", "base", edit)
    result = run_cli("diff", "dev", "--base", "base", "--head", head, "--project", str(repo.root), cwd=repo.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing broadens" in result.stdout
    assert "comments or formatting only" in result.stdout


def test_secret_value_change_shows_as_changed_never_its_value(repo):
    head = repo.commit("secret-rotated", "base-secret", lambda r: replace(r, "stacks/Pulumi.dev.yaml", SECRET_A, SECRET_B))
    for report_format in ("text", "markdown", "json"):
        result = run_cli("diff", "dev", "--base", "base-secret", "--head", head, "--format", report_format, "--project", str(repo.root), cwd=repo.root)
        assert result.returncode == 0, result.stderr
        assert "airlock:secrets[0].value" in result.stdout and "changed" in result.stdout
        for fragment in (SECRET_A, SECRET_B, "cipherOne", "cipherTwo"):
            assert fragment not in result.stdout + result.stderr


def test_markdown_fits_a_pull_request_comment(repo):
    head = repo.commit("md", "base", BROADENING["sandbox-allowlist"][1])
    result = run_cli("diff", "dev", "--base", "base", "--head", head, "--format", "markdown", "--project", str(repo.root), cwd=repo.root)
    assert result.returncode == 3
    text = result.stdout
    assert text.startswith("### `airlock diff dev`") and ":warning: **This change broadens access.**" in text
    assert "| BROADENS | sandbox-allowlist |" in text and "github.com" in text
    assert "<details><summary>All resource changes</summary>" in text and len(text) < 65536


def test_working_tree_is_untouched(repo):
    before = git(repo.root, "status", "--porcelain")
    head_before = git(repo.root, "rev-parse", "HEAD")
    run_cli("diff", "dev", "--base", "base", "--head", "case-budgets" if "case-budgets" in git(repo.root, "tag") else "base", "--project", str(repo.root), cwd=repo.root)
    assert git(repo.root, "status", "--porcelain") == before
    assert git(repo.root, "rev-parse", "HEAD") == head_before
    assert git(repo.root, "worktree", "list").count("\n") == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--base", "no-such-ref"], "git ref 'no-such-ref' does not name a commit"),
        (["--base", "base", "--format", "html"], "--format 'html' is not allowed; allowed: text, markdown, json"),
    ],
)
def test_bad_input_exits_2(args, message, repo):
    result = run_cli("diff", "dev", *args, "--project", str(repo.root), cwd=repo.root)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_outside_git_exits_2(tmp_path):
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(PROJECT_DIR / "__main__.py", tmp_path / "__main__.py")
    result = run_cli("diff", "dev", "--base", "main", "--project", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "not inside a git repository" in result.stderr
