"""``airlock cost``: get a bundle (synthesize one, or read ``--bundle``), price it, render
it, and with ``--base REF`` price the stack at that ref too and show the monthly delta."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable

from airlock.cost.bundle_facts import BundleFacts, read_bundle, with_stack_region
from airlock.cost.catalog import Catalog, load_catalog
from airlock.cost.delta import CostDelta, cost_delta
from airlock.cost.economics import Assumptions
from airlock.cost.errors import CostError
from airlock.cost.report import CostReport, build_report


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


EXTENSIONS = {Format.table: "txt", Format.json: "json", Format.markdown: "md", Format.html: "html"}


@dataclass(frozen=True)
class CostOptions:
    stack: str
    # Resolved only when a synth is needed (no --bundle, or --base): pricing a bundle needs no project.
    project_dir: Callable[[], Path] | None
    fmt: Format
    assumptions: Assumptions
    prices: Path | None
    bundle: Path | None
    out: Path | None
    base: str | None


@dataclass(frozen=True)
class CostResult:
    text: str
    written: list[Path]
    report: CostReport


def _synthesized(project_dir: Path, stack: str, scratch: Path) -> BundleFacts:
    from airlock.synth.run import synthesize

    target = scratch / "bundle"
    result = synthesize(project_dir, stack, target)
    return with_stack_region(read_bundle(target), result.loaded.region)


def _head_facts(options: CostOptions, scratch: Path) -> BundleFacts:
    if options.bundle is None:
        assert options.project_dir is not None
        return _synthesized(options.project_dir(), options.stack, scratch)
    facts = read_bundle(options.bundle)
    if facts.stack != options.stack:
        raise CostError(f"bundle {options.bundle} is of stack '{facts.stack}', not '{options.stack}'")
    return facts


def _delta(options: CostOptions, catalog: Catalog, head: CostReport, scratch: Path) -> CostDelta | None:
    if options.base is None:
        return None
    from airlock.synth.at_ref import repo_root_of, synth_at_ref

    assert options.project_dir is not None
    project = options.project_dir().resolve()
    root = repo_root_of(project).resolve()
    bundle = synth_at_ref(options.stack, options.base, root, scratch / "base", project.relative_to(root))
    base = build_report(read_bundle(bundle), catalog, options.assumptions)
    return cost_delta(options.base, base, head)


def run_cost(options: CostOptions) -> CostResult:
    from airlock.cost import render

    catalog = load_catalog(options.prices)  # a bad prices file stops before any synth
    scratch = Path(tempfile.mkdtemp(prefix="airlock-cost-"))
    try:
        report = build_report(_head_facts(options, scratch), catalog, options.assumptions)
        delta = _delta(options, catalog, report, scratch)
        charts = options.out or scratch
        png, svg = charts / "chart.png", charts / "chart.svg"
        written: list[Path] = []
        if report.models and (options.out or options.fmt is Format.html):
            from airlock.cost.chart import render_chart  # matplotlib: only when a chart is drawn

            render_chart(report, png, svg)
            if options.out:
                written += [png, svg]
        if options.fmt is Format.table:
            text = render.render_table(report, delta)
        elif options.fmt is Format.json:
            text = render.render_json(report, delta)
        elif options.fmt is Format.markdown:
            text = render.render_markdown(report, delta, chart_name=png.name if options.out and report.models else None)
        else:
            text = render.render_html(report, svg.read_text() if report.models else None, delta)
        if options.out:
            path = options.out / f"cost.{EXTENSIONS[options.fmt]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.insert(0, path)
        return CostResult(text, written, report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
