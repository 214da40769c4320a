"""The cases. Each one prepares its input in a fresh directory and names the command to run.

``expect`` is the exit status a careful CLI gives (2 for bad input; 0 for the few controls
that must still pass, so a fix that rejects everything is caught; 1 only where the CLI
documents it, e.g. a broken audit chain). ``mentions`` must appear in the output of a clean
rejection: the key path or the argument at fault.
"""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Case:
    id: str
    program: str  # "airlock" or "airlock-runtime"
    setup: Callable[[Path], list[str]]  # prepares files under the work dir, returns argv
    expect: int = 2
    mentions: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- stack files


def _stack(name: str) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{name}.yaml").read_text()))


def _project(work: Path) -> Path:
    project = work / "project"
    if not project.exists():
        project.mkdir()
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(PROJECT_DIR / name, project / name)
        shutil.copytree(PROJECT_DIR / "agents", project / "agents")
        (project / "stacks").mkdir()
    return project


def _validate_text(stack: str, text: str | bytes, command: str = "validate") -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        project = _project(work)
        target = project / "stacks" / f"Pulumi.{stack}.yaml"
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
        return [command, stack, "--project", str(project)]

    return setup


def _edit(stack: str, key: str, value: Any, *path: Any) -> Callable[[Path], list[str]]:
    """Set airlock:<key>[path...] = value in a shipped stack, then validate it."""
    document = _stack(stack)
    config = document["config"]
    full = key if ":" in key else f"airlock:{key}"
    if not path:
        config[full] = value
    else:
        target = config.setdefault(full, {})
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return _validate_text(stack, yaml.safe_dump(document, sort_keys=False))


def _drop(stack: str, key: str) -> Callable[[Path], list[str]]:
    document = _stack(stack)
    document["config"].pop(f"airlock:{key}", None)
    return _validate_text(stack, yaml.safe_dump(document, sort_keys=False))


