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
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import ValidationError
from typing_extensions import Unpack

from copilot_tools import _protocol as protocol
from copilot_tools._exchange import Flow, Plan, Received, Send, exchange
from copilot_tools._protocol import Endpoint
from copilot_tools._lazy import LazyModule
from copilot_tools._retrieval_keywords import RetrievalKeywords
from copilot_tools._retry import RetryPolicy
from copilot_tools._wire import ContextMessage, Conversation
from copilot_tools.answer import Answer, find_reply
from copilot_tools.auth.base import StaticTokenProvider, TokenProvider
from copilot_tools.errors import InvalidInputError, ServiceError
from copilot_tools.settings import Settings
from copilot_tools.streaming import StreamAssembler, StreamReader, build_answer

if TYPE_CHECKING:
    from pydantic import SecretStr

    from copilot_tools import _retrieval as retrieval
    from copilot_tools._retrieval import RetrievalHit, RetrievalQuery
    from copilot_tools._verify import Verification
else:  # the Retrieval API loads with the first retrieval (benchmarks/import_time.py)
    retrieval = LazyModule("copilot_tools._retrieval", globals(), "retrieval")

ContextItem = str | Mapping[str, str] | ContextMessage

#: The request headers whose values ``ClientCore.http_request`` sets afresh on each attempt; every
#: other header of a request stays the same from one attempt to the next (``_io.build_request``
#: relies on that to reuse the header list it built for the same request before).
ATTEMPT_HEADERS = frozenset({"Authorization", "client-request-id", "Retry-Attempt"})

#: Content types a ``chatOverStream`` body may come in; an HTML page (a proxy's sign-in or
#: error page) with status 200 is not Copilot's answer.
_NOT_A_STREAM = ("text/html",)


class TurnKeywords(TypedDict, total=False):
    """The options of a turn (``ask``, ``chat``, ``stream``), with their defaults in ``TurnOptions``.

    ``files``: OneDrive or SharePoint URLs to ground on; ``web_search``: False keeps
    web content out (None: the setting decides); ``additional_context``: texts (or
    ``{"text": ..., "description": ...}``) Copilot may cite as ``[^external^]``;
    ``time_zone``: the IANA zone that "tomorrow" means (default: the client's).
    """

    files: Sequence[str]
    web_search: bool | None
    additional_context: Sequence[ContextItem]
    time_zone: str | None


class ClientOptionKeywords(TypedDict, total=False):
    """What ``with_options`` may change per call; None (or absent) keeps the client's value.

    ``timeout``: seconds of silence tolerated while bytes should flow; ``deadline``:
    seconds one call may take in total; ``max_retries``: re-sends where safe;
    ``headers``: extra headers, added to the client's.
    """

    timeout: float | None
    deadline: float | None
    max_retries: int | None
    headers: Mapping[str, str] | None


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


@dataclass(frozen=True, slots=True)
class Turn:
    """A validated turn and the plan that runs it (creating the conversation first when it has no id)."""

    options: TurnOptions
    plan: Plan[Received]


