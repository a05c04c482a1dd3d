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

import logging
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

logger = logging.getLogger("copilot_tools.wire")
_Model = TypeVar("_Model", bound=BaseModel)

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
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the service sends or expects it (aliases, no unset fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- tolerant reading -------------------------------------------------------------------


def _odd(model: str, field: str, value: Any, instead: str) -> None:
    shown = repr(value)
    logger.warning("the service sent an odd %s.%s (%s); %s", model, field,
                   shown if len(shown) <= 60 else shown[:57] + "...", instead)


def _or_default(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo, default: Any, *, warn_null: bool = False
) -> Any:
    """``handler(value)``, or ``default`` with a warning when the value does not fit."""
    model = str((info.config or {}).get("title") or "response")
    if value is None:
        if warn_null:
            _odd(model, info.field_name or "?", value, f"read as {default!r}")
        return default
    try:
        return handler(value)
    except ValidationError:
        _odd(model, info.field_name or "?", value, f"read as {default!r}")
        return default


def _tolerant_items(value: Any, handler: ValidatorFunctionWrapHandler, model: type[_Model], field: str) -> Any:
    """The list validated whole (the fast, usual case); else only its items that validate as ``model``."""
    if value is None:
        return []
    if not isinstance(value, list):
        _odd(model.__name__, field, value, "not a list; ignored")
        return []
    try:
        return handler(value)
    except ValidationError:
        pass
    kept: list[Any] = []
    for item in value:
        try:
            kept.append(item if isinstance(item, model) else model.model_validate(item))
        except ValidationError:
            _odd(model.__name__, field, item, "left out")
    return handler(kept)


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


class ResponseOptions(WireModel):
    """Newer SDK field with undocumented behaviour; modelled so callers can pass it through."""

    is_adaptive_card_enabled: bool | None = None
    is_annotations_enabled: bool | None = None
    is_delta_streaming_enabled: bool | None = None


class ChatRequest(WireModel):
    """Body of ``/chat`` and ``/chatOverStream``."""

    message: RequestMessage
    location_hint: LocationHint
    additional_context: list[ContextMessage] | None = None
    contextual_resources: ContextualResources | None = None
    response_options: ResponseOptions | None = None


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


class ResponseMessage(WireModel):
    """``copilotConversationResponseMessage`` (also used for the prompt echo)."""

    odata_type: str | None = Field(default=None, alias="@odata.type")
    id: str | None = None
    text: str | None = None
    created_date_time: datetime | None = None
    adaptive_cards: list[dict[str, Any]] = Field(default_factory=list)
    attributions: list[Attribution] = Field(default_factory=list)
    sensitivity_label: SensitivityLabel | None = None

    @field_validator("adaptive_cards", mode="before")
    @classmethod
    def _cards(cls, value: Any) -> list[dict[str, Any]]:
        # Cards have been seen as objects; a card sent as a JSON string is read, anything
        # else (null, a number, text that is not a JSON object) is left out.
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        cards: list[dict[str, Any]] = []
        for card in value:
            if isinstance(card, str):
                from copilot_tools import _json

                try:
                    card = _json.loads(card)
                except ValueError:
                    pass
            if isinstance(card, dict):
                cards.append(card)
            elif card is not None:
                _odd("ResponseMessage", "adaptiveCards", card, "not a card; left out")
        return cards

    @field_validator("attributions", mode="wrap")
    @classmethod
    def _attributions(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return _tolerant_items(value, handler, Attribution, "attributions")

    @field_validator("created_date_time", "sensitivity_label", mode="wrap")
    @classmethod
    def _optional(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, None)


class Conversation(WireModel):
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
    turn_count: int = 0
    messages: list[ResponseMessage] = Field(default_factory=list)

    @field_validator("messages", mode="wrap")
    @classmethod
    def _messages(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return _tolerant_items(value, handler, ResponseMessage, "messages")

    @field_validator("created_date_time", mode="wrap")
    @classmethod
    def _optional(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, None)

    @field_validator("turn_count", mode="wrap")
    @classmethod
    def _count(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        # null (or junk) reads as 0, "no finished turn yet"; the stream assembler still
        # recognises a final snapshot whose count is missing (see streaming.py).
        return _or_default(value, handler, info, 0, warn_null=True)


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


class DataSourceConfiguration(WireModel):
    external_item: ExternalItemConfiguration | None = None


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

    @field_validator("text", mode="wrap")
    @classmethod
    def _text(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, "", warn_null=True)

    @field_validator("relevance_score", mode="wrap")
    @classmethod
    def _score(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, None)


class RetrievalHit(WireModel):
    """One hit as sent. ``web_url`` may be missing: the extracts are still worth having."""

    web_url: str | None = None
    extracts: list[RetrievalExtract] = Field(default_factory=list)
    resource_type: str | None = None
    resource_metadata: dict[str, Any] = Field(default_factory=dict)
    sensitivity_label: SensitivityLabel | None = None

    @field_validator("extracts", mode="wrap")
    @classmethod
    def _extracts(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return _tolerant_items(value, handler, RetrievalExtract, "extracts")

    @field_validator("resource_metadata", mode="wrap")
    @classmethod
    def _metadata(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, {})

    @field_validator("web_url", "resource_type", "sensitivity_label", mode="wrap")
    @classmethod
    def _optional(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return _or_default(value, handler, info, None)


class RetrievalResponse(WireModel):
    retrieval_hits: list[RetrievalHit] = Field(default_factory=list)

    @field_validator("retrieval_hits", mode="wrap")
    @classmethod
    def _hits(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if value is None:
            _odd("RetrievalResponse", "retrievalHits", value, "read as no hits")
        return _tolerant_items(value, handler, RetrievalHit, "retrievalHits")


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
        _odd("BatchResponseItem", "headers", value, "ignored")
        return {}


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_header_text(v) for v in value)
    return "" if value is None else str(value)


class BatchResponse(WireModel):
    responses: list[BatchResponseItem] = Field(default_factory=list)
