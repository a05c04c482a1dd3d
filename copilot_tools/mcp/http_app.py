"""The MCP server over streamable HTTP: one ASGI app that any number of replicas can serve.

The SDK's ``StreamableHTTPSessionManager`` keeps sessions in the process that opened them. Here
a session is also a record in the state backend (``mcp/state``): who owns it and what its
``initialize`` settled. A replica that receives a request for a session it does not hold, and
finds the record with the same owner, rebuilds the session's transport with that id and a
connection that is already initialised (``SharedSessionManager._adopt``). Our server keeps no
other per-session state (it sends no server-to-client requests), so the rebuilt session is the
same session. Response streams go through a per-session ``EventStore`` in the backend, so a
dropped stream resumes with ``Last-Event-ID`` on any replica (see ``state.events``).

Limits, all through the backend so they hold across replicas: requests per minute per user
(429), open sessions per user (429) and in total (503), both evicting the longest-idle session
when it has been idle long enough; concurrent turns per user (a tool error). Every refusal
names the limit, the setting, and says when to retry (``Retry-After``). When the backend is
unreachable, requests that need it get 503 with ``Retry-After`` and ``/readyz`` is unready;
the backend's client reconnects by itself.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    BearerAuthBackend,
    RequireAuthMiddleware,
    authorization_context,
)
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.runner import serve_connection
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager, _send_and_report_status
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp.shared.transport_context import TransportContext
from mcp.types import InitializeRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot_tools.agent import get_tool
from copilot_tools.errors import CopilotError
from copilot_tools.mcp.errors import error_result
from copilot_tools.mcp.http_security import TransportSecurity, guard
from copilot_tools.mcp.resources import owner_of_token
from copilot_tools.mcp.state import (
    LimitExceededError,
    SessionRecord,
    StateBackend,
    StateConfig,
    StateUnavailableError,
)
from copilot_tools.mcp.state.events import SessionEventStore

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from copilot_tools.mcp.http_auth import EntraAuth

logger = logging.getLogger(__name__)

HTTP_PATH = "/mcp"
#: The tools that run a Copilot turn (and so count against the concurrent-turn limit).
TURN_TOOLS = frozenset({"ask_copilot", "ask_with_files", "continue_conversation"})
MAX_SESSION_ID = 128
#: The client's ``initialize`` parameters are kept for other replicas only up to this size (JSON
#: characters); larger ones (the client's to choose) are not written to the shared state, which every
#: request to the session reads back.
MAX_CLIENT_PARAMS = 16_384
#: How often a replica lets go of sessions whose record is gone.
SWEEP_SECONDS = 60.0


def owner_of(scope: Scope) -> str:
    user = scope.get("user")
    return owner_of_token(user.access_token if isinstance(user, AuthenticatedUser) else None)


# --- sessions shared through the backend ---------------------------------------------------------


class SharedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager with sessions admitted, recorded and adopted through ``state``."""

    def __init__(self, app: Any, state: StateBackend, config: StateConfig, *,
                 security_settings: TransportSecuritySettings | None = None) -> None:
        super().__init__(app, security_settings=security_settings, retry_interval=config.stream_retry_ms,
                         session_idle_timeout=config.session_idle_timeout, max_sessions=None)
        self.state = state

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        async with super().run(), anyio.create_task_group() as group:
            group.start_soon(self._sweep)
            try:
                yield
            finally:
                group.cancel_scope.cancel()

    async def _sweep(self) -> None:
        """Let go of sessions this replica holds whose record is gone (evicted to admit another,
        closed on another replica, expired), so their memory does not wait for the local idle timeout."""
        interval = min(SWEEP_SECONDS, self.session_idle_timeout or SWEEP_SECONDS)
        while True:
            await anyio.sleep(interval)
            held = list(self._server_instances)
            try:
                live = await self.state.live_sessions(held) if held else set()
            except StateUnavailableError:
                continue
            for session_id in held:
                transport = self._server_instances.get(session_id)
                if session_id not in live and transport is not None:
                    await self._discard_session(session_id, transport)

    def _transport(self, session_id: str) -> StreamableHTTPServerTransport:
        return StreamableHTTPServerTransport(
            mcp_session_id=session_id, is_json_response_enabled=self.json_response,
            event_store=SessionEventStore(self.state, session_id), security_settings=self.security_settings,
            retry_interval=self.retry_interval, idle_timeout=self.session_idle_timeout,
        )

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = Request(scope).headers.get(MCP_SESSION_ID_HEADER)
        if session_id is None:
            if scope["method"] != "POST":
                await _json_error("Bad Request: Missing session ID", 400)(scope, receive, send)
                return
            await self._open(scope, receive, send)
            return
        owner = owner_of(scope)
        record = await self.state.touch_session(session_id) if len(session_id) <= MAX_SESSION_ID else None
        local = self._server_instances.get(session_id)
        if record is None or record.owner != owner:
            if record is None and local is not None:  # evicted or expired: this replica lets go too
                await self._discard_session(session_id, local)
            await _json_error("Session not found", 404)(scope, receive, send)
            return
        if local is None:
            async with self._session_creation_lock:
                if session_id not in self._server_instances:
                    await self._adopt(session_id, record, scope)
        await super()._handle_stateful_request(scope, receive, send)
        transport = self._server_instances.get(session_id)
        if scope["method"] == "DELETE" and (transport is None or transport.is_terminated):
            await self.state.close_session(session_id)

    async def _open(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit a new session under the caps, record its handshake, then let the SDK serve it."""
        owner = owner_of(scope)
        body = await Request(scope, receive).body()
        receive = _replay(body, receive)
        session_id = uuid.uuid4().hex
        await self.state.admit_session(session_id, owner)
        established = False
        try:
            await self.state.describe_session(session_id, _handshake(owner, body))
            transport = self._transport(session_id)
            self._register(session_id, transport, scope)
            await self._start(transport, None)
            status = await _send_and_report_status(transport.handle_request, scope, receive, send)
            established = status is not None and status < 400
        finally:
            if not established:
                with anyio.CancelScope(shield=True):
                    local = self._server_instances.get(session_id)
                    if local is not None:
                        await self._discard_session(session_id, local)
                    try:
                        await self.state.close_session(session_id)
                    except StateUnavailableError:
                        pass  # its record expires by itself

    async def _adopt(self, session_id: str, record: SessionRecord, scope: Scope) -> None:
        """Serve, on this replica, a session another replica (or this one before a restart) opened."""
        transport = self._transport(session_id)
        self._register(session_id, transport, scope)
        await self._start(transport, record)
        logger.info("Adopted session %s", session_id)

    def _register(self, session_id: str, transport: StreamableHTTPServerTransport, scope: Scope) -> None:
        self._server_instances[session_id] = transport
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser):
            self._session_owners[session_id] = authorization_context(user)

    async def _start(self, transport: StreamableHTTPServerTransport, record: SessionRecord | None) -> None:
        """Run the session's server loop (as the SDK's ``serve_loop``), with the connection already
        initialised from ``record`` when the session is adopted."""
        session_id = transport.mcp_session_id
        assert session_id is not None and self._task_group is not None

        async def run_server(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            async with transport.connect() as (read_stream, write_stream):
                dispatcher: JSONRPCDispatcher[TransportContext] = JSONRPCDispatcher(
                    read_stream, write_stream, inline_methods=frozenset({"initialize"}))
                connection = Connection.for_loop(
                    dispatcher, session_id=session_id,
                    protocol_version_hint=record.protocol_version if record is not None else None)
                if record is not None:
                    connection.client_params = _client_params(record.client_params)
                    connection.initialized.set()
                task_status.started()
                try:
                    idle_scope = transport.idle_scope or anyio.CancelScope()
                    with idle_scope:
                        await serve_connection(self.app, dispatcher, connection=connection,
                                               lifespan_state=self._lifespan_state)
                    if idle_scope.cancelled_caught:
                        logger.info("Session %s idle on this replica", session_id)
                except Exception:
                    logger.exception("Session %s crashed", session_id)
                finally:
                    await self._discard_session(session_id, transport)

        await self._task_group.start(run_server)


def _handshake(owner: str, body: bytes) -> SessionRecord:
    """What an ``initialize`` request settles (the SDK negotiates the same way)."""
    try:
        message = json.loads(body)
        params = message.get("params") if isinstance(message, dict) and message.get("method") == "initialize" else None
        if not isinstance(params, dict):
            return SessionRecord(owner)
        requested = params.get("protocolVersion")
        version = requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
        kept = json.dumps(params)
        return SessionRecord(owner, version, kept if len(kept) <= MAX_CLIENT_PARAMS else None)
    except (ValueError, RecursionError):
        return SessionRecord(owner)


def _client_params(raw: str | None) -> InitializeRequestParams | None:
    if not raw:
        return None
    try:
        return InitializeRequestParams.model_validate_json(raw, by_name=False)
    except ValueError:
        return None


def _replay(body: bytes, then: Receive) -> Receive:
    """A ``receive`` that hands the already-read body over again, then the connection's own
    messages (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


# --- limits and state trouble as HTTP answers ------------------------------------------------------


def _json_error(message: str, status: int, *, retry_after: int | None = None, code: int = -32000,
                data: dict[str, Any] | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    error: dict[str, Any] = {"code": code, "message": message}
    if data:
        error["data"] = data
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=status, headers=headers)


def refusal(exc: CopilotError) -> Response:
    """The HTTP answer for a limit or for the state store being away."""
    if isinstance(exc, LimitExceededError):
        status = 429 if exc.scope == "user" else 503
        wait = int(exc.retry_after or 1)
        return _json_error(str(exc), status, retry_after=wait,
                           data={"limit": exc.limit, "value": exc.value, "setting": exc.setting, "retry_after": wait})
    retry = StateUnavailableError.retry_after
    return _json_error(str(exc), 503, retry_after=retry, data={"retry_after": retry})


class StateGate:
    """ASGI wrapper of the MCP endpoint: counts each request against its user's per-minute
    budget, and turns a limit or an unreachable store into a 429/503 that says why."""

    def __init__(self, app: ASGIApp, state: StateBackend, on_refused: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.state = state
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.state.count_request(owner_of(scope))
            await self.app(scope, receive, watch)
        except (LimitExceededError, StateUnavailableError) as exc:
            if started:
                raise
            if self.on_refused is not None:
                self.on_refused(exc.kind)
            await refusal(exc)(scope, receive, send)


class TurnLimit:
    """Server middleware: a conversation tool call takes one of its user's concurrent-turn slots
    for as long as it runs; without a free slot it returns a tool error naming the limit."""

    def __init__(self, state: StateBackend) -> None:
        self.state = state

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        name = ctx.params.get("name") if ctx.method == "tools/call" and ctx.params else None
        if not isinstance(name, str) or name not in TURN_TOOLS:  # (a hostile name may be unhashable)
            return await call_next(ctx)
        owner, token = owner_of_token(get_access_token()), uuid.uuid4().hex
        try:
            await self.state.acquire_turn(owner, token)
        except (LimitExceededError, StateUnavailableError) as exc:
            arguments = ctx.params.get("arguments") if ctx.params else None
            return error_result(get_tool(name), exc, arguments if isinstance(arguments, dict) else None)
        try:
            return await call_next(ctx)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.state.release_turn(owner, token)
                except StateUnavailableError:
                    logger.warning("Could not release a turn slot; it lapses after its lease")


# --- health -------------------------------------------------------------------------------------


def health_routes(state: StateBackend) -> list[Route]:
    """``/healthz``: the process answers. ``/readyz``: it can serve (the state store answers)."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            with anyio.fail_after(2):
                await state.ping()
        except (StateUnavailableError, TimeoutError) as exc:
            reason = exc.message if isinstance(exc, CopilotError) else "the state store did not answer in 2 s"
            return JSONResponse({"status": "unready", "reason": reason}, status_code=503,
                                headers={"Retry-After": str(StateUnavailableError.retry_after)})
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


# --- the app ------------------------------------------------------------------------------------


def build_http_app(
    server: MCPServer[Any],
    state: StateBackend,
    config: StateConfig,
    *,
    auth: EntraAuth | None = None,
    host: str = "127.0.0.1",
    path: str = HTTP_PATH,
    transport_security: TransportSecuritySettings | None = None,
) -> Starlette:
    """The Starlette app serving ``server`` at ``path`` with sessions, streams and limits in ``state``.

    Equivalent to the SDK's ``streamable_http_app`` (the same authentication middleware, protected
    resource metadata and DNS-rebinding protection on loopback) plus the shared session manager,
    the limits and the health routes. ``state`` is closed when the app stops.
    """
    from copilot_tools.mcp import telemetry

    if transport_security is None and host in ("127.0.0.1", "localhost", "::1"):
        transport_security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    lowlevel = server._lowlevel_server  # the SDK's own app does the same
    lowlevel.middleware.append(TurnLimit(state))
    metrics = telemetry.instruments()
    lowlevel.middleware.append(telemetry.ToolMetrics(metrics))
    manager = SharedSessionManager(lowlevel, state, config, security_settings=transport_security)
    endpoint: ASGIApp = StateGate(manager.handle_request, state, on_refused=metrics.refused)

    routes: list[Any] = []
    middleware: list[Middleware] = []
    if auth is not None:
        settings = auth.auth_settings()
        middleware = [
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(
                auth.verifier,
                resource_server_url=settings.resource_server_url if settings.validate_token_resource else None)),
            Middleware(AuthContextMiddleware),
        ]
        metadata_url = None
        if settings.resource_server_url:
            metadata_url = build_resource_metadata_url(settings.resource_server_url)
        routes.append(Route(path, endpoint=RequireAuthMiddleware(endpoint, settings.required_scopes or [],
                                                                  metadata_url)))
        if settings.resource_server_url:
            routes.extend(create_protected_resource_routes(
                resource_url=settings.resource_server_url, authorization_servers=[settings.issuer_url],
                scopes_supported=settings.required_scopes))
    else:
        routes.append(Route(path, endpoint=endpoint))
    routes.extend(health_routes(state))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            async with manager.run():
                metrics.watch_sessions(state)
                yield
        finally:
            await state.aclose()

    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


#: Paths a load balancer or the kubelet probes: they answer a status and nothing else.
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def guarded(app: ASGIApp, security: TransportSecurity, auth: EntraAuth | None = None) -> ASGIApp:
    """``app`` behind ``http_security.guard`` (Host and Origin checked before anything else, the
    auth challenges completed), except the health probes: a kubelet or a load balancer probes a
    replica by its own address, which no allowed-Host list names, and a probe learns nothing but
    a status."""
    checked = guard(app, security, auth)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in HEALTH_PATHS:
            await app(scope, receive, send)
        else:
            await checked(scope, receive, send)

    return dispatch


def serve_http(app: ASGIApp, state: StateBackend, config: StateConfig, *, host: str, port: int,
               log_level: str = "warning", say: Callable[[str], None] = print) -> bool:
    """Check the state store, then serve until stopped (blocks). False (and a message) when the
    store is unreachable at start-up: the server does not start half-working."""

    async def main() -> bool:
        return await _serve(app, state, config, host=host, port=port, log_level=log_level, say=say)

    return bool(anyio.run(main))


async def _serve(app: ASGIApp, state: StateBackend, config: StateConfig, *, host: str, port: int,
                 log_level: str, say: Callable[[str], None]) -> bool:
    import uvicorn

    try:
        with anyio.fail_after(5):
            await state.ping()
    except (StateUnavailableError, TimeoutError):
        say(f"error: cannot reach the state store {config.redacted_url()}; not starting. Check that Redis runs "
            "and the URL (--state / COPILOT_TOOLS_STATE_URL) is right.")
        await state.aclose()
        return False
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on"))
    await server.serve()
    return True


__all__ = [
    "HTTP_PATH",
    "SharedSessionManager",
    "StateGate",
    "TurnLimit",
    "HEALTH_PATHS",
    "build_http_app",
    "guarded",
    "health_routes",
    "owner_of",
    "owner_of_token",
    "refusal",
    "serve_http",
]