@dataclass(slots=True)
class ClientCore:
    """Configuration and the pure steps of every call."""

    endpoint: Endpoint
    token_provider: TokenProvider
    settings: Settings
    policy: RetryPolicy
    default_time_zone: str
    headers: dict[str, str] = field(default_factory=dict)
    #: The ``User-Agent`` the connection pool already sends on every request (the client's own pool).
    pool_user_agent: str | None = None
    #: ``headers`` as each attempt passes them to ``build_request`` (see ``_attempt_headers``).
    _attempt_headers: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._attempt_headers = _attempt_headers(self.headers, self.pool_user_agent)

    @classmethod
    def configure(
        cls,
        *,
        base_url: str | None,
        token: str | SecretStr | None,
        token_provider: TokenProvider | None,
        settings: Settings | None,
        time_zone: str | None,
        machine_time_zone: Callable[[], str],
        user_agent: str,
        **options: Unpack[ClientOptionKeywords],
    ) -> ClientCore:
        """Arguments over ``settings`` (or over the environment and config file when none).

        ``machine_time_zone`` is asked only when nothing else names a zone.
        """
        updates = {"endpoint": base_url, "time_zone": time_zone, **_setting_options(options)}
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
            headers={"User-Agent": user_agent, **_checked_headers(options.get("headers"))},
        )

    def with_options(self, **options: Unpack[ClientOptionKeywords]) -> ClientCore:
        """A copy with these options changed; the token provider and endpoint stay."""
        settings = _updated(self.settings, _setting_options(options))
        return dataclasses.replace(
            self,
            settings=settings,
            policy=dataclasses.replace(self.policy, max_retries=settings.max_retries),
            headers={**self.headers, **_checked_headers(options.get("headers"))},
        )

    # --- flows ----------------------------------------------------------------------------

    def create_flow(self) -> Flow:
        return exchange(protocol.build_create_request(self.endpoint), operation="create",
                        policy=self.policy, endpoint=self.endpoint)

    def new_conversation(self) -> Plan[Conversation]:
        return self.conversation((yield from self.create_flow()))

    def turn(self, conversation_id: str | None, message: str, keywords: TurnKeywords, *, stream: bool) -> Turn:
        """A turn validated now, before anything is sent (or created); ``None`` starts a conversation."""
        refuse_unknown(keywords, TurnKeywords.__optional_keys__)
        options = TurnOptions(message, **keywords)
        return Turn(options, self._turn_plan(conversation_id, self.turn_body(options), stream=stream))

    def _turn_plan(self, conversation_id: str | None, body: dict[str, Any], *, stream: bool) -> Plan[Received]:
        from_service = conversation_id is None  # an id the service just returned is used as returned
        if conversation_id is None:
            conversation_id = (yield from self.new_conversation()).id
        return (yield from self.turn_flow(conversation_id, body, stream=stream, from_service=from_service))

    def turn_body(self, options: TurnOptions) -> dict[str, Any]:
        """The turn's ``/chat`` body as sent (``ChatRequest.to_wire()``), validated."""
        return protocol.chat_body_wire(
            options.message,
            time_zone=options.time_zone or self.default_time_zone,
            files=options.files,
            web_search=options.web_search if options.web_search is not None else (
                None if self.settings.web_search else False
            ),
            additional_context=options.additional_context,
            allowed_file_hosts=self.settings.file_hosts,
        )

    def turn_flow(self, conversation_id: str, body: dict[str, Any], *, stream: bool,
                  from_service: bool = False) -> Flow:
        """``body``: ``turn_body``'s; ``from_service``: the id was just returned by the service (used as returned)."""
        request = protocol.build_turn_request(self.endpoint, conversation_id, body, stream=stream,
                                              from_service=from_service)
        return exchange(request, operation="turn", policy=self.policy, endpoint=self.endpoint, stream=stream)

    def retrieval(self, queries: str | Sequence[str], data_sources: str | Sequence[str],
                  keywords: RetrievalKeywords) -> Plan[list[RetrievalHit]]:
        """Every query against every data source, validated now; the plan merges the hits by URL."""
        return self._hits(self.retrieval_queries(queries, data_sources, **keywords))

    def _hits(self, queries: list[RetrievalQuery]) -> Plan[list[RetrievalHit]]:
        """One query is one POST; several go through ``$batch``."""
        if len(queries) > 1:
            return (yield from retrieval.batch_flow(self.endpoint, queries, self.policy))
        received = yield from retrieval.single_flow(self.endpoint, queries[0], self.policy)
        return retrieval.parse_hits(received.body or b"", queries[0], received.request_id)

    def verification(self, answer: Answer) -> Plan[Verification]:
        """Each citation of ``answer`` checked against the document it cites, in one ``$batch``."""
        from copilot_tools._verify import plan_verification  # on first use: most programs never verify

        plan = plan_verification(answer, file_hosts=self.settings.file_hosts)
        if not plan.queries:
            return plan.judge([])
        return plan.judge((yield from plan.batch(self.endpoint, self.policy)))

    def retrieval_queries(
        self, queries: str | Sequence[str], data_sources: str | Sequence[str], **keywords: Unpack[RetrievalKeywords]
    ) -> list[RetrievalQuery]:
        """Every (query, data source) pair, validated before anything is sent.

        ``connections`` go with ``externalItem`` only, ``container_type_id`` with
        ``sharePointEmbedded`` only; either given without its source is an error.
        """
        refuse_unknown(keywords, RetrievalKeywords.__optional_keys__)
        query_list = protocol.as_list(queries)
        source_list = protocol.as_list(data_sources)
        if not query_list:
            raise InvalidInputError("queries", "no query given")
        if not source_list:
            raise InvalidInputError("data_sources", "no data source given")
        if keywords.get("connections") and "externalItem" not in source_list:
            raise InvalidInputError("connections", "connection ids only apply to the externalItem data source")
        if keywords.get("container_type_id") is not None and "sharePointEmbedded" not in source_list:
            raise InvalidInputError("container_type_id",
                                    "a container type only applies to the sharePointEmbedded data source")
        return [
            retrieval.build_query(query, data_source=source, **_for_source(keywords, source))
            for query in query_list
            for source in source_list
        ]

    # --- requests and responses -----------------------------------------------------------

    def http_request(self, send: Send, token: str) -> tuple[str, str, dict[str, str], Any]:
        """Method, URL, headers and JSON for one attempt (a fresh client-request-id each)."""
        headers = {
            **self._attempt_headers,
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
        request_id = received.request_id  # a header look-up each time it is read
        conversation = protocol.parse_conversation(received.body or b"", request_id=request_id)
        reply = find_reply(conversation, options.message)
        # (checked: a body of bytes is read by pydantic's parser or by ``_json.loads``: see build_answer)
        return build_answer(conversation, reply, external_title=options.external_title(), request_id=request_id,
                            checked=True)

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


def refuse_unknown(keywords: Mapping[str, object], known: frozenset[str]) -> None:
    """A misspelled option is a ``TypeError``, as it is where a signature lists the options.

    Type checkers catch it first (the options are ``TypedDict``s); this is for the rest.
    """
    unknown = keywords.keys() - known
    if unknown:
        raise TypeError(f"got an unexpected keyword argument {min(unknown)!r}")


def _for_source(keywords: RetrievalKeywords, source: str) -> RetrievalKeywords:
    """``keywords`` without the options that belong to other data sources."""
    return {
        **keywords,
        "connections": keywords.get("connections") if source == "externalItem" else None,
        "container_type_id": keywords.get("container_type_id") if source == "sharePointEmbedded" else None,
    }


def _setting_options(options: ClientOptionKeywords) -> dict[str, Any]:
    """The options that are settings (all but ``headers``)."""
    refuse_unknown(options, ClientOptionKeywords.__optional_keys__)
    return {name: value for name, value in options.items() if name != "headers"}


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


def _attempt_headers(headers: dict[str, str], pool_user_agent: str | None) -> dict[str, str]:
    """``headers`` without the ``User-Agent`` the pool sends by itself in the same place.

    ``build_request`` puts the pool's default headers first (``User-Agent`` last of them) and
    replaces each one the request names again by moving it to the end: when ours is the pool's,
    naming it again re-sends the same header at the same place, for ~2.4 us an attempt (of a
    ``/chat`` turn's ~100 us over bare httpx, benchmarks/client_overhead.py). Kept when another
    spelling of the name is there too (both are then sent, after the pool's were removed).
    """
    if pool_user_agent is None or headers.get("User-Agent") != pool_user_agent:
        return headers
    if sum(name.lower() == "user-agent" for name in headers) != 1:
        return headers
    return {name: value for name, value in headers.items() if name != "User-Agent"}


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
