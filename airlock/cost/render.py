"""Formats of a cost report: a terminal table (rich), JSON, Markdown and a self-contained
HTML page (jinja2, the chart inlined as SVG: no external assets)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import jinja2
from rich.console import Console
from rich.table import Table

from airlock.cost.delta import CostDelta
from airlock.cost.report import CostReport

FORMATS = ("table", "json", "markdown", "html")


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def tokens(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.2f}M"


def _assumption_line(report: CostReport) -> str:
    a = report.assumptions
    line = (f"utilisation {a.utilisation:.0%}; {a.input_ratio:g} input tokens per output token; "
            f"{report.hours_per_month:g} h/month; prices of {report.catalog_date}, {report.region}, on-demand")
    if a.tokens_per_day is not None:
        line += f"; {tokens(a.tokens_per_day)} output tokens/day, planner share {a.planner_share:.0%}"
    return line


def model_rows(report: CostReport) -> list[list[str]]:
    rows = []
    for m in report.models:
        rows.append([
            m.name, f"{m.params_b:g}B {m.precision}", f"{m.replicas}-{m.max_replicas} x {m.gpus_per_replica}x{m.gpu} ({m.instance_type})",
            f"{m.throughput.tokens_per_s:,.0f}" + ("" if m.throughput.measured else " (est.)"),
            tokens(m.capacity_tokens_per_day), usd(m.self_hosted_usd_per_million), f"{m.api_model} {usd(m.api_blended_usd_per_million)}",
            tokens(m.break_even_tokens_per_day) + ("" if m.breaks_even_within_capacity else " (never: beyond capacity)"),
            usd(m.monthly_usd),
        ])
    return rows


MODEL_HEADERS = ["model", "size", "replicas x GPUs", "tok/s per replica", "capacity/day", "self-hosted $/1M",
                 "API tier $/1M", "break-even/day", "GPU $/month"]
TRAFFIC_HEADERS = ["route", "runs on", "share", "$/1M", "tokens/day", "$/month", "all-API $/month"]


def traffic_rows(report: CostReport) -> list[list[str]]:
    return [[r.route, f"{r.kind}: {r.target}", f"{r.share:.0%}", usd(r.usd_per_million), tokens(r.tokens_per_day),
             usd(r.monthly_usd), usd(r.api_alternative_monthly_usd)] for r in report.traffic]


def render_table(report: CostReport, delta: CostDelta | None = None) -> str:
    buffer = StringIO()
    console = Console(file=buffer, width=200, soft_wrap=True, highlight=False)
    console.print(f"[bold]{report.stack}[/bold] ({report.platform}, {report.profile}, {report.region}): "
                  f"[bold]{usd(report.monthly_usd)}[/bold] per month (up to {usd(report.monthly_max_usd)} at maximum node counts)")
    console.print(_assumption_line(report))
    items = Table(title="infrastructure by group")
    for header in ("group", "resource", "how", "$/month", "max $/month"):
        items.add_column(header, justify="right" if "$" in header else "left")
    for i in report.items:
        items.add_row(i.group, i.resource, i.description, usd(i.monthly_usd), usd(i.monthly_max_usd))
    for group, total in report.groups().items():
        items.add_row(f"[bold]{group}[/bold]", "", "total", usd(total), "")
    console.print(items)
    if report.usage:
        usage = Table(title="priced by use (not in the total)")
        for header in ("group", "resource", "rate"):
            usage.add_column(header)
        for u in report.usage:
            usage.add_row(u.group, u.resource, u.rate)
        console.print(usage)
    if report.unpriced_types:
        console.print("not priced (no rule for these types): " + ", ".join(report.unpriced_types))
    if report.models:
        models = Table(title="local models against the API tier")
        for header in MODEL_HEADERS:
            models.add_column(header)
        for row in model_rows(report):
            models.add_row(*row)
        console.print(models)
        for m in report.models:
            console.print(f"  {m.name}: {m.throughput.basis}")
    if report.traffic:
        traffic = Table(title="hybrid split: cloud planner and local implementers" if report.hybrid else "agent routes")
        for header in TRAFFIC_HEADERS:
            traffic.add_column(header)
        for row in traffic_rows(report):
            traffic.add_row(*row)
        console.print(traffic)
    if delta is not None:
        console.print(render_delta_lines(delta))
    return buffer.getvalue()


def render_delta_lines(delta: CostDelta) -> str:
    lines = [f"change against {delta.base_ref}: {usd(delta.base_monthly_usd)} -> {usd(delta.head_monthly_usd)} per month ({_signed(delta.monthly_delta_usd)})"]
    for group, (before, after) in delta.groups.items():
        if before != after:
            lines.append(f"  {group}: {usd(before)} -> {usd(after)} ({_signed(after - before)})")
    return "\n".join(lines)


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + usd(abs(value))


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def render_markdown(report: CostReport, delta: CostDelta | None = None, chart_name: str | None = None) -> str:
    parts = [f"# Monthly cost of `{report.stack}` ({report.platform}, {report.profile}, {report.region})", "",
             f"**{usd(report.monthly_usd)} per month** (up to {usd(report.monthly_max_usd)} at maximum node counts).", "",
             f"Assumptions: {_assumption_line(report)}.", "", "## Infrastructure by group", "",
             _md_table(["group", "resource", "how", "$/month", "max $/month"],
                       [[i.group, i.resource, i.description, usd(i.monthly_usd), usd(i.monthly_max_usd)] for i in report.items])]
    if report.usage:
        parts += ["", "Priced by use (not in the total):", "", _md_table(["group", "resource", "rate"], [[u.group, u.resource, u.rate] for u in report.usage])]
    if report.unpriced_types:
        parts += ["", "Not priced: " + ", ".join(f"`{t}`" for t in report.unpriced_types)]
    if report.models:
        parts += ["", "## Local models against the API tier", "", _md_table(MODEL_HEADERS, model_rows(report)), ""]
        parts += [f"- {m.name}: {m.throughput.basis}" for m in report.models]
        if chart_name:
            parts += ["", f"![monthly cost against tokens per day]({chart_name})"]
    if report.traffic:
        parts += ["", "## " + ("Hybrid split" if report.hybrid else "Agent routes"), "", _md_table(TRAFFIC_HEADERS, traffic_rows(report))]
    if delta is not None:
        parts += ["", "## Change", "", "```", render_delta_lines(delta), "```"]
    parts += ["", "## Sources", ""] + [f"- `{k}`: [{s['title']}]({s['url']}), read {s['retrieved']}" for k, s in report.sources.items()]
    return "\n".join(parts) + "\n"


def render_json(report: CostReport, delta: CostDelta | None = None) -> str:
    document = report.to_dict()
    if delta is not None:
        document["delta"] = delta.to_dict()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def render_html(report: CostReport, svg: str | None, delta: CostDelta | None = None) -> str:
    inline = svg[svg.index("<svg"):] if svg else None
    return _TEMPLATES.get_template("report.html.j2").render(
        report=report, usd=usd, tokens=tokens, assumptions=_assumption_line(report),
        model_headers=MODEL_HEADERS, model_rows=model_rows(report), traffic_headers=TRAFFIC_HEADERS,
        traffic_rows=traffic_rows(report), chart_svg=inline, delta=render_delta_lines(delta) if delta else None,
    )
