"""Property tests: generated mutations of valid stack files and agent specs either pass
(and a passing stack synthesizes) or are refused as bad input naming a key path. Never a
traceback, never an internal error, never a partial bundle.

In-process (the loader, the spec parser, the synth function the CLI calls) so that many
examples fit in a few seconds; max_examples is small and no deadline is asserted, so CI
time stays bounded and never races a timer.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.synth.run import synthesize
from components.config.errors import ConfigError
from components.config.loader import flatten, load
from runtime.spec import SpecError, parse_spec
from support import PROJECT_DIR, make_project, stack_document

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

# What a careless or hostile edit may put anywhere in a document.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "0", "true", "null", "::ffff:0:0/96", "http://0x08080808/v1", "aws:x", "../x.yaml", "a" * 300]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a document (mapping keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any], root: tuple = ()) -> tuple[dict[str, Any], str]:
    doc = copy.deepcopy(document)
    base = doc
    for part in root:
        base = base[part]
    path = draw(st.sampled_from(_paths(base)))
    parent = base
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add-key"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "add-key" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["replica", "frobnicate", "Name", "aws:x"]))] = draw(VALUES)
    else:
        parent[path[-1]] = draw(VALUES)
    return doc, "/".join(map(str, path))


_synthesized = {"count": 0}
MAX_SYNTHS = 4  # a synth costs ~2 s; the passing examples beyond these are validated only


def _check_stack(stack: str, document: dict[str, Any]) -> None:
    try:
        load(flatten(document["config"]), stack, PROJECT_DIR)
    except ConfigError as error:
        assert error.issues, "a ConfigError must list its issues"
        for issue in error.issues:
            assert issue.path.startswith(("airlock:", "Pulumi.")) or ":" in issue.path, issue
        return
    if _synthesized["count"] >= MAX_SYNTHS:
        return
    _synthesized["count"] += 1
    with tempfile.TemporaryDirectory() as scratch:
        project = make_project(Path(scratch), {stack: document})
        out = Path(scratch) / "bundle"
        try:
            synthesize(project, stack, out)
        except ConfigError as error:  # the program's own config check: also keyed bad input
            assert error.issues
            assert not out.exists(), "a refused synth must not leave a bundle"
            return
        assert (out / "resources.json").is_file() and (out / "outputs.json").is_file()


@SETTINGS
@given(mutated(stack_document("dev"), ("config",)))
def test_dev_stack_mutations(case: tuple[dict[str, Any], str]) -> None:
    _check_stack("dev", case[0])


@SETTINGS
@given(mutated(stack_document("airgap"), ("config",)))
def test_airgap_stack_mutations(case: tuple[dict[str, Any], str]) -> None:
    _check_stack("airgap", case[0])


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_stack_file_bytes(data: bytes) -> None:
    """Whatever the file holds: a keyed ConfigError or a valid config, nothing else."""
    from components.config.loader import read_stack_file

    with tempfile.TemporaryDirectory() as scratch:
        project = make_project(Path(scratch), {})
        (project / "stacks" / "Pulumi.fuzz.yaml").write_bytes(data)
        try:
            load(read_stack_file(project, "fuzz"), "fuzz", project)
        except ConfigError as error:
            assert error.issues


SPEC = yaml.safe_load((PROJECT_DIR / "agents" / "prod.yaml").read_text())


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated(SPEC), st.sampled_from([None, "cloud", "hybrid", "airgapped"]))
def test_agent_spec_mutations(case: tuple[dict[str, Any], str], profile: str | None) -> None:
    text = yaml.safe_dump(case[0], sort_keys=False, allow_unicode=True)
    try:
        parse_spec(text, source="agent.yaml", base_dir=PROJECT_DIR / "agents", profile=profile)
    except SpecError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message
            assert problem.path or "YAML" in problem.message or "mapping" in problem.message, problem


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.text(max_size=300))
def test_arbitrary_spec_text(text: str) -> None:
    try:
        parse_spec(text, source="agent.yaml", base_dir=Path("."), profile=None)
    except SpecError as error:
        assert error.problems
