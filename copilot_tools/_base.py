"""What the sync and async clients share: configuration, request building, answers.

Everything here is I/O-free. The two clients in ``client.py`` only move bytes and
drive ``exchange()``; a rule about what to send or how to read a reply lives here or in
``protocol``, never in one client alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from copilot_tools import _protocol as protocol
from copilot_tools import _retrieval as retrieval
from copilot_tools.answer import Answer, find_reply
from copilot_tools.auth.base import StaticTokenProvider, TokenProvider
from copilot_tools.errors import InvalidInputError
from copilot_tools._exchange import Failed, Flow, Received, Send, exchange, request_was_sent
from copilot_tools._protocol import Endpoint
from copilot_tools._retrieval import BatchFlow, RetrievalHit, RetrievalQuery, build_query
from copilot_tools._retry import RetryPolicy
from copilot_tools.settings import Settings
from copilot_tools.streaming import StreamAssembler, StreamReader, build_answer
from copilot_tools._wire import ChatRequest, ContextMessage, Conversation

logger = logging.getLogger("copilot_tools.client")

ContextItem = str | Mapping[str, str] | ContextMessage


def _user_agent() -> str:
    from copilot_tools import __version__

    return f"copilot-tools/{__version__} (python-httpx/{httpx.__version__})"


def local_time_zone() -> str:
    """The machine's own IANA zone name; UTC only when the machine has none configured."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises several kinds on odd systems
        name = None
    if name:
        try:
            return protocol.validate_time_zone(name)
        except ValueError:
            pass
    logger.info("no IANA time zone configured on this machine; using UTC")
    return "UTC"


def http_timeout(settings: Settings) -> httpx.Timeout:
    """The timeouts of every client's connection pool.

    ``read`` is the longest silence between two chunks, not a total: grounded answers can
    take a minute before their first byte, and a stream may pause between snapshots.
    """
    return httpx.Timeout(connect=10.0, read=settings.timeout, write=30.0, pool=10.0)


@dataclass(slots=True)
class TurnOptions:
    """One turn's arguments, validated into a request body."""

    message: str
    files: Sequence[str] = ()
    web_search: bool | None = None
    additional_context: Sequence[ContextItem] = ()
    time_zone: str | None = None

    def external_title(self) -> str | None:
        """How to title a ``[^external^]`` citation: the caller's description, if it gave one."""
        for item in self.additional_context:
            description = item.get("description") if isinstance(item, Mapping) else getattr(item, "description", None)
            if description:
                return f"Additional context: {description}"
        return None


