"""OpenTelemetry: GenAI spans and metrics (in-memory exporters), OTLP export only when configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from runtime_testkit import Call, HttpReply, WebhookServer, calls, final, run_cli, tool

from runtime.agent import load_agent
from runtime.audit import AuditLog
from runtime.loop import Runner
from runtime.spec import parse_spec
from runtime.store import Store
from runtime.telemetry import Telemetry

HERE = Path(__file__).parent
SECRET = "tel-secret-0xDEADBEEF"


def in_process_run(tmp_path, model, *, capture=False, tools=("lookup_order", "leak_secret", "explode")):
    doc = {
        "name": "refunds",
        "instructions": "Be brief.",
        "models": {"default": {"provider": model.flavor, "baseUrl": model.url, "model": model.model, "maxRetries": 0}},
        "secrets": [{"name": "payments", "from": "env:TEL_PAYMENTS"}],
        "tools": [
            {
                "name": t,
                "kind": "python",
                "target": f"airlock_test_tools:{t}",
                "policy": "allow",
                "secrets": ["payments"] if t == "leak_secret" else [],
            }
            for t in tools
        ],
    }
    agent = load_agent(parse_spec(yaml.safe_dump(doc), source="test", base_dir=HERE))
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]), capture_content=capture)
    store = Store(tmp_path / "state", create=True)
    audit = AuditLog(tmp_path / "state" / "audit")
    try:
        outcome = Runner(agent, store, audit, telemetry).start("Refund order 7")
    finally:
        agent.close()
        store.close()
        audit.close()
    return outcome, spans.get_finished_spans(), reader.get_metrics_data()


def metric_points(data, name):
    points = []
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    points.extend((metric.unit, dict(p.attributes), p) for p in metric.data.data_points)
    return points


@pytest.fixture(autouse=True)
def payments_env(monkeypatch):
    monkeypatch.setenv("TEL_PAYMENTS", SECRET)


def test_spans_follow_the_genai_conventions(tmp_path, serve):
    model = serve(
        "openai",
        [
            calls(
                Call("lookup_order", {"order_id": 7}, id="call_a"),
                Call("explode", {"reason": "x"}, id="call_b"),
                usage=(50, 10),
            ),
            final("Done.", usage=(70, 5)),
        ],
        model="qwen3-8b",
    )
    outcome, spans, metrics = in_process_run(tmp_path, model)
    assert outcome.status == "succeeded"
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    assert sorted(by_name) == [
        "chat qwen3-8b",
        "execute_tool explode",
        "execute_tool lookup_order",
        "invoke_agent refunds",
    ]

    [agent] = by_name["invoke_agent refunds"]
    assert agent.kind is SpanKind.INTERNAL
    a = agent.attributes
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "refunds"
    assert a["gen_ai.agent.version"] == outcome.agent_version and a["gen_ai.conversation.id"] == outcome.task_id
    assert a["gen_ai.provider.name"] == "vllm"  # OpenAI-compatible server that is not OpenAI

    chats = by_name["chat qwen3-8b"]
    assert len(chats) == 2
    for chat in chats:
        assert chat.kind is SpanKind.CLIENT and chat.parent.span_id == agent.context.span_id
        c = chat.attributes
        assert c["gen_ai.operation.name"] == "chat" and c["gen_ai.provider.name"] == "vllm"
        assert c["gen_ai.request.model"] == "qwen3-8b" and c["gen_ai.response.model"] == "qwen3-8b"
        assert c["server.address"] == "127.0.0.1" and c["server.port"] == model.port
        assert c["gen_ai.response.id"].startswith("chatcmpl-")
    assert (
        chats[0].attributes["gen_ai.usage.input_tokens"] == 50
        and chats[0].attributes["gen_ai.usage.output_tokens"] == 10
    )
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)

    [tool_ok] = by_name["execute_tool lookup_order"]
    t = tool_ok.attributes
    assert tool_ok.kind is SpanKind.INTERNAL and tool_ok.parent.span_id == agent.context.span_id
    assert t["gen_ai.operation.name"] == "execute_tool" and t["gen_ai.tool.name"] == "lookup_order"
    assert t["gen_ai.tool.call.id"] == "call_a" and t["gen_ai.tool.type"] == "function"
    assert "error.type" not in t
    [tool_bad] = by_name["execute_tool explode"]
    assert tool_bad.attributes["error.type"] == "ValueError" and tool_bad.status.status_code is StatusCode.ERROR

    # No message content unless enabled.
    for span in spans:
        assert not any(
            k in span.attributes
            for k in (
                "gen_ai.input.messages",
                "gen_ai.output.messages",
                "gen_ai.tool.call.arguments",
                "gen_ai.tool.call.result",
                "gen_ai.system_instructions",
            )
        )

    tokens = metric_points(metrics, "gen_ai.client.token.usage")
    sums = {attrs["gen_ai.token.type"]: p.sum for unit, attrs, p in tokens}
    assert sums == {"input": 120, "output": 15}
    assert {unit for unit, _, _ in tokens} == {"{token}"}
    assert all(
        attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.model"] == "qwen3-8b"
        for _, attrs, _ in tokens
    )
    durations = metric_points(metrics, "gen_ai.client.operation.duration")
    assert durations and durations[0][0] == "s" and durations[0][2].count == 2


def test_content_capture_is_opt_in_and_redacted(tmp_path, serve):
    model = serve(
        "anthropic",
        [calls(Call("leak_secret", {}, id="toolu_1")), final(f"It was {SECRET}.")],
        model="claude-haiku-4-5",
    )
    outcome, spans, _ = in_process_run(tmp_path, model, capture=True)
    assert outcome.output == "It was [REDACTED:payments]."
    chats = [s for s in spans if s.name == "chat claude-haiku-4-5"]
    assert chats[0].attributes["gen_ai.provider.name"] == "anthropic"
    inputs = json.loads(chats[1].attributes["gen_ai.input.messages"])
    assert inputs[0] == {"role": "user", "parts": [{"type": "text", "content": "Refund order 7"}]}
    assert inputs[-1]["parts"][0]["response"] == "the payments key is [REDACTED:payments]"
    assert json.loads(chats[0].attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    output = json.loads(chats[1].attributes["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "text", "content": "It was [REDACTED:payments]."}]
    [tool_span] = [s for s in spans if s.name == "execute_tool leak_secret"]
    assert tool_span.attributes["gen_ai.tool.call.result"] == "the payments key is [REDACTED:payments]"
    for span in spans:
        assert SECRET not in json.dumps(dict(span.attributes))


def test_failed_model_call_marks_the_span(tmp_path, serve):
    model = serve("openai", [final("never")], before=[HttpReply(401, {"error": "bad key"})], model="qwen3-8b")
    outcome, spans, metrics = in_process_run(tmp_path, model)
    assert outcome.status == "failed" and "HTTP 401" in outcome.error
    [chat] = [s for s in spans if s.name.startswith("chat")]
    assert chat.attributes["error.type"] == "401" and chat.status.status_code is StatusCode.ERROR
    [(_, attrs, _)] = metric_points(metrics, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == "401"


def test_otlp_export_only_when_configured(ws, serve):
    collector = WebhookServer()
    try:
        model = serve("openai", [calls(Call("lookup_order", {"order_id": 1})), final("ok")], model="qwen3-8b")
        spec = ws.spec(model, tools=[tool("lookup_order")])
        quiet = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
        assert quiet.rc == 0 and quiet.stderr == "" and collector.received == []

        env = {
            **ws.env,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url.rsplit("/hooks", 1)[0],
            "OTEL_SERVICE_NAME": "refunds-runtime",
        }
        loud = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=env)
        assert loud.rc == 0, loud.stderr
        paths = {r["path"] for r in collector.received}
        assert paths == {"/v1/traces", "/v1/metrics"}
        names, service = set(), set()
        for r in collector.received:
            if r["path"] == "/v1/traces":
                req = ExportTraceServiceRequest.FromString(r["body"])
                for rs in req.resource_spans:
                    service |= {a.value.string_value for a in rs.resource.attributes if a.key == "service.name"}
                    for ss in rs.scope_spans:
                        assert ss.scope.name == "airlock.runtime" and ss.schema_url.endswith("/1.37.0")
                        names |= {s.name for s in ss.spans}
            else:
                req = ExportMetricsServiceRequest.FromString(r["body"])
                metric_names = {m.name for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
                assert metric_names == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"}
        assert names == {"invoke_agent refunds", "chat qwen3-8b", "execute_tool lookup_order"}
        assert service == {"refunds-runtime"}
    finally:
        collector.close()
