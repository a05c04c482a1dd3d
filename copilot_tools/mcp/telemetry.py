"""Telemetry of the HTTP server: OpenTelemetry metrics and spans, and optional JSON log lines.

Only the OpenTelemetry *API* is used (it comes with the MCP SDK); without an SDK configured it
does nothing and costs next to nothing. Install ``copilot-tools[otel]`` and set the usual
``OTEL_*`` variables (or start under ``opentelemetry-instrument``) to export. The SDK already
opens a span per MCP request (``tools/call ask_copilot``, GenAI ``execute_tool`` attributes);
this module adds the metrics and a span per upstream Copilot request.

Never recorded: tokens, prompt or answer text (unless ``COPILOT_TOOLS_OTEL_CAPTURE_CONTENT=1``),
user ids (a user is an opaque hash in logs, absent from metrics).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

if TYPE_CHECKING:
    from copilot_tools.mcp.state import StateBackend

METER = "copilot_tools.mcp"
ENV_CAPTURE_CONTENT = "COPILOT_TOOLS_OTEL_CAPTURE_CONTENT"
ENV_JSON_LOGS = "COPILOT_TOOLS_JSON_LOGS"
UPSTREAM_CONNECTIONS = 1000


class Instruments:
    """The server's metrics: tool latency, tool errors by kind, refusals (throttles) by kind,
    and the open sessions across the deployment."""

    def __init__(self) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter(METER)
        self.tool_duration = meter.create_histogram(
            "copilot_tools.tool.duration", unit="s", description="Time to answer one MCP tool call")
        self.tool_errors = meter.create_counter(
            "copilot_tools.tool.errors", description="Tool calls that returned an error, by error kind")
        self.upstream_duration = meter.create_histogram(
            "copilot_tools.upstream.duration", unit="s",
            description="Time of one request to Copilot (Graph / Work IQ), to the end of its stream")
        self.upstream_throttles = meter.create_counter(
            "copilot_tools.upstream.throttled", description="Requests Copilot answered with 429")
        self.refusals = meter.create_counter(
            "copilot_tools.http.refused", description="Requests refused by a limit or for shared state, by kind")
        self._sessions = 0
        self._state: StateBackend | None = None

        def observe(_: Any) -> list[Any]:
            from opentelemetry.metrics import Observation

            return [Observation(self._sessions)]

        meter.create_observable_gauge("copilot_tools.sessions.active", callbacks=[observe],
                                      description="Open MCP sessions across the deployment")

    def refused(self, kind: str) -> None:
        self.refusals.add(1, {"error.type": kind})

    def watch_sessions(self, state: StateBackend) -> None:
        """Keep the session gauge current (read from the store at most every 15 s, when exported)."""
        self._state = state

    async def refresh_sessions(self) -> None:
        if self._state is not None:
            try:
                self._sessions = await self._state.count_sessions()
            except Exception as exc:  # noqa: BLE001 - a metric never fails a request
                logging.getLogger(__name__).debug("session count unavailable: %s", type(exc).__name__)


_instruments: Instruments | None = None


def instruments() -> Instruments:
    global _instruments
    if _instruments is None:
        _instruments = Instruments()
    return _instruments


class ToolMetrics:
    """Server middleware: the duration and outcome of every tool call."""

    def __init__(self, metrics: Instruments) -> None:
        self.metrics = metrics
        self._refreshed = 0.0

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        name = ctx.params.get("name") if ctx.params else None
        tool = name if isinstance(name, str) and len(name) <= 64 else "unknown"
        if _capture_content():
            from opentelemetry import trace

            arguments = ctx.params.get("arguments") if ctx.params else None
            trace.get_current_span().set_attribute("gen_ai.tool.call.arguments", json.dumps(arguments)[:4096])
        started = time.perf_counter()
        outcome = "ok"
        try:
            result = await call_next(ctx)
        except Exception:
            outcome = "exception"
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.tool_duration.record(elapsed, {"gen_ai.tool.name": tool})
        kind = _error_kind(result)
        if kind is not None:
            outcome = kind
            self.metrics.tool_errors.add(1, {"gen_ai.tool.name": tool, "error.type": kind})
        if time.monotonic() - self._refreshed > 15:
            self._refreshed = time.monotonic()
            await self.metrics.refresh_sessions()
        log_event("tool_call", tool=tool, outcome=outcome, duration_ms=round(elapsed * 1000))
        return result


def _error_kind(result: Any) -> str | None:
    meta = getattr(result, "meta", None) if not isinstance(result, dict) else result.get("_meta")
    is_error = getattr(result, "is_error", None) if not isinstance(result, dict) else result.get("isError")
    if not is_error:
        return None
    for value in (meta or {}).values():
        if isinstance(value, dict) and isinstance(value.get("kind"), str):
            return str(value["kind"])
    return "tool_error"


def _env_on(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def _capture_content() -> bool:
    return _env_on(ENV_CAPTURE_CONTENT)


#: Upstream path suffix → the operation it is (the span's name).
_OPERATIONS = (("/chatOverStream", "chat_stream"), ("/chat", "chat"), ("/retrieval", "retrieval"),
               ("/$batch", "batch"), ("/conversations", "create_conversation"))


class TracedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that puts each upstream Copilot request in a CLIENT span (GenAI
    attributes, status, no headers, no body, no query) and records its duration (to the end of
    its body, so a stream counts whole) and throttles."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, metrics: Instruments | None = None) -> None:
        # A pool for a server's worth of concurrent turns (httpx's default of 100 connections
        # makes the 101st concurrent answer wait, then fail with PoolTimeout).
        self.inner = inner or httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=UPSTREAM_CONNECTIONS))
        self.metrics = metrics or instruments()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, StatusCode

        path = request.url.path
        operation = next((name for suffix, name in _OPERATIONS if path.endswith(suffix)), "request")
        span = trace.get_tracer(METER).start_span(
            f"{operation} copilot", kind=SpanKind.CLIENT, attributes={
                "gen_ai.provider.name": "microsoft.copilot", "gen_ai.operation.name": operation,
                "http.request.method": request.method, "server.address": request.url.host,
                "server.port": request.url.port or (443 if request.url.scheme == "https" else 80),
            })
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(StatusCode.ERROR)
            span.end()
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code == 429:
            self.metrics.upstream_throttles.add(1, {"gen_ai.operation.name": operation})
        if response.status_code >= 400:
            span.set_attribute("error.type", str(response.status_code))
            span.set_status(StatusCode.ERROR)

        def finish() -> None:
            self.metrics.upstream_duration.record(time.perf_counter() - started, {
                "gen_ai.operation.name": operation, "http.response.status_code": response.status_code})
            span.end()

        response.stream = _Finishing(response.stream, finish)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Finishing(httpx.AsyncByteStream):
    def __init__(self, inner: Any, finish: Any) -> None:
        self.inner = inner
        self.finish = finish
        self.done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if not self.done:
                self.done = True
                self.finish()


def log_event(event: str, **fields: Any) -> None:
    """One JSON line on the ``copilot_tools.events`` logger when ``COPILOT_TOOLS_JSON_LOGS=1``."""
    if not _env_on(ENV_JSON_LOGS):
        return
    line = json.dumps({"ts": round(time.time(), 3), "event": event, **fields}, ensure_ascii=True)
    logging.getLogger("copilot_tools.events").warning(line)


__all__ = ["Instruments", "ToolMetrics", "TracedTransport", "instruments", "log_event", "traced_factory"]


def traced_factory(factory: Any = None) -> Any:
    """A client factory whose clients send through ``TracedTransport``: the one-user client gets
    its own traced connection pool; clients given the shared pool (many users) keep it (the pool
    itself is traced, see ``build_server(http_transport=...)``)."""

    def build(settings: Any, **options: Any) -> Any:
        if "http_client" not in options:
            from copilot_tools.client import http_timeout

            options["http_client"] = httpx.AsyncClient(transport=TracedTransport(), timeout=http_timeout(settings),
                                                       follow_redirects=False)
        if factory is not None:
            return factory(settings, **options)
        from copilot_tools.client import AsyncCopilotClient

        return AsyncCopilotClient(settings=settings, **options)

    return build
