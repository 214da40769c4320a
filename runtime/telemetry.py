"""OpenTelemetry spans and metrics following the GenAI semantic conventions.

Pinned to semantic conventions v1.37.0 (the version that introduced
``gen_ai.provider.name``); the GenAI conventions are still in development, so the
schema URL on every tracer and meter says which version a backend should expect.

- ``invoke_agent {agent}`` (INTERNAL) around each run or resume of a task,
- ``chat {model}`` (CLIENT) around each model call,
- ``execute_tool {tool}`` (INTERNAL) around each tool call the loop handles,
- histograms ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``.

Message content (instructions, messages, tool arguments and results) is recorded only
when enabled (spec ``telemetry.captureContent`` or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``), and then only redacted.
Nothing is exported unless an OTLP endpoint is configured: without one the runtime
uses the no-op providers and prints nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from runtime.models.base import ModelClient, ModelRequest, ModelResponse
    from runtime.spec import Telemetry as TelemetrySpec

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
SCOPE = "airlock.runtime"
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Attribute names (GenAI semantic conventions).
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_ID = "gen_ai.agent.id"
AGENT_NAME = "gen_ai.agent.name"
AGENT_VERSION = "gen_ai.agent.version"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT = "gen_ai.usage.input_tokens"
USAGE_OUTPUT = "gen_ai.usage.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

TOKEN_USAGE_METRIC = "gen_ai.client.token.usage"
DURATION_METRIC = "gen_ai.client.operation.duration"
# Bucket boundaries recommended by the conventions for these two histograms.
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


def _parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    role = message["role"]
    parts: list[dict[str, Any]] = []
    if role == "tool":
        return [{"type": "tool_call_response", "id": message["tool_call_id"], "response": message["content"]}]
    if message.get("content"):
        parts.append({"type": "text", "content": message["content"]})
    for call in message.get("tool_calls") or []:
        parts.append({"type": "tool_call", "id": call["id"], "name": call["name"], "arguments": call["arguments"]})
    return parts


def _messages_json(messages: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps([{"role": m["role"], "parts": _parts(m)} for m in messages], ensure_ascii=False)


class ChatRecord:
    """Handle the loop uses to attach the response to the open chat span."""

    def __init__(self, span: trace.Span, telemetry: Telemetry, attrs: dict[str, Any]) -> None:
        self.span = span
        self._telemetry = telemetry
        self.metric_attrs = attrs

    def response(
        self, response: ModelResponse, redacted_text: str, redacted_calls: Sequence[Mapping[str, Any]]
    ) -> None:
        span = self.span
        if response.response_id:
            span.set_attribute(RESPONSE_ID, response.response_id)
        if response.response_model:
            span.set_attribute(RESPONSE_MODEL, response.response_model)
            self.metric_attrs[RESPONSE_MODEL] = response.response_model
        if response.finish_reason:
            span.set_attribute(RESPONSE_FINISH_REASONS, [response.finish_reason])
        span.set_attribute(USAGE_INPUT, response.usage.input_tokens)
        span.set_attribute(USAGE_OUTPUT, response.usage.output_tokens)
        if self._telemetry.capture_content:
            out = {"role": "assistant", "content": redacted_text, "tool_calls": list(redacted_calls)}
            span.set_attribute(
                OUTPUT_MESSAGES,
                json.dumps(
                    [{"role": "assistant", "parts": _parts(out), "finish_reason": response.finish_reason or ""}],
                    ensure_ascii=False,
                ),
            )
        self._telemetry.token_usage.record(response.usage.input_tokens, {**self.metric_attrs, TOKEN_TYPE: "input"})
        self._telemetry.token_usage.record(response.usage.output_tokens, {**self.metric_attrs, TOKEN_TYPE: "output"})


class Telemetry:
    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        capture_content: bool = False,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        tp = tracer_provider or trace.NoOpTracerProvider()
        mp = meter_provider or metrics.NoOpMeterProvider()
        self.tracer = tp.get_tracer(SCOPE, schema_url=SCHEMA_URL)
        meter = mp.get_meter(SCOPE, schema_url=SCHEMA_URL)
        self.token_usage = meter.create_histogram(
            TOKEN_USAGE_METRIC,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            DURATION_METRIC,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.capture_content = capture_content
        # Set by the runner to its agent's redactor: every string that may come from the
        # model or a tool passes it before it becomes a span name, attribute or status.
        self.redact: Callable[[str], str] = lambda text: text

    @contextmanager
    def agent_span(self, *, agent_name: str, agent_version: str, task_id: str, provider: str) -> Iterator[trace.Span]:
        with self.tracer.start_as_current_span(
            f"invoke_agent {agent_name}",
            kind=SpanKind.INTERNAL,
            attributes={
                OPERATION: "invoke_agent",
                PROVIDER: provider,
                AGENT_ID: f"{agent_name}@{agent_version}",
                AGENT_NAME: agent_name,
                AGENT_VERSION: agent_version,
                CONVERSATION_ID: task_id,
            },
        ) as span:
            yield span

    @contextmanager
    def chat_span(self, client: ModelClient, request: ModelRequest, temperature: float | None) -> Iterator[ChatRecord]:
        attrs: dict[str, Any] = {OPERATION: "chat", PROVIDER: client.provider_name, REQUEST_MODEL: client.model}
        if client.server_address:
            attrs[SERVER_ADDRESS] = client.server_address
        if client.server_port:
            attrs[SERVER_PORT] = client.server_port
        span_attrs = dict(attrs)
        span_attrs[REQUEST_MAX_TOKENS] = request.max_tokens
        if temperature is not None:
            span_attrs[REQUEST_TEMPERATURE] = temperature
        if self.capture_content:
            span_attrs[SYSTEM_INSTRUCTIONS] = json.dumps(
                [{"type": "text", "content": request.system}], ensure_ascii=False
            )
            span_attrs[INPUT_MESSAGES] = _messages_json(request.messages)
        start = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"chat {client.model}",
            kind=SpanKind.CLIENT,
            attributes=span_attrs,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            record = ChatRecord(span, self, attrs)
            try:
                yield record
            except Exception as exc:
                error_type = getattr(exc, "error_type", None) or type(exc).__name__
                span.set_attribute(ERROR_TYPE, error_type)
                span.set_status(Status(StatusCode.ERROR, self.redact(str(exc))[:200]))
                record.metric_attrs[ERROR_TYPE] = error_type
                raise
            finally:
                self.duration.record(time.perf_counter() - start, record.metric_attrs)

    @contextmanager
    def tool_span(self, name: str, call_id: str) -> Iterator[trace.Span]:
        name, call_id = self.redact(name), self.redact(call_id)
        with self.tracer.start_as_current_span(
            f"execute_tool {name}",
            kind=SpanKind.INTERNAL,
            attributes={OPERATION: "execute_tool", TOOL_NAME: name, TOOL_CALL_ID: call_id, TOOL_TYPE: "function"},
        ) as span:
            yield span

    def tool_error(self, span: trace.Span, error_type: str, message: str) -> None:
        span.set_attribute(ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, self.redact(message)[:200]))

    def shutdown(self) -> None:
        for provider in (self._tracer_provider, self._meter_provider):
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is not None:
                shutdown()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def configure(spec: TelemetrySpec) -> Telemetry:
    """Telemetry for the CLI: OTLP/HTTP export when an endpoint is configured, else no-op."""
    capture = spec.capture_content or _truthy(os.environ.get(CAPTURE_ENV))
    if _truthy(os.environ.get("OTEL_SDK_DISABLED")):
        return Telemetry(capture_content=capture)
    env_endpoint = any(
        os.environ.get(k)
        for k in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        )
    )
    if not env_endpoint and not spec.otlp_endpoint:
        return Telemetry(capture_content=capture)

    # Imported only when exporting: the SDK and exporters cost import time on every run.
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "airlock-runtime"})
    if env_endpoint:
        span_exporter, metric_exporter = OTLPSpanExporter(), OTLPMetricExporter()
    else:
        base = (spec.otlp_endpoint or "").rstrip("/")
        span_exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces")
        metric_exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics")
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter, export_interval_millis=30000)]
    )
    return Telemetry(tracer_provider, meter_provider, capture_content=capture)
