"""Pydantic models of the JSON on the wire, named as the API names them.

The client and the emulator both speak through these models, so the two can never
drift apart. Every model keeps unknown fields (``extra="allow"``): the service grows
fields between our releases and a new field must never turn a good answer into an
error. Python attributes are snake_case; ``by_alias`` dumps give the wire's camelCase.

Reading is tolerant the same way (strict about what we send, tolerant about what we read): a
field of a response that holds an odd value (a card that is a string, a date that is not ISO
8601, ``turnCount: null``, a hit without ``webUrl``) degrades to the best value available with a
logged warning instead of failing the whole reply. Request models stay strict.
"""

from __future__ import annotations

import gc
import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaValidator

from copilot_tools._json import MAX_DEPTH

logger = logging.getLogger("copilot_tools.wire")

ConversationState = Literal["active", "disengagedForRai", "unknownFutureValue"] | str
AttributionType = Literal["citation", "annotation", "unknownFutureValue"] | str
AttributionSource = Literal["model", "grounding", "unknownFutureValue"] | str
DataSource = Literal["sharePoint", "oneDriveBusiness", "externalItem", "sharePointEmbedded"]

RESPONSE_MESSAGE_TYPE = "#microsoft.graph.copilotConversationResponseMessage"


class WireModel(BaseModel):
    """Base for every wire model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        serialize_by_alias=True,
        # Build each validator on first use, not at import: most programs read a few of these
        # models and the import of the client is what every program pays (benchmarks/import_time.py).
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the service sends or expects it (aliases, no unset fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- tolerant reading -------------------------------------------------------------------
#
# Response models validate in pydantic's compiled code, and only when that fails does Python
# step in (``_tolerant``, the wrap validator of ``ReplyModel``, base of the models that hold a
# reply): it reads the error locations, repairs a copy of the input (an odd field is dropped so
# that its default applies; a list item that cannot be read is left out), logs what it did and
# validates again.
# A good reply pays nothing for the tolerance; per-field Python validators would cost every
# snapshot of every stream.

_DROP = object()
#: Null where a list or object is expected: long seen and harmless, so not worth a warning.
_QUIET_NULLS = frozenset({"adaptiveCards", "attributions", "messages", "extracts", "resourceMetadata"})
_REPAIR_ROUNDS = 4


def _tolerant(model: str, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """``handler(data)``; on a validation error, repair a copy of ``data`` and try again."""
    try:
        return handler(data)
    except ValidationError as error:
        if not isinstance(data, dict):
            raise
        failure = error
    for _ in range(_REPAIR_ROUNDS):
        repaired = _repair(data, failure.errors(), model)
        if repaired is None:
            break
        try:
            return handler(repaired)
        except ValidationError as error:
            data, failure = repaired, error
    raise failure


_Model = TypeVar("_Model", bound=BaseModel)
#: Each model's validator without its ``_tolerant`` wrappers (None: the model cannot have one).
_PLAIN: dict[type[BaseModel], SchemaValidator | None] = {}


def validate_json_fast(model: type[_Model], body: bytes) -> _Model | None:
    """``model`` read straight from ``body`` when nothing in it needs the tolerant path; else None.

    Two savings on the usual reply, which needs no repair. pydantic parses and validates JSON in
    one step in Rust (``validate_json``) instead of ``_json.loads`` then ``model_validate``; and
    the validator used here is the model's own without the ``_tolerant`` wrappers, each a call
    into Python per model per message (``_plain_validator``). On the reference ``/chat`` reply:
    11 us instead of 22 us on their own (``json.loads`` alone: 8 us), and 30-45 us less CPU per
    ``CopilotClient.chat`` turn on a loaded machine, where a turn cost ~150 us more than bare
    httpx (benchmarks/client_overhead.py). It gives exactly what the tolerant path
    gives, or None and the caller takes that path (which then decides everything, warnings
    included):

    - the parser refuses what ``_json`` exists to fix: a lone surrogate escape, bytes that are not
      UTF-8 (a BOM, UTF-16), nesting past its own limit; so every string it makes is encodable;
    - no more brackets than ``MAX_DEPTH`` means no container deeper than that (as in ``_json``);
    - where a wrapper would have repaired something, this read fails instead;
    - where no repair is needed, a wrapper only hands its input on: the same instances result;
    - the rest (a field's value from a JSON scalar) is pydantic's lax mode, the same rules
      whether the input is JSON or the dict ``json.loads`` made (tests/unit/test_fast_read.py).
    """
    if len(body.translate(None, _ALL_BUT_OPENINGS)) > MAX_DEPTH:  # (the opening brackets, counted)
        return None
    return _read_plainly(model, body, from_json=True)


# The brackets are counted in one pass that keeps only them (bytes.translate, deleting the rest):
# two bytes.count took 3.6 us for the reference /chat reply (2.7 kB), this 2.3 us.
_ALL_BUT_OPENINGS = bytes(byte for byte in range(256) if byte not in b"{[")


def validate_python_fast(model: type[_Model], value: Any) -> _Model | None:
    """``model`` validated from ``value`` (as ``_json`` parsed it) when nothing needs the tolerant path; else None.

    ``validate_json_fast`` for a value already parsed: the model's validator without the ``_tolerant``
    wrappers, so the same instances result where no repair is needed, and None (the caller then
    takes the tolerant path, which decides everything, warnings included) where one is. For a
    stream's last event, which the SSE decoder parses to know it is whole: 7.7 us instead of 9.6 us
    for the captured stream's, 22 us instead of 30 us for the reference's (pretty, with dates).
    """
    return _read_plainly(model, value, from_json=False)


def _read_plainly(model: type[_Model], value: Any, *, from_json: bool) -> _Model | None:
    """``value`` (JSON bytes, or what ``_json`` parsed) through ``model``'s plain validator; None where it refuses."""
    validator = _PLAIN[model] if model in _PLAIN else _plain_validator(model)
    if validator is None:
        return None
    try:
        if from_json:  # (at most MAX_DEPTH containers, as validate_json_fast counted: a few models at most)
            read: _Model = validator.validate_json(value)
            return read
        with PausedCollector():  # (a value of any size: maybe thousands of models)
            result: _Model = validator.validate_python(value)
    except ValidationError:
        return None
    return result


class PausedCollector:
    """``with PausedCollector():`` runs its body with the garbage collector paused (if it was on).

    For building many models at once: each model and its set of fields set are two objects the
    collector tracks, and a reply of 100,000 attributions set off five full collections, each walking
    every object of the program. The 16 MB multi-line event of benchmarks/parser_scaling.py, its
    validation alone: 283 ms with the collector on, 92 ms paused; the whole read, 10.0x json.loads of
    its JSON with the collector on, 9.2x with this validation paused, 7.0x with the answer built from
    it paused as well (``answer.normalize_message``; best of 3 in turn).
    Nothing is lost: what was made is collected later, as it would have been.

    The collector's switch is one for the whole process. Where the body runs no Python (the plain
    validator of ``validate_python_fast``, which has no Python validators) it holds the GIL
    throughout and no other thread runs while the collector is paused. Where it runs Python
    (``answer.normalize_message`` for a reply of many attributions), other threads may run in that
    window: they allocate without automatic collections too (``gc.collect()`` still works), and a
    thread that turns the collector off inside the window has it turned back on when the body ends
    (one that turns it on has it on early; the body then only runs slower).
    """

    __slots__ = ("_paused",)

    def __enter__(self) -> None:
        self._paused = gc.isenabled()
        if self._paused:
            gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self._paused:
            gc.enable()


def _plain_validator(model: type[BaseModel]) -> SchemaValidator | None:
    """``model``'s validator built from its core schema with each ``_read_tolerantly`` wrapper
    replaced by the schema it wraps; None when there is none to remove or another wrap is left
    (a shape this function does not know: the model's own validator then decides, as before)."""
    model.model_rebuild()  # models are built on first use (defer_build); a built one returns at once
    wraps = {"removed": 0, "left": 0}

    def strip(node: Any) -> Any:
        if isinstance(node, list):
            return [strip(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node.get("type") == "function-wrap":
            if getattr(node["function"].get("function"), "__name__", None) != "_read_tolerantly":
                wraps["left"] += 1
            else:
                wraps["removed"] += 1
                inner = dict(strip(node["schema"]))
                if "ref" in node:  # a definition-ref elsewhere may name the wrapper
                    inner["ref"] = node["ref"]
                return inner
        return {key: value if key in ("cls", "config", "function", "metadata") else strip(value)
                for key, value in node.items()}

    schema = strip(model.__pydantic_core_schema__)
    ok = wraps["removed"] and not wraps["left"]
    validator = SchemaValidator(schema, schema.get("config")) if ok else None
    _PLAIN[model] = validator
    return validator


def _repair(data: dict[str, Any], errors: list[Any], model: str) -> dict[str, Any] | None:
    """A copy of ``data`` with each error's field dropped (or its list item left out); None if hopeless.

    Containers are copied only along the paths that change, so the caller's input stays intact.
    """
    root = dict(data)
    copies: dict[int, Any] = {id(root): root}
    lists: list[list[Any]] = []
    changed = False
    for error in errors:
        path = _existing_path(root, error["loc"], copies, lists)
        if error["type"] == "missing":
            # A required field is absent: the object cannot stand; leave out its list item.
            target = next((i for i in range(len(path) - 1, -1, -1) if isinstance(path[i][0], list)), None)
            if target is None:
                return None
            container, key = path[target]
            container[key] = _DROP
            _warn(model, error["loc"], None, "left out (a required field is missing)")
        elif not path:
            return None
        else:
            container, key = path[-1]
            value = container[key]
            if isinstance(container, list):
                container[key] = _DROP
                _warn(model, error["loc"], value, "left out")
            else:
                del container[key]
                if value is None and key in _QUIET_NULLS:
                    logger.debug("%s: null %s read as empty", model, key)
                else:
                    _warn(model, error["loc"], value, "ignored")
        changed = True
    for items in lists:
        items[:] = [item for item in items if item is not _DROP]
    return root if changed else None


def _existing_path(root: Any, loc: tuple[Any, ...], copies: dict[int, Any],
                   lists: list[list[Any]]) -> list[tuple[Any, Any]]:
    """(container, key) steps of ``loc`` that exist in ``root``, copying each container on the way.

    A location may end in names that are not keys (a union's member, a missing field): the path
    stops at the last step that exists.
    """
    path: list[tuple[Any, Any]] = []
    container = root
    for key in loc:
        if isinstance(container, dict):
            exists = key in container
        else:
            exists = isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container)
        if not exists:
            break
        path.append((container, key))
        child = container[key]
        if isinstance(child, (dict, list)):
            duplicate = copies.get(id(child))
            if duplicate is None:
                duplicate = dict(child) if isinstance(child, dict) else list(child)
                copies[id(child)] = copies[id(duplicate)] = duplicate
                if isinstance(duplicate, list):
                    lists.append(duplicate)
            container[key] = child = duplicate
        container = child
    return path


# Recent kinds of odd value, so a stream does not repeat one per event. The oldest goes with one
# popitem, a single step under the GIL: clients in several threads never pop the same key twice.
_WARNED: OrderedDict[str, None] = OrderedDict()


def _warn(model: str, loc: tuple[Any, ...], value: Any, action: str) -> None:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    shown = repr(value)
    kind = "".join(f".{part}" for part in loc if not isinstance(part, int)) + model + action
    first = kind not in _WARNED
    if first:
        if len(_WARNED) >= 256:
            _WARNED.popitem(last=False)
        _WARNED[kind] = None
    logger.log(logging.WARNING if first else logging.DEBUG, "the service sent an odd %s.%s (%s); %s", model,
               where, shown if len(shown) <= 60 else shown[:57] + "...", action)


class ReplyModel(WireModel):
    """Base for the models that hold a reply: read with ``_tolerant`` under the model's name."""

    @model_validator(mode="wrap")
    @classmethod
    def _read_tolerantly(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return _tolerant(cls.__name__, data, handler)


# --- request bodies ---------------------------------------------------------------------


class RequestMessage(WireModel):
    """``copilotConversationRequestMessageParameter``: the prompt."""

    text: str


class ContextMessage(WireModel):
    """``copilotContextMessage``: extra grounding text, cited in replies as ``[^external^]``."""

    text: str
    description: str | None = None


class LocationHint(WireModel):
    """``copilotConversationLocation``: the user's time zone (required) and optional place."""

    time_zone: str
    country_or_region: str | None = None
    country_or_region_confidence: float | None = None
    latitude: float | None = None
    longitude: float | None = None


class FileReference(WireModel):
    """A OneDrive or SharePoint file, sent exactly as the user gave its URL."""

    uri: str


class WebContext(WireModel):
    is_web_enabled: bool


class ContextualResources(WireModel):
    """``copilotContextualResources``: files to ground on and the per-turn web toggle."""

    files: list[FileReference] | None = None
    web_context: WebContext | None = None


class ChatRequest(WireModel):
    """Body of ``/chat`` and ``/chatOverStream``."""

    message: RequestMessage
    location_hint: LocationHint
    additional_context: list[ContextMessage] | None = None
    contextual_resources: ContextualResources | None = None


# --- responses ---------------------------------------------------------------------------


class SensitivityLabel(WireModel):
    """``searchSensitivityLabelInfo``. All fields null means "no label", not "public".

    The chat examples spell ``tooltip``, the retrieval example ``toolTip``: both are read.
    The example ids are not valid GUIDs, so the id stays a plain string.
    """

    sensitivity_label_id: str | None = None
    display_name: str | None = None
    tooltip: str | None = Field(
        default=None, validation_alias=AliasChoices("tooltip", "toolTip"), serialization_alias="tooltip"
    )
    priority: int | None = None
    color: str | None = None
    is_encrypted: bool | None = None

    @property
    def is_empty(self) -> bool:
        return self.sensitivity_label_id is None and self.display_name is None


class Attribution(WireModel):
    """``copilotConversationAttribution``: a citation (marker ``[^n^]``) or an entity annotation."""

    attribution_type: AttributionType | None = None
    attribution_source: AttributionSource | None = None
    provider_display_name: str | None = None
    see_more_web_url: str | None = None
    image_web_url: str | None = None
    image_fav_icon: str | None = None
    image_width: int | None = None
    image_height: int | None = None


class ResponseMessage(ReplyModel):
    """``copilotConversationResponseMessage`` (also used for the prompt echo)."""

    odata_type: str | None = Field(default=None, alias="@odata.type")
    id: str | None = None
    text: str | None = None
    created_date_time: datetime | None = None
    adaptive_cards: list[dict[str, Any]] = Field(default_factory=list)
    attributions: list[Attribution] = Field(default_factory=list)
    sensitivity_label: SensitivityLabel | None = None


class Conversation(ReplyModel):
    """``copilotConversation``: what create, ``/chat`` and every stream event return.

    Create's example spells the state field ``status``; replies say ``state``. Both are read.
    """

    odata_context: str | None = Field(default=None, alias="@odata.context")
    id: str
    agent_id: str | None = None
    created_date_time: datetime | None = None
    display_name: str | None = None
    state: ConversationState | None = Field(
        default=None, validation_alias=AliasChoices("state", "status"), serialization_alias="state"
    )
    # turnCount null (or junk) reads as 0, "no finished turn yet" (tolerant reading); the stream
    # assembler still recognises a final snapshot whose count is missing (see streaming.py).
    turn_count: int = 0
    messages: list[ResponseMessage] = Field(default_factory=list)


class GraphInnerError(WireModel):
    request_id: str | None = Field(default=None, alias="request-id")
    client_request_id: str | None = Field(default=None, alias="client-request-id")
    date: str | None = None


class GraphErrorDetail(WireModel):
    code: str = ""
    message: str = ""
    inner_error: GraphInnerError | None = Field(
        default=None, validation_alias=AliasChoices("innerError", "innererror"), serialization_alias="innerError"
    )


class GraphError(WireModel):
    """Graph's error envelope: ``{"error": {"code", "message", "innerError": {...}}}``."""

    error: GraphErrorDetail


# --- retrieval ---------------------------------------------------------------------------


class ExternalConnection(WireModel):
    connection_id: str


class ExternalItemConfiguration(WireModel):
    connections: list[ExternalConnection] = Field(default_factory=list)


class SharePointEmbeddedConfiguration(WireModel):
    """Beta: which SharePoint Embedded container type to search."""

    container_type_id: str


class DataSourceConfiguration(WireModel):
    external_item: ExternalItemConfiguration | None = None
    share_point_embedded: SharePointEmbeddedConfiguration | None = None


class RetrievalRequest(WireModel):
    """Body of ``POST /copilot/retrieval``."""

    query_string: str
    data_source: str
    data_source_configuration: DataSourceConfiguration | None = None
    filter_expression: str | None = None
    resource_metadata: list[str] | None = None
    maximum_number_of_results: int | None = None

    @field_validator("maximum_number_of_results", mode="before")
    @classmethod
    def _numeric_string(cls, value: Any) -> Any:
        # The reference's examples send "10" as a string.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value


class RetrievalExtract(WireModel):
    text: str = ""
    relevance_score: float | None = None


class RetrievalHit(ReplyModel):
    """One hit as sent. ``web_url`` may be missing: the extracts are still worth having."""

    web_url: str | None = None
    extracts: list[RetrievalExtract] = Field(default_factory=list)
    resource_type: str | None = None
    resource_metadata: dict[str, Any] = Field(default_factory=dict)
    sensitivity_label: SensitivityLabel | None = None


class RetrievalResponse(ReplyModel):
    retrieval_hits: list[RetrievalHit] = Field(default_factory=list)


class BatchRequestItem(WireModel):
    id: str
    method: str
    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


class BatchRequest(WireModel):
    requests: list[BatchRequestItem]


class BatchResponseItem(WireModel):
    id: str
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        # Header values have been seen as numbers ("Retry-After": 10); read them as text.
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else _header_text(v) for k, v in value.items()}
        _warn("BatchResponseItem", ("headers",), value, "ignored")
        return {}


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_header_text(v) for v in value)
    return "" if value is None else str(value)


class BatchResponse(ReplyModel):
    responses: list[BatchResponseItem] = Field(default_factory=list)
