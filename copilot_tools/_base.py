"""What the sync and async clients share: configuration, request building, answers.

Everything here is free of I/O: no ``httpx`` object, no clock, no look at the machine.
The two clients in ``client.py`` only move bytes and drive ``exchange()`` (with the
helpers in ``_io``); a rule about what to send or how to read a reply lives here or in
``_protocol``, never in one client alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, ValidationError

from copilot_tools import _protocol as protocol
from copilot_tools import _retrieval as retrieval
from copilot_tools._exchange import Flow, Received, Send, exchange
from copilot_tools._protocol import Endpoint
from copilot_tools._retrieval import BatchFlow, RetrievalHit, RetrievalQuery, build_query
from copilot_tools._retry import RetryPolicy
from copilot_tools._wire import ChatRequest, ContextMessage, Conversation
from copilot_tools.answer import Answer, find_reply
from copilot_tools.auth.base import StaticTokenProvider, TokenProvider
from copilot_tools.errors import InvalidInputError, ServiceError
from copilot_tools.settings import Settings
from copilot_tools.streaming import StreamAssembler, StreamReader, build_answer

ContextItem = str | Mapping[str, str] | ContextMessage

#: Content types a ``chatOverStream`` body may come in; an HTML page (a proxy's sign-in or
#: error page) with status 200 is not Copilot's answer.
_NOT_A_STREAM = ("text/html",)


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
        token: str | SecretStr | None,
        token_provider: TokenProvider | None,
        settings: Settings | None,
        time_zone: str | None,
        timeout: float | None,
        deadline: float | None,
        max_retries: int | None,
        headers: Mapping[str, str] | None,
        machine_time_zone: Callable[[], str],
        user_agent: str,
    ) -> ClientCore:
        """Arguments over ``settings`` (or over the environment and config file when none).

        ``machine_time_zone`` is asked only when nothing else names a zone.
        """
        updates = {"endpoint": base_url, "time_zone": time_zone, "timeout": timeout,
                   "deadline": deadline, "max_retries": max_retries}
        if settings is None:
            settings = Settings.load(updates)
        else:
            settings = _updated(settings, updates)
        resolved = Endpoint.resolve(settings.endpoint, workiq_conversations_path=settings.workiq_conversations_path)
        if token is not None and token_provider is not None:
            raise InvalidInputError("token", "pass either token or token_provider, not both")
        if token is not None:
            provider: TokenProvider = StaticTokenProvider(token)
        elif token_provider is not None:
            provider = token_provider
        else:
            from copilot_tools.auth.factory import default_token_provider  # MSAL only when needed

            provider = default_token_provider(settings)
        zone = protocol.validate_time_zone(settings.time_zone) if settings.time_zone else machine_time_zone()
        return cls(
            endpoint=resolved,
            token_provider=provider,
            settings=settings,
            policy=RetryPolicy(max_retries=settings.max_retries),
            default_time_zone=zone,
            headers={"User-Agent": user_agent, **_checked_headers(headers)},
        )

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientCore:
        """A copy with these options changed; the token provider and endpoint stay."""
        settings = _updated(self.settings, {"timeout": timeout, "deadline": deadline, "max_retries": max_retries})
        return dataclasses.replace(
            self,
            settings=settings,
            policy=dataclasses.replace(self.policy, max_retries=settings.max_retries),
            headers={**self.headers, **_checked_headers(headers)},
        )

    # --- flows ----------------------------------------------------------------------------

    def create_flow(self) -> Flow:
        return exchange(protocol.build_create_request(self.endpoint), operation="create",
                        policy=self.policy, endpoint=self.endpoint)

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

    def turn_flow(self, conversation_id: str, body: ChatRequest, *, stream: bool, from_service: bool = False) -> Flow:
        """``from_service``: the id was just returned by the service (used as returned)."""
        request = protocol.build_turn_request(self.endpoint, conversation_id, body, stream=stream,
                                              from_service=from_service)
        return exchange(request, operation="turn", policy=self.policy, endpoint=self.endpoint, stream=stream)

    def retrieval_queries(
        self,
        queries: str | Sequence[str],
        data_sources: str | Sequence[str],
        *,
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
        container_type_id: str | None = None,
    ) -> list[RetrievalQuery]:
        """Every (query, data source) pair, validated before anything is sent.

        ``connections`` go with ``externalItem`` only, ``container_type_id`` with
        ``sharePointEmbedded`` only; either given without its source is an error.
        """
        query_list = protocol.as_list(queries)
        source_list = protocol.as_list(data_sources)
        if not query_list:
            raise InvalidInputError("queries", "no query given")
        if not source_list:
            raise InvalidInputError("data_sources", "no data source given")
        if connections and "externalItem" not in source_list:
            raise InvalidInputError("connections", "connection ids only apply to the externalItem data source")
        if container_type_id is not None and "sharePointEmbedded" not in source_list:
            raise InvalidInputError("container_type_id",
                                    "a container type only applies to the sharePointEmbedded data source")
        return [
            build_query(query, data_source=source, filter=filter, metadata=metadata, max_results=max_results,
                        connections=connections if source == "externalItem" else None,
                        container_type_id=container_type_id if source == "sharePointEmbedded" else None)
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
        """The reader of a started stream, or a ``ServiceError`` when the body is not one."""
        content_type = received.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in _NOT_A_STREAM:
            raise ServiceError(
                f"The service answered the stream with a {content_type} page, not Copilot's event stream.",
                hint="A proxy or a sign-in page may be in the way; check the endpoint setting and the network.",
                request_id=received.request_id,
            )
        return StreamReader(StreamAssembler(options.message, external_title=options.external_title(),
                                            request_id=received.request_id))


def _updated(settings: Settings, updates: Mapping[str, Any]) -> Settings:
    """``settings`` with the non-None ``updates`` applied, each validated like a setting."""
    changes = {name: value for name, value in updates.items() if value is not None}
    if not changes:
        return settings
    copy = settings.model_copy()
    for name, value in changes.items():
        try:
            setattr(copy, name, value)  # Settings validates assignments
        except ValidationError as exc:
            raise InvalidInputError(name, str(exc.errors()[0]["msg"])) from None
        copy.sources = {**copy.sources, name: "argument"}
    return copy


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Extra request headers, refused early when they could not travel (or would replace ours)."""
    checked: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidInputError("headers", "header names and values must be strings")
        if not name or not all("!" <= ch <= "~" and ch != ":" for ch in name):
            raise InvalidInputError("headers", f"{name[:40]!r} is not a valid header name")
        if not all(" " <= ch <= "~" or ch == "\t" for ch in value):
            raise InvalidInputError("headers", f"the value of {name} holds characters a header cannot carry")
        if name.lower() == "authorization":
            raise InvalidInputError("headers", "the Authorization header comes from the token or token provider",
                                    hint="Pass token= or token_provider= instead.")
        checked[name] = value
    return checked
