"""The CrossGuard pack tested the way the Pulumi engine uses it, without the CLI: run
policy/__main__.py as a subprocess, read the port it prints, call the Analyzer gRPC service
with Analyze (one request per synthesized resource) and AnalyzeStack (all of them), and
check its violations equal `airlock audit`'s findings for the same bundle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mutations import MUTATIONS
from policy import AuditBundle, run_rules
from policy.crossguard import violation_text
from policy.rules import RULES
from reports import mutated_bundle
from support import PROJECT_DIR


@pytest.fixture(scope="module")
def analyzer():
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "policy" / "__main__.py")],
        cwd=PROJECT_DIR / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        line = process.stdout.readline().decode().strip()
        assert line.isdigit(), f"the pack printed {line!r}; stderr: {process.stderr.read1().decode() if process.poll() is not None else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _urn(stack: str, resource: dict) -> str:
    return f"urn:pulumi:{stack}::airlock::{resource['type']}::{resource['name']}"


def _struct(inputs: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(inputs, struct_pb2.Struct())


def _pack_violations(stub, directory: Path) -> set[tuple[str, str, str]]:
    document = json.loads((directory / "resources.json").read_text())
    stack = document["stack"]
    found: set[tuple[str, str, str]] = set()
    for resource in document["resources"]:
        urn = _urn(stack, resource)
        request = analyzer_pb2.AnalyzeRequest(type=resource["type"], properties=_struct(resource["inputs"]), urn=urn, name=resource["name"])
        for diagnostic in stub.Analyze(request).diagnostics:
            found.add((diagnostic.policyName, urn, diagnostic.message.split("\n", 1)[1]))
    stack_request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(type=r["type"], properties=_struct(r["inputs"]), urn=_urn(stack, r), name=r["name"])
            for r in document["resources"]
        ]
    )
    for diagnostic in stub.AnalyzeStack(stack_request).diagnostics:
        found.add((diagnostic.policyName, diagnostic.urn, diagnostic.message.split("\n", 1)[1]))
    return found


def _audit_findings(directory: Path) -> set[tuple[str, str, str]]:
    bundle = AuditBundle.from_directory(directory)
    return {
        (f.rule_id, f"urn:pulumi:{bundle.stack}::airlock::{f.resource_type}::{f.resource_name}", violation_text(f.label, f.path, f.message))
        for f in run_rules(bundle)
    }


def test_pack_describes_every_rule(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "airlock"
    assert sorted(p.name for p in info.policies) == sorted(rule.id for rule in RULES)
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["AIRLOCK-K8S-001"] == analyzer_pb2.MANDATORY and levels["AIRLOCK-K8S-007"] == analyzer_pb2.ADVISORY


def _combine(*mutations):
    def mutate(document):
        for m in mutations:
            m(document)

    return mutate


CASES = {
    # prod as shipped has resource-level (digests, root device plugin) and stack-level
    # (NetworkPolicy coverage) findings; add a state-changing tool and a sandbox Secret.
    "prod": ("prod", _combine(MUTATIONS["AIRLOCK-AGT-003"][1], MUTATIONS["AIRLOCK-SBX-010"][1], MUTATIONS["AIRLOCK-IAM-001"][1])),
    # airgap: the profile comes from the orchestrator's environment in the pack.
    "airgap": ("airgap", _combine(MUTATIONS["AIRLOCK-AGT-004"][1], MUTATIONS["AIRLOCK-NET-005"][1], MUTATIONS["AIRLOCK-S3-001"][1])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_pack_violations_equal_audit_findings(case, analyzer, bundle_dir, tmp_path):
    stack, mutate = CASES[case]
    directory = mutated_bundle(bundle_dir(stack), tmp_path, mutate)
    expected = _audit_findings(directory)
    rules_hit = {rule for rule, _, _ in expected}
    assert {"AIRLOCK-K8S-004", "AIRLOCK-K8S-018"} <= rules_hit  # both policy kinds are exercised
    assert _pack_violations(analyzer, directory) == expected
