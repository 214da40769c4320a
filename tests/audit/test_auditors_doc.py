"""docs/auditors.md carries the rule table generated from the code, and stays current."""

from policy.doc import rule_table, with_table
from policy.rules import RULES
from support import PROJECT_DIR


def test_rule_table_is_current():
    current = (PROJECT_DIR / "docs" / "auditors.md").read_text()
    assert current == with_table(current), "docs/auditors.md is stale: run `python -m policy.doc --write docs/auditors.md`"
    for rule in RULES:
        assert f"`{rule.id}`" in current


def test_table_has_one_row_per_rule_with_its_mirrors():
    rows = [line for line in rule_table().splitlines() if line.startswith("| <a id=")]
    assert len(rows) == len(RULES)
    assert any("CKV_AWS_58" in row and "AIRLOCK-EKS-003" in row for row in rows)
