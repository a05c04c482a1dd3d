"""Graph-shaped errors and the request context they quote.

Every failure the emulator sends has Graph's envelope,
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``,
built from the shared ``GraphError`` model, so that a client's error mapping is tested
against exactly what it will parse in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from copilot_tools._wire import GraphError, GraphErrorDetail, GraphInnerError
from copilot_tools.emulator.ids import IdSource, utc_now


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What every answer to one request quotes: its ids and when it arrived."""

    request_id: str
    client_request_id: str
    received: datetime

    @classmethod
    def new(cls, ids: IdSource, client_request_id: str | None) -> RequestContext:
        request_id = ids.new()
        # Graph echoes the caller's client-request-id and makes one up when there is none.
        return cls(request_id, (client_request_id or "").strip()[:128] or request_id, utc_now())

    @property
    def headers(self) -> dict[str, str]:
        return {"request-id": self.request_id, "client-request-id": self.client_request_id}


@dataclass(slots=True)
class Outcome:
    """A JSON answer before it becomes an HTTP response (or a ``$batch`` sub-response)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised anywhere in a handler; the app answers with the Graph error it describes."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def outcome(self, ctx: RequestContext) -> Outcome:
        return Outcome(self.status, error_body(self.code, self.message, ctx), dict(self.headers))


def error_body(code: str, message: str, ctx: RequestContext) -> dict[str, Any]:
    error = GraphError(
        error=GraphErrorDetail(
            code=code,
            message=message,
            inner_error=GraphInnerError(date=f"{ctx.received:%Y-%m-%dT%H:%M:%S}", **ctx.headers),
        )
    )
    return error.model_dump(mode="json", by_alias=True)


def bad_request(message: str) -> ApiError:
    """400 with the code Graph uses for a body it refuses."""
    return ApiError(400, "badRequest", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "itemNotFound", message)


Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: Any, what: str) -> Model:
    """``data`` as ``model``, or the 400 that names the first field it refuses."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise bad_request(f"Invalid {what} at '{where}': {first['msg']}.") from None
