"""The shape of a tool: ``ToolSpec``, what it runs with (``ToolContext``), what it returns (``ToolOutput``).

A spec says everything a framework needs to publish and run one tool, and nothing about
the framework: the MCP server and the LangChain tools each wrap every spec in one
generic adapter. See the package docstring for the contract.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from copilot_tools._text import encodable
from copilot_tools.errors import InvalidInputError

if TYPE_CHECKING:
    from copilot_tools.answer import Answer
    from copilot_tools.client import AsyncCopilotClient

__all__ = [
    "CoreOutput",
    "Identity",
    "IdentityLookup",
    "ProgressCallback",
    "SourceLink",
    "ToolContext",
    "ToolHints",
    "ToolInput",
    "ToolOutput",
    "ToolSpec",
    "Transcripts",
    "Turn",
]

#: ``await progress(message)``: one human-readable progress report ("Copilot is answering: …").
ProgressCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Turn:
    """One question held in a conversation, with Copilot's answer to it."""

    question: str
    answer: Answer


class Transcripts(Protocol):
    """Where the conversation tools record each turn, and where later tools look them up.

    One user's view (a framework hands each caller their own). Async so a store can live
    outside the process.
    """

    async def record(self, question: str, answer: Answer) -> None: ...

    async def turns(self, conversation_id: str) -> Sequence[Turn] | None: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the tools act as, as far as the framework knows it (no secret in here)."""

    username: str | None = None
    name: str | None = None
    tenant_id: str | None = None
    object_id: str | None = None
    #: How the identity is known: "token claims", "validated bearer token", ...
    source: str | None = None
    expires_at: str | None = None
    scopes: tuple[str, ...] = ()


#: ``await identity()``: the caller's identity, or None when the framework cannot tell.
IdentityLookup = Callable[[], Awaitable[Identity | None]]


@dataclass(frozen=True, slots=True)
class ToolHints:
    """What a host may assume about a tool (MCP's tool annotations, framework-neutral).

    ``read_only``: the call changes nothing the user can see. The conversation tools are
    NOT read-only: each call appends a turn to the user's Copilot conversation history.
    """

    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


@dataclass(frozen=True, slots=True)
class SourceLink:
    """A source a result cites, for hosts that show links (MCP ``resource_link``)."""

    uri: str
    title: str
    mime_type: str | None = None


@dataclass(slots=True)
class ToolContext:
    """What a tool runs with. Only ``client`` is required; the rest is what the framework offers.

    ``progress``: called with human-readable reports while a call runs (streamed answer
    growth, throttling back-off). ``transcripts``: the caller's conversation store
    (``record`` by the conversation tools; ``past_answer`` for tools that check earlier
    answers). ``identity``: the caller as the framework authenticated them (else the
    status tool reads the token's claims). ``progress_interval``: the least time between
    two reports of a streamed answer. ``throttle_budget``: the longest a call may spend
    waiting out throttling before it returns the throttled error with ``retry_after``
    (None: the client's own retry policy alone decides).
    """

    client: AsyncCopilotClient
    progress: ProgressCallback | None = None
    transcripts: Transcripts | None = None
    identity: IdentityLookup | None = None
    progress_interval: float = 0.2
    throttle_budget: float | None = None
    started: float = field(default_factory=time.monotonic)

    async def report(self, message: str) -> None:
        """One progress report (nothing when the framework took no callback)."""
        if self.progress is not None:
            await self.progress(message)

    async def past_answer(self, conversation_id: str, turn: int | None = None) -> Answer | None:
        """The answer of Copilot turn ``turn`` (``Answer.turn_count``) of a conversation held here;
        the latest when ``turn`` is None; None when unknown or no store was given."""
        if self.transcripts is None:
            return None
        turns = await self.transcripts.turns(conversation_id)
        if not turns:
            return None
        if turn is None:
            return turns[-1].answer
        return next((t.answer for t in reversed(turns) if t.answer.turn_count == turn), None)


class ToolInput(BaseModel):
    """Base of the input models: unknown arguments are refused (a misspelt one is not silently lost)."""

    model_config = ConfigDict(extra="forbid")


class ToolOutput(BaseModel):
    """Base of the output models: the structured result, plus what a model reads and the sources."""

    model_config = ConfigDict(extra="forbid")

    def text(self) -> str:
        """What the model reads (untrusted text spotlighted as data)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)

    def sources(self) -> list[SourceLink]:
        """The sources this result cites, in order, once each."""
        return []

    def structured(self) -> dict[str, Any]:
        """The JSON published as the structured result (MCP ``structuredContent``, LangChain artifact)."""
        return self.model_dump(mode="json")


Core = TypeVar("Core")


class CoreOutput(ToolOutput, Generic[Core]):
    """An output made from a core result (an ``Answer``, a ``Verification``): its structured form
    is the core's own ``structured()``, and the core object, kept, writes what the model reads.

    One validated from JSON alone (no core object) reads as its JSON.
    """

    _core: Core | None = PrivateAttr(default=None)

    @classmethod
    def from_core(cls, core: Core, structured: Mapping[str, Any]) -> Self:
        output = cls.model_validate(structured)
        output._core = core
        return output

    def text(self) -> str:
        return super().text() if self._core is None else self.render(self._core)

    def render(self, core: Core) -> str:
        """What the model reads, written from the core object."""
        raise NotImplementedError


In = TypeVar("In", bound=ToolInput)
Out = TypeVar("Out", bound=ToolOutput)


@dataclass(frozen=True)
class ToolSpec(Generic[In, Out]):
    """One tool, written once.

    ``name``, ``title`` and ``description`` are what hosts and models read; ``input_model``
    and ``output_model`` are the argument and result schemas; ``hints`` the annotations.
    ``core_arguments`` maps the core's argument names to this tool's where they differ
    (the core calls ``question`` ``message``), so an error names what the model sent.
    ``run(ctx, args)`` does the work and returns the output model, or raises
    ``CopilotError`` (the adapters turn it into the same tool error everywhere).
    """

    name: str
    title: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    hints: ToolHints
    run: Callable[[ToolContext, In], Awaitable[Out]]
    core_arguments: Mapping[str, str] = field(default_factory=dict)

    @property
    def argument_names(self) -> dict[str, str]:
        """Every name an input error may carry (the tool's own and the core's) → the tool's name."""
        return {**{name: name for name in self.input_model.model_fields}, **self.core_arguments}

    def parse(self, arguments: Mapping[str, Any]) -> In:
        """Validate raw arguments (what a model sent) into the input model.

        Raises ``InvalidInputError`` naming the first wrong argument, in words (no
        validator jargon or links). A list or object sent as JSON text, as some hosts do,
        is read as what it spells.
        """
        if not isinstance(arguments, Mapping):
            got = type(arguments).__name__
            raise InvalidInputError("arguments", f"expected an object of named arguments, got {got}")
        try:
            return self.input_model.model_validate(_json_text_decoded(self.input_model, arguments))
        except ValidationError as exc:
            raise arguments_error(exc, self.input_model) from None

    async def __call__(self, ctx: ToolContext, arguments: Mapping[str, Any]) -> Out:
        """``parse`` then ``run``: what an adapter calls with a model's raw arguments."""
        return await self.run(ctx, self.parse(arguments))


def _json_text_decoded(model: type[BaseModel], arguments: Mapping[str, Any]) -> dict[str, Any]:
    decoded = dict(arguments)
    for name, info in model.model_fields.items():
        value = decoded.get(name)
        if isinstance(value, str) and _takes_container(info.annotation) and value.lstrip()[:1] in ("[", "{"):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if isinstance(parsed, (list, dict)):
                decoded[name] = parsed
    return decoded


def _takes_container(annotation: Any) -> bool:
    """Whether a field accepts a list or an object (so JSON text in a string may spell one)."""
    origin = get_origin(annotation)
    if origin in (list, dict, tuple):
        return True
    return any(_takes_container(arg) for arg in get_args(annotation)) if origin is not None else False


_PHRASES = {
    "missing": "this argument is required",
    "extra_forbidden": "this tool has no such argument",
}


#: An error quotes at most this many problems, each name in a location cut to this many characters
#: (the names of unknown arguments are the model's, of any number and length).
MAX_PROBLEMS = 5
MAX_NAME_SHOWN = 64


def shown_name(part: object, limit: int = MAX_NAME_SHOWN) -> str:
    """A location part (or another name the model sent) as an error quotes it: bounded, and encodable."""
    text = str(part)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return encodable(text)


def arguments_error(exc: ValidationError, model: type[BaseModel]) -> InvalidInputError:
    """The ``InvalidInputError`` for arguments off ``model``'s schema: which argument, what is wrong, what to do."""
    problems: list[tuple[str, str]] = []
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    for error in errors[:MAX_PROBLEMS]:
        location = [shown_name(part) for part in error.get("loc", ())]
        argument = location[0] if location else "arguments"
        where = argument + "".join(f"[{part}]" for part in location[1:])
        problems.append((argument, f"`{where}`: {_PHRASES.get(error.get('type', ''), error.get('msg', 'invalid'))}"))
    if not problems:  # pragma: no cover - pydantic never raises an empty ValidationError
        return InvalidInputError("arguments", "the arguments do not match the tool's input schema")
    first = problems[0][0]
    detail = "; ".join(text for _, text in problems)
    if len(errors) > MAX_PROBLEMS:
        detail += f"; and {len(errors) - MAX_PROBLEMS} more"
    detail = detail.removeprefix(f"`{first}`: ")
    hint = "Fix the argument and call the tool again; the tool's input schema lists each argument's type and limits."
    if any(first == argument and "no such argument" in text for argument, text in problems):
        hint = f"Call the tool again with only its arguments: {', '.join(sorted(model.model_fields))}."
    return InvalidInputError(first, detail, hint=hint)

