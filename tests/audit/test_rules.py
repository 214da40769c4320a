"""Every rule has a passing fixture (a shipped stack's real bundle) and a violating one (that
bundle with one crafted change), and the rule set stays what docs/auditors.md promises."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mutations import MORE_MUTATIONS, MUTATIONS, PREPARE
from policy import AuditBundle, run_rules
from policy.rules import RULES, RULES_BY_ID

AREAS = {"EKS", "NET", "S3", "KMS", "IAM", "ECR", "SM", "K8S", "SBX", "AGT"}


def _bundle(tmp_path: Path, base: Path, mutate=None) -> AuditBundle:
    document = json.loads((base / "resources.json").read_text())
    if mutate is not None:
        document = copy.deepcopy(document)
        mutate(document)
    out = tmp_path / "bundle"
    out.mkdir(parents=True)
    (out / "resources.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    return AuditBundle.from_directory(out)


def test_rule_set_covers_every_area_with_stable_unique_ids():
    assert len(RULES) >= 40
    assert {rule.area for rule in RULES} == AREAS
    for rule in RULES:
        assert rule.id.startswith("AIRLOCK-") and rule.id.split("-")[2].isdigit() and len(rule.id.split("-")[2]) == 3
        assert rule.severity in ("high", "medium", "low") and rule.title and len(rule.rationale) > 40


def test_every_rule_has_a_violating_fixture():
    assert sorted(MUTATIONS) == sorted(RULES_BY_ID)


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_rule_passes_real_bundle_and_fails_mutated_one(rule_id, bundle_dir, tmp_path):
    rule = RULES_BY_ID[rule_id]
    stack, mutate = MUTATIONS[rule_id]
    base = bundle_dir(stack)
    prepare = PREPARE.get(rule_id, lambda doc: None)

    def violate(doc) -> None:
        prepare(doc)
        mutate(doc)

    clean = run_rules(_bundle(tmp_path / "clean", base, prepare), (rule,))
    assert clean == [], f"{rule_id} fires on the unmodified {stack} bundle: {clean}"
    violated = run_rules(_bundle(tmp_path / "bad", base, violate), (rule,))
    assert violated, f"{rule_id} misses its violating fixture"
    assert all(f.rule_id == rule_id and f.message for f in violated)


@pytest.mark.parametrize("rule_id,stack,mutate", MORE_MUTATIONS, ids=[m[0] for m in MORE_MUTATIONS])
def test_second_way_to_violate(rule_id, stack, mutate, bundle_dir, tmp_path):
    violated = run_rules(_bundle(tmp_path, bundle_dir(stack), mutate), (RULES_BY_ID[rule_id],))
    assert violated


def test_findings_name_the_resource_and_property_path(bundle_dir, tmp_path):
    _, mutate = MUTATIONS["AIRLOCK-K8S-001"]
    [finding] = run_rules(_bundle(tmp_path, bundle_dir("dev"), mutate), (RULES_BY_ID["AIRLOCK-K8S-001"],))
    assert finding.label == "Deployment airlock-orchestrator/orchestrator"
    assert finding.path == "spec.template.spec.containers[0].securityContext.privileged"
