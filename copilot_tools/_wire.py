"""Pydantic models of the JSON on the wire, named as the API names them.

The client and the emulator both speak through these models, so the two can never
drift apart. Every model keeps unknown fields (``extra="allow"``): the service grows
fields between our releases and a new field must never turn a good answer into an
error. Python attributes are snake_case; ``by_alias`` dumps give the wire's camelCase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

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

    @field_validator("adaptive_cards", "attributions", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


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

    @field_validator("messages", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


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


class RetrievalHit(WireModel):
    web_url: str
    extracts: list[RetrievalExtract] = Field(default_factory=list)
    resource_type: str | None = None
    resource_metadata: dict[str, Any] = Field(default_factory=dict)
    sensitivity_label: SensitivityLabel | None = None

    @field_validator("extracts", "resource_metadata", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "resource_metadata" else []
        return value


class RetrievalResponse(WireModel):
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


class BatchResponse(WireModel):
    responses: list[BatchResponseItem] = Field(default_factory=list)
