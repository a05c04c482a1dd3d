"""Telemetry an operator relies on: a span per tool call and per upstream request with GenAI
attributes, latency and error metrics, health endpoints, and never a token or a question unless
asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from copilot_tools import Settings
from copilot_tools.emulator.server import bind
from copilot_tools.mcp import build_server
from copilot_tools.mcp.http_app import build_http_app
from copilot_tools.mcp.state import StateConfig, open_state
from copilot_tools.mcp.telemetry import TracedTransport, traced_factory
from tests.mcp.conftest import MEETING, TIME_ZONE
from tests.mcp.test_http_auth import serve

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def exporters() -> tuple[InMemorySpanExporter, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return spans, reader


@pytest.fixture(scope="module")
def origin(emulator: Any) -> Iterator[str]:
    config = StateConfig()
    server = build_server(Settings(endpoint=emulator.base_url, time_zone=TIME_ZONE, access_token="secret-graph-token"),
                          client_factory=traced_factory(), http_transport=TracedTransport())
    with serve(build_http_app(server, open_state(config), config), bind("127.0.0.1", 0)) as url:
        yield url


async def test_tool_calls_and_upstream_requests_are_traced_and_measured_without_secrets(
    exporters: tuple[InMemorySpanExporter, InMemoryMetricReader], origin: str,
) -> None:
    spans, reader = exporters
    spans.clear()
    async with Client(f"{origin}/mcp") as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    assert not result.is_error
    finished = spans.get_finished_spans()
    names = [span.name for span in finished]
    assert "tools/call ask_copilot" in names
    upstream = [span for span in finished if span.name.endswith(" copilot")]
    assert {span.attributes["gen_ai.operation.name"] for span in upstream} >= {"chat_stream"}
    assert all(span.kind == trace.SpanKind.CLIENT and span.attributes["http.response.status_code"] < 400
               for span in upstream)
    every_value = " ".join(str(value) for span in finished for value in span.attributes.values())
    assert "secret-graph-token" not in every_value and MEETING not in every_value

    collected = reader.get_metrics_data()
    measured = {metric.name for resource in collected.resource_metrics for scope in resource.scope_metrics
                for metric in scope.metrics}
    assert {"copilot_tools.tool.duration", "copilot_tools.upstream.duration"} <= measured


async def test_health_and_readiness(origin: str) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{origin}/healthz")).json() == {"status": "ok"}
        assert (await http.get(f"{origin}/readyz")).json() == {"status": "ready"}


async def test_a_tool_call_with_a_hostile_name_is_refused_and_the_server_keeps_serving(origin: str) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    async with httpx.AsyncClient(timeout=10) as http:
        opened = await http.post(f"{origin}/mcp", json=initialize, headers=headers)
        session = {**headers, "mcp-session-id": opened.headers["mcp-session-id"],
                   "mcp-protocol-version": "2025-11-25"}
        await http.post(f"{origin}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                        headers=session)
        hostile = await http.post(f"{origin}/mcp", headers=session, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": ["ask_copilot"], "arguments": {}}})
        assert hostile.status_code == 200 and '"error"' in hostile.text
    async with Client(f"{origin}/mcp") as client:
        assert len((await client.list_tools()).tools) >= 4
