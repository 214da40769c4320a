"""The one way Airlock reads YAML: stack files, Pulumi.yaml and agent specs.

PyYAML's safe loader still builds whatever a document describes: a 1.6 KB file of nested
aliases (a "billion laughs") expands to billions of nodes and runs a validator out of time
or memory, and deep nesting overflows the recursive composer. So before anything is built
the document is checked in one pass over the parser's events, which is iterative and costs
time linear in the text: its size, its nesting depth and the number of nodes it would have
with every alias expanded. Then it is composed with duplicate keys rejected (silently keeping
the last of two keys hides mistakes). Every rejection is a ``yaml.MarkedYAMLError``, so
callers report it like any other YAML error, with its line.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1024 * 1024  # far above any real stack file or spec (the shipped ones are < 10 KB)
MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion


class YamlRejected(yaml.MarkedYAMLError):
    """A document refused before it was built (limits, duplicate keys, encoding)."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key (a list or mapping): the constructor reports it
            first = None
        if first is not None:
            raise YamlRejected(f"duplicate key {key!r} (first at line {first + 1})", key_node.start_mark)
        try:
            seen[key] = key_node.start_mark.line
        except TypeError:
            pass
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def decode(data: bytes) -> str:
    """UTF-8 text, or YamlRejected (a binary or UTF-16 file is not a stack file)."""
    if len(data) > MAX_BYTES:
        raise YamlRejected(f"is {len(data)} bytes; the limit is {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YamlRejected(f"is not UTF-8 text (byte {error.start}: {data[error.start:error.start + 1]!r})") from None
    if "\x00" in text:
        raise YamlRejected("is not a text file (it holds NUL bytes)")
    return text.removeprefix("\ufeff")


def check_limits(text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Raise YamlRejected when the document is too large, too deep or expands too far."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlRejected(f"is larger than the limit of {MAX_BYTES} bytes")
    anchored: dict[str, int] = {}  # anchor -> expanded node count of its node
    # One frame per open collection: [node count so far, its anchor].
    stack: list[list[Any]] = [[0, None]]
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            size = anchored.get(event.anchor)
            if size is None:
                continue  # an undefined alias: the composer reports it
            stack[-1][0] += size
            total += size
        elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack[-1][0] += 1
            total += 1
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    anchored[event.anchor] = 1
            else:
                stack.append([0, event.anchor])
                if len(stack) - 1 > max_depth:
                    raise YamlRejected(f"is nested more than {max_depth} levels deep", event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            count, anchor = stack.pop()
            stack[-1][0] += count
            if anchor:
                anchored[anchor] = count + 1
        if total > max_nodes:
            raise YamlRejected(
                f"expands to more than {max_nodes} values (aliases repeating aliases?); refused before building it",
                event.start_mark,
            )


def load_text(text: str) -> Any:
    """Check the limits, then build the document with duplicate keys refused."""
    check_limits(text)
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def compose_text(text: str) -> yaml.Node | None:
    """The node tree (for line numbers), under the same limits."""
    check_limits(text)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_bytes(data: bytes) -> Any:
    return load_text(decode(data))
