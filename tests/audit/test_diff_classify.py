"""Classification details of `airlock diff`, on a real bundle and crafted copies of it
(in-process, no git): wildcard coverage, narrowing, neutral edits, secrets never shown."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from airlock.diff.compare import compare
from mutations import MUTATIONS, agent_spec, edit_policy, first, kind
from policy import AuditBundle


def _write(document: dict, directory: Path) -> AuditBundle:
    directory.mkdir(parents=True)
    (directory / "resources.json").write_text(json.dumps(document))
    return AuditBundle.from_directory(directory)


def _effects(bundle_dir, tmp_path, stack: str, mutate_base, mutate_head) -> list:
    document = json.loads((bundle_dir(stack) / "resources.json").read_text())
    base, head = copy.deepcopy(document), copy.deepcopy(document)
    mutate_base(base)
    mutate_head(head)
    changes = compare(_write(base, tmp_path / "base"), _write(head, tmp_path / "head"))
    return changes


def _nothing(document: dict) -> None:
    pass


def _statement(extra: dict):
    return lambda d: edit_policy(first(d, "aws:iam/rolePolicy:RolePolicy"), "policy", lambda p: p["Statement"].append({"Effect": "Allow", **extra}))


def test_a_grant_covered_by_an_old_wildcard_does_not_broaden(bundle_dir, tmp_path):
    wide = _statement({"Action": "dynamodb:*", "Resource": "*"})

    def both(d):
        wide(d)
        _statement({"Action": "dynamodb:Scan", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/x"})(d)

    changes = _effects(bundle_dir, tmp_path, "dev", wide, both)
    assert changes and all(c.effect != "broadening" for c in changes)
    changes = _effects(bundle_dir, tmp_path / "2", "dev", _nothing, wide)
    assert [c.effect for c in changes] == ["broadening"]


def test_tightening_is_narrowing(bundle_dir, tmp_path):
    def strict(d):
        agent_spec(d, lambda s: s["budgets"].__setitem__("maxSteps", 5))

    changes = _effects(bundle_dir, tmp_path, "dev", MUTATIONS["AIRLOCK-K8S-003"][1], strict)
    effects = {(e.area, e.effect) for c in changes for e in c.effects}
    assert ("pod-security", "narrowing") in effects and ("budgets", "narrowing") in effects
    assert all(c.effect != "broadening" for c in changes)


def test_kubernetes_secret_data_is_never_shown(bundle_dir, tmp_path):
    def secret_value(value):
        def mutate(d):
            obj = kind(d, "Secret")
            obj["stringData"] = {"api-key": value}

        return mutate

    changes = _effects(bundle_dir, tmp_path, "prod", secret_value("sk-old-123"), secret_value("sk-new-456"))
    text = json.dumps([c.as_dict() for c in changes])
    assert "changed (secret: value not shown)" in text
    assert "sk-old-123" not in text and "sk-new-456" not in text