BILLION_LAUGHS = "\n".join(
    ["config:", '  airlock:platform: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"  airlock:x{i}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(9)]
) + "\n"


def _stack_cases() -> list[Case]:
    cases: list[tuple[str, Callable[[Path], list[str]], tuple[str, ...]]] = []
    add = lambda i, setup, *m: cases.append((i, setup, m))  # noqa: E731

    # Booleans, strings, nulls and extremes where numbers belong.
    for key, path in [
        ("orchestrator", ("replicas",)),
        ("egressProxy", ("replicas",)),
        ("systemPool", ("minSize",)),
        ("systemPool", ("maxSize",)),
    ]:
        for label, value in [("true", True), ("false", False), ("neg", -1), ("huge", 10**12), ("text", "three"), ("float", 1.5), ("inf", float("inf")), ("nan", float("nan")), ("list", [1]), ("null", None)]:
            # null means "the default" where the schema has one decided later (systemPool; the
            # orchestrator's replicas follow its store: 1 on sqlite, 2 on a shared store).
            if label == "null" and key in ("systemPool", "orchestrator"):
                continue
            add(f"stack-{key}-{path[-1]}-{label}", _edit("dev", key, value, *path), f"airlock:{key}.{path[-1]}")
    add("stack-sandbox-replicas-true", _edit("dev", "sandboxes", [{"name": "default", "replicas": True}]), "airlock:sandboxes[0].replicas")
    add("stack-sandbox-replicas-zero-string", _edit("dev", "sandboxes", [{"name": "default", "replicas": "0x10"}]), "airlock:sandboxes[0].replicas")
    prod = _stack("prod")["config"]
    models = copy.deepcopy(prod["airlock:models"])
    models[0]["tensorParallelSize"] = True
    add("stack-models-tp-true", _edit("prod", "models", models), "airlock:models[0].tensorParallelSize")
    models = copy.deepcopy(prod["airlock:models"])
    models[0]["maxModelLen"] = float("inf")
    add("stack-models-maxlen-inf", _edit("prod", "models", models), "airlock:models[0].maxModelLen")
    # Shapes.
    add("stack-network-null", _edit("dev", "network", None), "airlock:network")
    add("stack-network-list", _edit("dev", "network", ["10.0.0.0/16"]), "airlock:network")
    add("stack-network-string", _edit("dev", "network", "10.0.0.0/16"), "airlock:network")
    add("stack-orchestrator-string", _edit("dev", "orchestrator", "big"), "airlock:orchestrator")
    add("stack-sandboxes-dict", _edit("dev", "sandboxes", {"name": "x"}), "airlock:sandboxes")
    add("stack-tags-list", _edit("dev", "tags", ["a"]), "airlock:tags")
    add("stack-tags-null", _edit("dev", "tags", None), "airlock:tags")
    add("stack-platform-null", _edit("dev", "platform", None), "airlock:platform")
    add("stack-platform-gcp", _edit("dev", "platform", "gcp"), "airlock:platform")
    add("stack-platform-number", _edit("dev", "platform", 7), "airlock:platform")
    add("stack-profile-bogus", _edit("dev", "profile", "offline"), "airlock:profile")
    add("stack-unknown-key", _edit("dev", "frobnicate", 1), "airlock:frobnicate")
    add("stack-typo-namespace", _edit("dev", "airlok:platform", "aws"), "airlok:platform")
    add("stack-platform-missing", _drop("dev", "platform"), "airlock:platform")
    # Tags.
    add("stack-tag-aws-prefix", _edit("dev", "tags", {"aws:cloudformation:stack-name": "x"}), "airlock:tags")
    add("stack-tag-aws-prefix-upper", _edit("dev", "tags", {"AWS:owner": "x"}), "airlock:tags")
    add("stack-tag-empty-key", _edit("dev", "tags", {"": "x"}), "airlock:tags")
    add("stack-tag-long-key", _edit("dev", "tags", {"k" * 200: "x"}), "airlock:tags")
    add("stack-tag-long-value", _edit("dev", "tags", {"k": "v" * 300}), "airlock:tags")
    add("stack-tag-value-list", _edit("dev", "tags", {"k": ["v"]}), "airlock:tags")
    add("stack-tag-value-null", _edit("dev", "tags", {"k": None}), "airlock:tags")
    # Networks.
    for label, value in [("v6", "::1/128"), ("wide", "10.0.0.0/8"), ("text", "ten"), ("true", True), ("hostbits", "10.10.0.1/16"), ("public", "8.8.0.0/16")]:
        add(f"stack-vpc-cidr-{label}", _edit("dev", "network", value, "vpcCidr"), "airlock:network.vpcCidr")
    add("stack-azs-string", _edit("dev", "network", "us-east-1a", "availabilityZones"), "airlock:network.availabilityZones")
    add("stack-azs-number", _edit("dev", "network", [1], "availabilityZones"), "airlock:network.availabilityZones")
    add("stack-nat-bogus", _edit("dev", "network", "many", "natGateways"), "airlock:network.natGateways")
    # Sandbox egress, every spelling of a forbidden range.
    for label, entry in [
        ("all-v4", "0.0.0.0/0"), ("imds", "169.254.169.254/32"), ("mapped-all", "::ffff:0:0/96"),
        ("mapped-imds", "::ffff:169.254.169.254/128"), ("mapped-loopback", "::ffff:127.0.0.1/128"),
        ("nat64-imds", "64:ff9b::a9fe:a9fe/128"), ("6to4-imds", "2002:a9fe:a9fe::/48"), ("v6-all", "::/0"),
        ("v6-linklocal", "fe80::/64"), ("cgnat", "100.64.0.0/10"), ("star", "*"), ("empty", ""),
        ("number", 123), ("hostbits", "10.1.2.3/8"), ("v6-imds", "fd00:ec2::254/128"), ("compat-imds", "::a9fe:a9fe/128"),
    ]:
        add(f"stack-egress-{label}", _edit("dev", "sandboxes", [{"name": "default", "egressAllowlist": [entry]}]), "airlock:sandboxes[0].egressAllowlist")
    add("stack-egress-string", _edit("dev", "sandboxes", [{"name": "default", "egressAllowlist": "pypi.org"}]), "airlock:sandboxes[0].egressAllowlist")
    # Cloud model URLs.
    dev_cloud = _stack("dev")["config"]["airlock:cloudModels"]
    for label, url in [
        ("linklocal", "https://169.254.169.254/v1"), ("linklocal-hex", "https://0xa9fea9fe/v1"), ("linklocal-v6", "https://[fe80::1]/v1"),
        ("loopback", "https://127.0.0.1/v1"), ("port-huge", "https://api.anthropic.com:99999/v1"), ("port-zero", "https://api.anthropic.com:0/v1"),
        ("http", "http://api.anthropic.com/v1"), ("empty", ""), ("spaces", "https://api anthropic.com/"), ("userinfo", "https://u:p@api.anthropic.com/"),
    ]:
        models = copy.deepcopy(dev_cloud)
        models[0]["baseUrl"] = url
        add(f"stack-cloud-baseurl-{label}", _edit("dev", "cloudModels", models), "airlock:cloudModels[0].baseUrl")
    # Airgapped promises.
    add("stack-airgap-cloud-model", _edit("airgap", "cloudModels", dev_cloud), "airlock:cloudModels[0]")
    add("stack-airgap-collector-decimal", _edit("airgap", "observability", {"exporter": "otlphttp", "endpoint": "http://134744072:4318"}), "airlock:observability.endpoint")
    add("stack-airgap-collector-hex", _edit("airgap", "observability", {"exporter": "otlphttp", "endpoint": "http://0x08080808:4318"}), "airlock:observability.endpoint")
    add("stack-observability-port", _edit("dev", "observability", {"exporter": "otlphttp", "endpoint": "https://o.example.com:70000"}), "airlock:observability.endpoint")
    add("stack-observability-no-endpoint", _edit("dev", "observability", {"exporter": "otlp"}), "airlock:observability")
    # The agent spec the orchestrator runs.
    for label, spec in [("parent", "../agents/dev.yaml"), ("absolute", "/etc/hostname.yaml"), ("dotdot", "agents/../../outside.yaml"), ("missing", "agents/missing.yaml"), ("not-yaml", "agents/dev.txt"), ("empty", "")]:
        add(f"stack-agentspec-{label}", _edit("dev", "orchestrator", spec, "agentSpec"), "airlock:orchestrator.agentSpec")
    # Secrets.
    add("stack-secrets-duplicate", _edit("dev", "secrets", [{"name": "anthropic-api-key"}, {"name": "anthropic-api-key"}]), "airlock:secrets")
    add("stack-secrets-empty-name", _edit("dev", "secrets", [{"name": ""}]), "airlock:secrets[0].name")
    add("stack-secrets-null", _edit("dev", "secrets", [None]), "airlock:secrets[0]")
    # Whole files.
    dev_text = (PROJECT_DIR / "stacks" / "Pulumi.dev.yaml").read_text()
    add("file-duplicate-top-key", _validate_text("dev", dev_text.replace("  airlock:profile: cloud\n", "  airlock:profile: cloud\n  airlock:profile: hybrid\n")), "duplicate key")
    add("file-duplicate-nested-key", _validate_text("dev", dev_text.replace("    replicas: 1\n", "    replicas: 1\n    replicas: 2\n", 1)), "duplicate key")
    add("file-alias-bomb", _validate_text("dev", BILLION_LAUGHS), "expands to more than")
    add("file-deep-nesting", _validate_text("dev", "config:\n  airlock:tags: " + "[" * 20000 + "]" * 20000 + "\n"), "nested more than")
    add("file-binary", _validate_text("dev", bytes(range(256)) * 4), "not UTF-8")
    add("file-utf16", _validate_text("dev", dev_text.encode("utf-16")), "not UTF-8")
    add("file-nul", _validate_text("dev", dev_text.replace("cloud", "cl\x00oud")), "Pulumi.dev.yaml")
    add("file-huge", _validate_text("dev", "config:\n  airlock:platform: aws\n#" + "x" * (2 * 1024 * 1024) + "\n"), "limit")
    add("file-empty-config-list", _validate_text("dev", "config: [1, 2]\n"), "config")
    add("file-top-list", _validate_text("dev", "- a\n- b\n"), "config")
    add("file-scalar", _validate_text("dev", "just text\n"), "config")
    add("file-broken-yaml", _validate_text("dev", "config:\n  airlock:platform: [aws\n"), "YAML")
    add("file-tab-indent", _validate_text("dev", "config:\n\tairlock:platform: aws\n"), "YAML")
    add("file-python-tag", _validate_text("dev", "config:\n  airlock:platform: !!python/object/apply:os.system [echo]\n"), "YAML")
    add("file-undefined-alias", _validate_text("dev", "config:\n  airlock:platform: *nope\n"), "YAML")
    add("file-non-string-key", _validate_text("dev", "config:\n  ? [a, b]\n  : 1\n"), "config")
    add("file-empty", _validate_text("dev", ""), "airlock:platform")
    add("synth-file-utf16", _validate_text("dev", dev_text.encode("utf-16"), "synth"), "not UTF-8")
    add("synth-alias-bomb", _validate_text("dev", BILLION_LAUGHS, "synth"), "expands to more than")
    out = [Case(i, "airlock", setup, 2, mentions) for i, setup, mentions in cases]
    # Controls: valid input must still pass (a UTF-8 BOM, and an untouched stack).
    # The controls name the network they deploy from: without one `validate` refuses dev (issue 12).
    deployable = dev_text.replace("endpointPublicAccessCidrs: []", "endpointPublicAccessCidrs: [198.18.7.0/28]")
    out.append(Case("control-stack-bom", "airlock", _validate_text("dev", "\ufeff" + deployable), 0))
    out.append(Case("control-stack-dev", "airlock", _validate_text("dev", deployable), 0))
    return out


# --------------------------------------------------------------------------- CLI arguments (airlock)


def _airlock_args() -> list[Case]:
    def args(*argv: str, files: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
        def setup(work: Path) -> list[str]:
            if files:
                files(work)
            return [a.replace("{work}", str(work)).replace("{project}", str(PROJECT_DIR)) for a in argv]

        return setup

    def foreign(work: Path) -> None:
        (work / "mine").mkdir()
        (work / "mine" / "notes.txt").write_text("keep")

    def a_file(work: Path) -> None:
        (work / "file.txt").write_text("keep")

    return [
        Case("args-synth-out-foreign-dir", "airlock", args("synth", "dev", "--project", "{project}", "--out", "{work}/mine", files=foreign), 2, ("--out",)),
        Case("args-synth-out-file", "airlock", args("synth", "dev", "--project", "{project}", "--out", "{work}/file.txt", files=a_file), 2, ("--out",)),
        # Never the real project as --out: on a synth that deletes what it did not write this
        # case destroys its target (it did, on the code before issue 13), so it gets a copy.
        Case("args-synth-out-project", "airlock", args("synth", "dev", "--project", "{work}/project", "--out", "{work}/project", files=_project), 2, ("--out",)),
        Case("args-synth-out-proc", "airlock", args("synth", "dev", "--project", "{project}", "--out", "/proc/airlock-x"), 2, ("--out",)),
        Case("args-stack-traversal", "airlock", args("validate", "../stacks/Pulumi.dev", "--project", "{project}"), 2, ("stack",)),
        Case("args-stack-empty", "airlock", args("validate", "", "--project", "{project}"), 2, ("stack",)),
        Case("args-stack-slash", "airlock", args("validate", "a/b", "--project", "{project}"), 2, ("stack",)),
        Case("args-stack-unknown", "airlock", args("validate", "production", "--project", "{project}"), 2, ("production",)),
        Case("args-project-missing", "airlock", args("validate", "dev", "--project", "{work}/nope"), 2, ("--project",)),
        Case("args-project-file", "airlock", args("validate", "dev", "--project", "{work}/file.txt", files=a_file), 2, ("--project",)),
        Case("args-unknown-option", "airlock", args("synth", "dev", "--frobnicate"), 2),
        Case("args-no-stack", "airlock", args("synth"), 2),
    ]


# --------------------------------------------------------------------------- agent specs


BASE_SPEC: dict[str, Any] = {
    "name": "corpus",
    "instructions": "Answer.",
    "models": {"default": {"provider": "openai", "baseUrl": "http://127.0.0.1:9/v1", "model": "m", "prices": {"input": 0, "output": 0}}},
    "tools": [],
}


def _spec_setup(text: str | bytes, *, task: str = "t", extra: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        path = work / "agent.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return ["run", "--agent", str(path), "--task", task, "--state", str(work / "state"), *extra]

    return setup


def _spec(edit: Callable[[dict[str, Any]], None]) -> str:
    document = copy.deepcopy(BASE_SPEC)
    edit(document)
    return yaml.safe_dump(document, sort_keys=False)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value

    return edit


def _spec_cases() -> list[Case]:
    cases: list[Case] = []

    def add(i: str, text: str | bytes, *mentions: str, env: dict[str, str] | None = None, **kw: Any) -> None:
        cases.append(Case(i, "airlock-runtime", _spec_setup(text, **kw), 2, mentions, env or {}))

    for key in ("maxSteps", "maxInputTokens", "maxOutputTokens", "maxCostUsd", "maxSeconds"):
        for label, value in [("true", True), ("neg", -1), ("inf", float("inf")), ("nan", float("nan")), ("text", "lots"), ("list", [1])]:
            add(f"spec-budgets-{key}-{label}", _spec(_set(("budgets", key), value)), f"budgets.{key}")
    route = ("models", "default")
    for label, value in [("true", True), ("huge", 10**9), ("zero", 0)]:
        add(f"spec-maxtokens-{label}", _spec(_set((*route, "maxTokens"), value)), "maxTokens")
    for label, value in [("true", True), ("nan", float("nan")), ("big", 3)]:
        add(f"spec-temperature-{label}", _spec(_set((*route, "temperature"), value)), "temperature")
    add("spec-maxretries-true", _spec(_set((*route, "maxRetries"), True)), "maxRetries")
    add("spec-timeout-inf", _spec(_set((*route, "timeoutSeconds"), float("inf"))), "timeoutSeconds")
    for label, url in [("port-huge", "http://127.0.0.1:99999/v1"), ("port-zero", "http://127.0.0.1:0/v1"), ("ftp", "ftp://h/v1"), ("empty", ""), ("bracket", "http://[::1/v1"), ("nohost", "http:///v1")]:
        add(f"spec-baseurl-{label}", _spec(_set((*route, "baseUrl"), url)), "baseUrl")
    for label, url in [("decimal", "http://134744072:80/v1"), ("hex", "http://0x08080808/v1"), ("octal", "http://010.010.010.010/v1"), ("mapped", "http://[::ffff:8.8.8.8]/v1"), ("public", "https://api.openai.com/v1")]:
        add(f"spec-airgap-baseurl-{label}", _spec(_set((*route, "baseUrl"), url)), "baseUrl", env={"AIRLOCK_PROFILE": "airgapped"})
    add("spec-airgap-webhook", _spec(_set(("approvals", "webhookUrl"), "http://0xa9fea9fe/hook")), "webhookUrl", env={"AIRLOCK_PROFILE": "airgapped"})
    add("spec-airgap-otlp", _spec(_set(("telemetry", "otlpEndpoint"), "http://134744072:4318")), "otlpEndpoint", env={"AIRLOCK_PROFILE": "airgapped"})
    add("env-airgap-otel-endpoint", _spec(lambda d: None), "OTEL_EXPORTER_OTLP_ENDPOINT", env={"AIRLOCK_PROFILE": "airgapped", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com"})
    add("env-airgap-otel-traces", _spec(lambda d: None), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env={"AIRLOCK_PROFILE": "airgapped", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://134744072:4318/v1/traces"})
    add("env-airgap-https-proxy", _spec(lambda d: None), "HTTPS_PROXY", env={"AIRLOCK_PROFILE": "airgapped", "HTTPS_PROXY": "http://proxy.example.com:3128"})
    add("env-profile-bogus", _spec(lambda d: None), "AIRLOCK_PROFILE", env={"AIRLOCK_PROFILE": "offline"})
    add("spec-models-empty", _spec(_set(("models",), {})), "models")
    add("spec-models-null", _spec(_set(("models",), None)), "models")
    add("spec-default-null", _spec(_set(route, None)), "models.default")
    add("spec-name-empty", _spec(_set(("name",), "")), "name")
    add("spec-name-null", _spec(_set(("name",), None)), "name")
    add("spec-name-number", _spec(_set(("name",), 5)), "name")
    add("spec-instructions-null", _spec(_set(("instructions",), None)), "instructions")
    add("spec-tools-null", _spec(_set(("tools",), None)), "tools")
    add("spec-tool-missing-module", _spec(_set(("tools",), [{"name": "x", "kind": "python", "target": "nope_module:fn", "policy": "allow"}])), "tools[0]")
    add("spec-tool-bad-target", _spec(_set(("tools",), [{"name": "x", "kind": "python", "target": "no-colon", "policy": "allow"}])), "tools[0]")
    add("spec-tool-empty-name", _spec(_set(("tools",), [{"name": "", "kind": "python", "target": "m:f", "policy": "allow"}])), "tools[0].name")
    add("spec-tool-bad-policy", _spec(_set(("tools",), [{"name": "x", "kind": "python", "target": "m:f", "policy": "maybe"}])), "tools[0].policy")
    add("spec-secret-bad-source", _spec(_set(("secrets",), [{"name": "k", "from": "bogus:x"}])), "secrets[0]")
    add("spec-secret-env-unset", _spec(_set(("secrets",), [{"name": "k", "from": "env:AIRLOCK_CORPUS_UNSET"}])), "AIRLOCK_CORPUS_UNSET")
    add("spec-secret-empty-env", _spec(_set(("secrets",), [{"name": "k", "from": "env:"}])), "secrets[0]")
    add("spec-unknown-key", _spec(_set(("frobnicate",), 1)), "frobnicate")
    add("spec-telemetry-bad", _spec(_set(("telemetry", "otlpEndpoint"), "not a url")), "otlpEndpoint")
    base = yaml.safe_dump(BASE_SPEC, sort_keys=False)
    add("spec-duplicate-key", base.replace("name: corpus\n", "name: corpus\nname: other\n"), "duplicate key")
    add("spec-alias-bomb", BILLION_LAUGHS.replace("config:", "name: x\ninstructions: y\nmodels:").replace("airlock:", ""), "expands to more than")
    add("spec-deep-nesting", "name: " + "[" * 20000 + "]" * 20000 + "\n", "nested more than")
    add("spec-binary", bytes(range(256)) * 4, "agent.yaml")
    add("spec-utf16", base.encode("utf-16"), "agent.yaml")
    add("spec-nul", base.replace("corpus", "cor\x00pus"), "agent.yaml")
    add("spec-empty", "", "agent.yaml")
    add("spec-list", "- a\n", "agent.yaml")
    add("spec-huge", base + "#" + "x" * (2 * 1024 * 1024) + "\n", "agent.yaml")
    add("args-task-empty", base, "--task", task="")
    add("args-task-blank", base, "--task", task="   ")
    cases.append(Case("control-spec", "airlock-runtime", _spec_setup(base, extra=("--json",)), 0))
    return cases


# --------------------------------------------------------------------------- runtime CLI and damaged state


def _make_state(work: Path) -> Path:
    """A real state directory (database and one audit record), made through the store and
    audit APIs exactly as the runtime makes it; the cases then damage it."""
    import sys

    sys.path.insert(0, str(PROJECT_DIR))
    from runtime.audit import AuditLog
    from runtime.store import Store

    state = work / "state"
    store = Store(state, create=True)
    audit = AuditLog(state / "audit")
    store.record_audit_head(audit.append("corpus", {"note": "a record"}))
    audit.close()
    store.close()
    return state


def _runtime_cases() -> list[Case]:
    def with_state(argv: list[str], damage: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
        def setup(work: Path) -> list[str]:
            state = _make_state(work)
            if damage:
                damage(state)
            return [a.replace("{state}", str(state)).replace("{work}", str(work)) for a in argv]

        return setup

    def zero(state: Path) -> None:
        for name in ("airlock.db-wal", "airlock.db-shm"):
            (state / name).unlink(missing_ok=True)
        (state / "airlock.db").write_bytes(b"")

    def garbage(state: Path) -> None:
        zero(state)
        (state / "airlock.db").write_bytes(b"garbage" * 1000)

    def foreign(state: Path) -> None:
        zero(state)
        (state / "airlock.db").unlink()
        with sqlite3.connect(state / "airlock.db") as db:
            db.execute("CREATE TABLE t (x)")

    def removed(state: Path) -> None:
        zero(state)
        (state / "airlock.db").unlink()

    def audit_dir(state: Path) -> None:
        (state / "audit" / "audit.jsonl").unlink()
        (state / "audit" / "audit.jsonl").mkdir()

    def schema(state: Path) -> None:
        with sqlite3.connect(state / "airlock.db") as db:
            db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")

    def fingerprints(state: Path) -> None:
        (state / "secret-fingerprints.json").write_text("{not json")

    def audit_garbage(state: Path) -> None:
        with open(state / "audit" / "audit.jsonl", "a") as fh:
            fh.write("not json\n")

    def state_file(work: Path) -> None:
        (work / "statefile").write_text("x")

    spec = yaml.safe_dump(BASE_SPEC, sort_keys=False)

    def run_on(damage: Callable[[Path], None]) -> Callable[[Path], list[str]]:
        def setup(work: Path) -> list[str]:
            state = _make_state(work)
            damage(state)
            (work / "agent.yaml").write_text(spec)
            return ["run", "--agent", str(work / "agent.yaml"), "--task", "t", "--state", str(state)]

        return setup

    def plain(argv: list[str], files: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
        def setup(work: Path) -> list[str]:
            if files:
                files(work)
            return [a.replace("{work}", str(work)) for a in argv]

        return setup

    R = "airlock-runtime"
    return [
        Case("rt-kill-empty-id", R, with_state(["kill", "", "--state", "{state}"]), 2, ("TASK_ID",)),
        Case("rt-kill-blank-id", R, with_state(["kill", "  ", "--state", "{state}"]), 2, ("TASK_ID",)),
        Case("rt-kill-unknown-id", R, with_state(["kill", "nope", "--state", "{state}"]), 2, ("nope",)),
        Case("rt-kill-clear-with-id", R, with_state(["kill", "x", "--clear", "--state", "{state}"]), 2, ("--clear",)),
        Case("rt-resume-empty-id", R, with_state(["resume", "", "--state", "{state}"]), 2, ("TASK_ID",)),
        Case("rt-status-empty-id", R, with_state(["status", "", "--state", "{state}"]), 2, ("TASK_ID",)),
        Case("rt-status-unknown", R, with_state(["status", "nope", "--state", "{state}"]), 2, ("nope",)),
        Case("rt-decide-empty-id", R, with_state(["approvals", "decide", "", "approve", "--state", "{state}"]), 2, ("APPROVAL_ID",)),
        Case("rt-decide-unknown", R, with_state(["approvals", "decide", "nope", "approve", "--state", "{state}"]), 2, ("nope",)),
        Case("rt-decide-bad-verb", R, with_state(["approvals", "decide", "x", "maybe", "--state", "{state}"]), 2, ("maybe",)),
        Case("rt-state-missing", R, plain(["status", "x", "--state", "{work}/nope"]), 2, ("--state",)),
        Case("rt-state-is-file", R, plain(["status", "x", "--state", "{work}/statefile"], state_file), 2, ("--state",)),
        Case("rt-audit-verify-nothing", R, plain(["audit", "verify", "--state", "{work}/nope"]), 2, ("--state",)),
        Case("rt-unknown-command", R, plain(["frobnicate"]), 2),
        Case("rt-run-missing-spec", R, plain(["run", "--agent", "{work}/none.yaml", "--task", "t", "--state", "{work}/s"]), 2, ("--agent",)),
        Case("rt-run-spec-is-dir", R, plain(["run", "--agent", "{work}", "--task", "t", "--state", "{work}/s"]), 2, ("--agent",)),
        Case("state-zero-byte-status", R, with_state(["status", "x", "--state", "{state}"], zero), 2, ("0 bytes",)),
        Case("state-zero-byte-list", R, with_state(["approvals", "list", "--state", "{state}"], zero), 2, ("0 bytes",)),
        Case("state-zero-byte-kill", R, with_state(["kill", "--state", "{state}"], zero), 2, ("0 bytes",)),
        Case("state-zero-byte-run", R, run_on(zero), 2, ("0 bytes",)),
        Case("state-garbage-db", R, with_state(["approvals", "list", "--state", "{state}"], garbage), 2, ("not an SQLite database",)),
        Case("state-foreign-db", R, with_state(["approvals", "list", "--state", "{state}"], foreign), 2, ("not an Airlock state database",)),
        Case("state-db-removed-run", R, run_on(removed), 2, ("no airlock.db",)),
        Case("state-schema-99", R, with_state(["approvals", "list", "--state", "{state}"], schema), 2, ("schema version",)),
        Case("state-audit-unwritable-kill", R, with_state(["kill", "--state", "{state}"], audit_dir), 2, ("audit log",)),
        Case("state-fingerprints-damaged", R, run_on(fingerprints), 2, ("secret-fingerprints.json",)),
        # Documented: a broken chain is exit 1 from `audit verify` (a finding, not bad input).
        Case("state-audit-chain-broken", R, with_state(["audit", "verify", "--state", "{state}"], audit_garbage), 1, ("audit chain broken",)),
        Case("control-kill-all", R, with_state(["kill", "--state", "{state}"]), 0),
    ]


def all_cases() -> list[Case]:
    return _stack_cases() + _airlock_args() + _spec_cases() + _runtime_cases()