@dataclass(slots=True)
class ClientCore:
    """Configuration and the pure steps of every call."""

    endpoint: Endpoint
    token_provider: TokenProvider
    settings: Settings
    policy: RetryPolicy
    default_time_zone: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def configure(
        cls,
        *,
        base_url: str | None,
        endpoint: str | None,
        token: str | SecretStr | None,
        token_provider: TokenProvider | None,
        settings: Settings | None,
        time_zone: str | None,
        max_retries: int | None,
        headers: Mapping[str, str] | None,
    ) -> ClientCore:
        if settings is None:
            settings = Settings.load({"endpoint": base_url or endpoint, "time_zone": time_zone, "max_retries": max_retries})
        elif base_url or endpoint or time_zone or max_retries is not None:
            updates = {"endpoint": base_url or endpoint, "time_zone": time_zone, "max_retries": max_retries}
            settings = settings.model_copy()
            for name, value in updates.items():
                if value is not None:
                    try:
                        setattr(settings, name, value)  # Settings validates assignments
                    except ValidationError as exc:
                        raise InvalidInputError(name, exc.errors()[0]["msg"]) from None
        resolved = Endpoint.resolve(settings.endpoint, workiq_conversations_path=settings.workiq_conversations_path)
        if token is not None and token_provider is not None:
            raise ValueError("Pass either token or token_provider, not both.")
        if token is not None:
            provider: TokenProvider = StaticTokenProvider(token)
        elif token_provider is not None:
            provider = token_provider
        else:
            provider = _provider_from_settings(settings)
        zone = protocol.validate_time_zone(settings.time_zone) if settings.time_zone else local_time_zone()
        return cls(
            endpoint=resolved,
            token_provider=provider,
            settings=settings,
            policy=RetryPolicy(max_retries=settings.max_retries),
            default_time_zone=zone,
            headers={"User-Agent": _user_agent(), **(headers or {})},
        )

    def timeout(self) -> httpx.Timeout:
        return http_timeout(self.settings)

    # --- flows ----------------------------------------------------------------------------

    def create_flow(self) -> Flow:
        return exchange(protocol.build_create_request(self.endpoint), operation="create",
                        policy=self.policy, endpoint_name=self.endpoint.name)

    def turn_body(self, options: TurnOptions) -> ChatRequest:
        return protocol.build_chat_body(
            options.message,
            time_zone=options.time_zone or self.default_time_zone,
            files=options.files,
            web_search=options.web_search if options.web_search is not None else (
                None if self.settings.web_search else False
            ),
            additional_context=options.additional_context,
            allowed_file_hosts=self.settings.file_hosts,
        )

    def turn_flow(self, conversation_id: str, body: ChatRequest, *, stream: bool) -> Flow:
        request = protocol.build_turn_request(self.endpoint, conversation_id, body, stream=stream)
        return exchange(request, operation="turn", policy=self.policy,
                        endpoint_name=self.endpoint.name, stream=stream)

    def retrieval_queries(
        self,
        queries: str | Sequence[str],
        data_sources: str | Sequence[str],
        **options: Any,
    ) -> list[RetrievalQuery]:
        """Every (query, data source) pair, validated before anything is sent."""
        query_list = protocol.as_list(queries)
        source_list = protocol.as_list(data_sources)
        if not query_list:
            raise InvalidInputError("queries", "no query given")
        if not source_list:
            raise InvalidInputError("data_sources", "no data source given")
        if options.get("connections") and "externalItem" not in source_list:
            raise InvalidInputError("connections", "connection ids only apply to the externalItem data source")
        return [
            build_query(query, data_source=source, **(options if source == "externalItem" else
                                                      {**options, "connections": None}))
            for query in query_list
            for source in source_list
        ]

    def retrieval_flow(self, queries: list[RetrievalQuery]) -> Flow | BatchFlow:
        """One query is one POST; several go through ``$batch``."""
        if len(queries) == 1:
            return retrieval.single_flow(self.endpoint, queries[0], self.policy)
        return retrieval.batch_flow(self.endpoint, queries, self.policy)

    @staticmethod
    def retrieval_hits(result: Received | list[RetrievalHit], queries: list[RetrievalQuery]) -> list[RetrievalHit]:
        if isinstance(result, Received):
            return retrieval.parse_hits(result.body or b"", queries[0], result.request_id)
        return result

    # --- requests and responses -----------------------------------------------------------

    def http_request(self, send: Send, token: str) -> tuple[str, str, dict[str, str], Any]:
        """Method, URL, headers and JSON for one attempt (a fresh client-request-id each)."""
        headers = {
            **self.headers,
            **send.request.headers,
            "Authorization": f"Bearer {token}",
            "client-request-id": protocol.new_request_id(),
        }
        if send.request.json is not None:
            headers.setdefault("Content-Type", "application/json")
        if send.attempt:
            headers["Retry-Attempt"] = str(send.attempt)
        return send.request.method, send.request.url, headers, send.request.json

    @staticmethod
    def failed(error: Exception) -> Failed:
        return Failed(error, request_sent=request_was_sent(error))

    @staticmethod
    def log_response(send: Send, response: httpx.Response, started: float) -> None:
        logger.info(
            "%s %s -> %s in %.0f ms (request-id %s)",
            send.request.method, response.request.url.path, response.status_code,
            (time.perf_counter() - started) * 1000, response.headers.get("request-id", "-"),
        )

    @staticmethod
    def received(response: httpx.Response, *, stream: bool) -> Received:
        if stream and 200 <= response.status_code < 300:
            return Received(response.status_code, response.headers, None, handle=response)
        return Received(response.status_code, response.headers, response.content)

    @staticmethod
    def conversation(received: Received) -> Conversation:
        return protocol.parse_conversation(received.body or b"", request_id=received.request_id)

    @staticmethod
    def answer(received: Received, options: TurnOptions) -> Answer:
        conversation = protocol.parse_conversation(received.body or b"", request_id=received.request_id)
        reply = find_reply(conversation, options.message)
        return build_answer(conversation, reply, external_title=options.external_title(),
                            request_id=received.request_id)

    @staticmethod
    def stream_reader(options: TurnOptions, received: Received) -> StreamReader:
        return StreamReader(StreamAssembler(options.message, external_title=options.external_title(),
                                            request_id=received.request_id))


def _provider_from_settings(settings: Settings) -> TokenProvider:
    from copilot_tools.auth import provider_from_settings  # imports MSAL only when needed

    return provider_from_settings(settings, interactive=False)
