"""The ASGI application: routing, authentication, faults, and the five endpoints.

One catch-all route does its own dispatch, because every miss must still be Graph
shaped (404 for an unknown path, 405 for a wrong method, 415 for a body that is not JSON)
and carry ``request-id``/``client-request-id``, which Starlette's defaults would not.

Paths served (``/beta`` for Graph; the Work IQ paths answer the same):

- ``POST /beta/copilot/conversations``, ``/rest/beta/conversations``, ``/rest/conversations``
  and ``/rest/beta/copilot/conversations`` create a conversation (201);
- ``POST …/{id}/chat`` and ``…/{id}/chatOverStream``, also as
  ``microsoft.graph.copilot.chat`` / ``microsoft.graph.copilot.chatOverStream``;
- ``POST /beta/copilot/retrieval`` and ``/v1.0/copilot/retrieval``;
- ``POST /beta/$batch`` and ``/v1.0/$batch`` (retrieval sub-requests).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from copilot_tools._wire import BatchRequestItem
from copilot_tools.emulator.batch import batch_answer, read_batch
from copilot_tools.emulator.composer import compose, declined, misattributed
from copilot_tools.emulator.config import EmulatorConfig, layout_named
from copilot_tools.emulator.conversations import ConversationStore
from copilot_tools.emulator.corpus import load_corpus
from copilot_tools.emulator.draft import Draft
from copilot_tools.emulator.errors import ApiError, Outcome, RequestContext, bad_request, not_found
from copilot_tools.emulator.faults import (
    HEADER,
    LICENSE_TEXT,
    Fault,
    FaultPlan,
    FaultSpecError,
    FaultSwitch,
    status_error,
)
from copilot_tools.emulator.ids import IdSource, utc_now
from copilot_tools.emulator.payloads import chat_result, created_conversation, refusal, stream_context
from copilot_tools.emulator.questions import read_question
from copilot_tools.emulator.ranking import index_for
from copilot_tools.emulator.responses import EventStreamResponse, cut_response, json_response
from copilot_tools.emulator.retrieval import run_retrieval
from copilot_tools.emulator.streaming import event_stream

logger = logging.getLogger("copilot_tools.emulator")

MAX_BODY = 4 * 1024 * 1024
LAYOUT_HEADER = "x-emulator-layout"
_ACTION = r"(?P<action>(?:microsoft\.graph\.copilot\.)?chat(?:OverStream)?)"
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?P<base>/beta)/copilot/conversations/?$"), "create"),
    (re.compile(r"^(?P<base>/rest(?:/beta)?)/conversations/?$"), "create"),
    (re.compile(r"^(?P<base>/rest/beta)/copilot/conversations/?$"), "create"),
    (re.compile(rf"^(?P<base>/beta)/copilot/conversations/(?P<id>[^/]+)/{_ACTION}$"), "turn"),
    (re.compile(rf"^(?P<base>/rest(?:/beta)?)/conversations/(?P<id>[^/]+)/{_ACTION}$"), "turn"),
    # Seed 000 prints the Work IQ path with /copilot/. The service creates conversations
    # there but answers 404 on their turns (Microsoft later fixed the docs), and a client
    # must not be tested against a friendlier service than the real one.
    (re.compile(rf"^(?P<base>/rest/beta)/copilot/conversations/(?P<id>[^/]+)/{_ACTION}$"), "missing-turn"),
    (re.compile(r"^(?P<base>/(?:beta|v1\.0))/copilot/retrieval/?$"), "retrieval"),
    (re.compile(r"^(?P<base>/(?:beta|v1\.0))/\$batch/?$"), "batch"),
)
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


@dataclass(frozen=True, slots=True)
class _Match:
    kind: str
    base: str
    conversation_id: str = ""
    stream: bool = False


def _route(path: str) -> _Match | None:
    for pattern, kind in _ROUTES:
        match = pattern.match(path)
        if match:
            groups = match.groupdict()
            return _Match(kind, groups["base"], groups.get("id") or "",
                          (groups.get("action") or "").endswith("chatOverStream"))
    return None


class Emulator:
    """The state behind one app: corpus and index, conversations, fault counters, ids."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.corpus = load_corpus(config.corpus)
        self.index = index_for(self.corpus)
        self.ids = IdSource(config.seed)
        self.store = ConversationStore(self.ids, config.max_conversations)
        self.faults = FaultSwitch(config.faults)

    async def handle(self, request: Request) -> Response:
        ctx = RequestContext.new(self.ids, request.headers.get("client-request-id"))
        try:
            return await self._handle(request, ctx)
        except ApiError as exc:
            return json_response(exc.outcome(ctx), ctx.headers)
        except ClientDisconnect:  # the client went away mid-request (a cancelled call): nobody to answer
            logger.debug("client disconnected during %s %s", request.method, request.url.path)
            return Response(status_code=499)
        except Exception as exc:  # a bug of the emulator: still a Graph error, and logged
            logger.exception("emulator failure on %s %s", request.method, request.url.path)
            error = ApiError(500, "InternalServerError", f"The emulator failed: {type(exc).__name__}.")
            return json_response(error.outcome(ctx), ctx.headers)

    async def _handle(self, request: Request, ctx: RequestContext) -> Response:
        path = request.url.path
        route = _route(path)
        if route is None:
            raise ApiError(404, "NotFound", f"No Copilot API at {path}. The emulator serves "
                           "/beta/copilot/conversations, /beta/copilot/retrieval, /beta/$batch and the Work IQ "
                           "paths under /rest.")
        if request.method != "POST":
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on {path}; use POST.",
                           {"Allow": "POST"})
        self._authorize(request)
        try:
            plan = self.faults.plan(request.headers.get(HEADER), extra_latency_ms=self.config.latency_ms)
        except FaultSpecError as exc:
            raise bad_request(f"{HEADER}: {exc}") from None
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        base = f"{request.url.scheme}://{request.url.netloc}{route.base}"
        fault = plan.status(on_turn=route.kind in ("turn", "missing-turn"))
        if fault is not None:
            return self._status_fault(fault, route, ctx, base)
        if route.kind == "missing-turn":
            raise not_found("Resource not found.")
        body = await self._json(request, empty_ok=route.kind == "create")
        if route.kind == "create":
            if not isinstance(body, dict):
                raise bad_request("The request body must be an empty JSON object.")
            outcome = Outcome(201, created_conversation(self.store.create(), base))
            return json_response(outcome, ctx.headers)
        if route.kind == "turn":
            return self._turn(request, route, body, ctx, plan, base)
        if route.kind == "retrieval":
            result = run_retrieval(body, self.corpus, base)
            headers = {**ctx.headers, **({"x-emulator-warning": result.warning} if result.warning else {})}
            return self._send(Outcome(200, result.body), headers, plan)
        batch_faults = request.headers.get(HEADER)
        answer = batch_answer(read_batch(body), lambda item: self._sub_request(item, batch_faults, ctx, base))
        return self._send(Outcome(200, answer), ctx.headers, plan)

    def _authorize(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "InvalidAuthenticationToken", "Access token is empty.",
                           {"WWW-Authenticate": _WWW_AUTHENTICATE})
        expected = self.config.token
        if expected is not None and not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise ApiError(401, "InvalidAuthenticationToken", "Access token validation failure.",
                           {"WWW-Authenticate": _WWW_AUTHENTICATE})

    async def _json(self, request: Request, *, empty_ok: bool) -> Any:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", f"The request body is over {MAX_BODY // 1024 // 1024} MB.")
        if not raw.strip():
            if empty_ok:
                return {}
            raise bad_request("A JSON request body is required.")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise ApiError(415, "UnsupportedMediaType",
                           f"Content-Type must be application/json, not {media or 'missing'}.")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"The request body is not valid JSON ({exc}).") from None

    def _status_fault(self, fault: Fault, route: _Match, ctx: RequestContext, base: str) -> Response:
        if fault.name == "license-403" and route.kind in ("create", "turn", "missing-turn"):
            body = refusal(route.conversation_id or self.ids.new(), LICENSE_TEXT, utc_now(), self.ids.new(), base)
            return json_response(Outcome(403, body), ctx.headers)
        return json_response(status_error(fault).outcome(ctx), ctx.headers)

    def _turn(
        self, request: Request, route: _Match, body: Any, ctx: RequestContext, plan: FaultPlan, base: str
    ) -> Response:
        record = self.store.get(route.conversation_id)
        if record is None:
            raise not_found(f"The conversation '{route.conversation_id}' was not found or has expired.")
        question = read_question(body, self.corpus)
        asked = utc_now()
        if plan.has("rai"):
            reply = declined(self.ids)
        elif plan.has("empty"):
            reply = Draft(self.ids).finish("")
        else:
            reply = compose(question, corpus=self.corpus, index=self.index, now=self.config.now or asked,
                            ids=self.ids, previous=record.last_reply)
            if plan.has("unsupported-citation"):
                reply = misattributed(reply, self.corpus)
        turn = self.store.record_turn(route.conversation_id, question.text, reply, asked)
        if turn is None:
            raise not_found(f"The conversation '{route.conversation_id}' was not found or has expired.")
        if not route.stream:
            return self._send(Outcome(200, chat_result(turn, base)), ctx.headers, plan)
        try:
            layout = layout_named(request.headers.get(LAYOUT_HEADER, self.config.layout))
        except ValueError as exc:
            raise bad_request(f"{LAYOUT_HEADER}: {exc}.") from None
        context = stream_context(base, turn.conversation_id) if route.base == "/beta" else None
        events = event_stream(turn, layout=layout, words_per_event=self.config.words_per_event,
                              delay=self.config.event_delay, faults=plan, context=context)
        return EventStreamResponse(events, ctx.headers)

    def _send(self, outcome: Outcome, headers: dict[str, str], plan: FaultPlan) -> Response:
        return cut_response(outcome, headers) if plan.has("cut") else json_response(outcome, headers)

    def _sub_request(self, item: BatchRequestItem, batch_faults: str | None, ctx: RequestContext, base: str) -> Outcome:
        """One request of a ``$batch``: its own faults, its own status and headers."""
        headers = {k.lower(): v for k, v in (item.headers or {}).items()}
        try:
            try:
                fault = self.faults.plan_item(batch_faults, headers.get(HEADER)).status(on_turn=False)
            except FaultSpecError as exc:
                raise bad_request(f"{HEADER}: {exc}") from None
            if fault is not None:
                raise status_error(fault)
            path = "/" + item.url.split("?")[0].lstrip("/")
            path = re.sub(r"^/(beta|v1\.0)/", "/", path)
            if path.rstrip("/") != "/copilot/retrieval":
                raise not_found(f"The emulator's $batch serves only /copilot/retrieval, not {item.url}.")
            if item.method.upper() != "POST":
                raise ApiError(405, "MethodNotAllowed", f"{item.method} is not supported on {item.url}; use POST.")
            result = run_retrieval(item.body, self.corpus, base)
        except ApiError as exc:
            outcome = exc.outcome(ctx)
            outcome.headers = {"Content-Type": "application/json; charset=utf-8", **outcome.headers}
            return outcome
        extra = {"x-emulator-warning": result.warning} if result.warning else {}
        return Outcome(200, result.body, {"Content-Type": "application/json; charset=utf-8", **extra})


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app (``uvicorn 'copilot_tools.emulator:create_app' --factory``)."""
    emulator = Emulator(config or EmulatorConfig())
    app = Starlette(routes=[Route("/{path:path}", emulator.handle, methods=_METHODS)])
    app.state.emulator = emulator
    return app
