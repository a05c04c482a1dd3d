"""Faults on demand: the failures of the real service, one header away.

Ask for a fault with a request header, or for every request with a start option:

    x-emulator-fault: NAME[;param=value]...[, NAME[;param=value]...]
    copilot-tools emulator --fault 'throttle;retry-after=2' --fault 'latency;ms=300'

Several faults are separated by commas; parameters follow a fault's name after
semicolons. Names are case-insensitive. An unknown name or parameter is a 400 that lists
the known ones (or, as a start option, an error at start-up).

Faults that answer instead of the endpoint (nothing runs, no turn is counted):

- `throttle`: 429 `TooManyRequests` with `Retry-After: <retry-after>` (default 1)
- `unavailable`: 503 `serviceNotAvailable` with `Retry-After: <retry-after>` (default 1)
- `gateway-timeout`: 504 `GatewayTimeout`
- `server-error`: 500 `InternalServerError`
- `ic3-500`: 500 `internalServerError`, "Got Non-2xx response from IC3. Status = 403 (Forbidden)": the user
  lacks an Exchange/Teams licence (seen in the field)
- `forbidden`: 403 `Authorization_RequestDenied`, "Either scp or roles claim need to be present in the token."
- `license-403`: 403 whose body is a copilotConversation in which Copilot says the user has no valid licence
  (seen in the field; a Graph error on retrieval)
- `claims`: 401 `InvalidAuthenticationToken` with `WWW-Authenticate: Bearer … error="insufficient_claims",
  claims="<base64 JSON>"` (a continuous access evaluation challenge)
- `gone`: 410 `Gone` on a turn: the conversation has expired (create and retrieval ignore it, so that a client
  can create the conversation it then loses)

Faults that change the answer:

- `latency`: wait `ms` milliseconds (default 500) before answering; any endpoint
- `cut`: drop the connection after `after` events (default 1) of a stream, or halfway through the body of
  `/chat`, retrieval or `$batch`: the client sees a broken connection, never a clean end
- `malformed`: the event that follows the first `after` events (default 1) of a stream is not valid JSON; the
  events after it are whole again
- `rewrite`: halfway through a stream, one snapshot shows the line being written without its tags and markers
  and with a trailing "…"; the next snapshot does not extend it (the service rewrites text when it inserts
  markers)
- `rai`: the turn is declined: `state: "disengagedForRai"` on the reply and on every snapshot
- `empty`: the reply's text is empty
- `no-final`: the stream ends cleanly after the intermediate events, without the final snapshot
- `unsupported-citation`: the reply's last numbered citation points at a tenant file that does not contain
  what the cited lines say (the text is unchanged), so that `client.verify` has a claim to flag

`cut`, `malformed`, `rewrite`, `rai`, `empty`, `no-final` and `unsupported-citation` concern turns (`/chat`,
`/chatOverStream`; `cut` also retrieval and `$batch`); create ignores them, so a client
that creates a conversation on the way to a faulty turn is not tripped up early.

Parameters every fault takes:

- `count=N`: only the first N requests carrying this exact header value get the fault
  (one counter per distinct header value, or per `--fault` option), so
  `throttle;retry-after=0;count=1` means "throttle once, then succeed";
- `key=ANYTHING`: no effect but to make a header value unique, so that its `count` is
  not shared with other tests: `throttle;count=1;key=test-42`;
- `in=batch`: on a `$batch` request, the fault hits its sub-requests one by one instead
  of the whole batch, and `count` counts sub-requests. A client cannot set the headers of
  sub-requests, so `throttle;retry-after=0;count=1;in=batch` on the batch is how to get
  one 429 among twenty 200s. (A sub-request's own `x-emulator-fault` header, in its
  `headers`, applies to that sub-request alone.)

One more request header: `x-emulator-layout: captured|strict|pretty` chooses a stream's
layout for one request (as the service was captured sending it, spec-conforming SSE, or
the reference's multi-line rendering; `compact` is an old name of `strict`). The `after`
of `cut` and `malformed` counts events after the leading keep-alives.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from copilot_tools.emulator.errors import ApiError
from copilot_tools.emulator.text import whole_number

STATUS_FAULTS = (
    "throttle", "unavailable", "gateway-timeout", "server-error", "ic3-500",
    "forbidden", "license-403", "claims", "gone",
)
TURN_FAULTS = ("cut", "malformed", "rewrite", "rai", "empty", "no-final", "unsupported-citation")
#: Status faults that only make sense on a turn of an existing conversation.
TURN_ONLY = ("gone",)
KNOWN = (*STATUS_FAULTS, "latency", *TURN_FAULTS)
_INT_PARAMS = ("count", "retry-after", "ms", "after")
_PARAMS = (*_INT_PARAMS, "key", "in")
HEADER = "x-emulator-fault"
LICENSE_TEXT = (
    "It looks like you don't have a valid license to use Microsoft 365 Copilot. "
    "Please contact your administrator to get access."
)


class FaultSpecError(ValueError):
    """A fault spec the emulator does not understand; the message lists what it does."""


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    params: tuple[tuple[str, int | str], ...] = ()

    def get(self, name: str, default: int) -> int:
        value = dict(self.params).get(name, default)
        return value if isinstance(value, int) else default

    @property
    def in_batch(self) -> bool:
        """``in=batch``: aimed at the sub-requests of a ``$batch``, not at the batch itself."""
        return "in" in dict(self.params)


def parse_faults(spec: str) -> tuple[Fault, ...]:
    """``"throttle;retry-after=0;count=1, latency;ms=50"`` -> two faults; raises ``FaultSpecError``."""
    faults: list[Fault] = []
    for part in spec.split(","):
        if not part.strip():
            continue
        name, *pairs = (piece.strip() for piece in part.split(";"))
        name = name.lower()
        if name not in KNOWN:
            raise FaultSpecError(f"unknown emulator fault {name!r}; known faults: {', '.join(KNOWN)}")
        params: list[tuple[str, int | str]] = []
        for pair in pairs:
            if not pair:
                continue
            key, sep, value = (piece.strip() for piece in pair.partition("="))
            key = key.lower()
            if not sep or key not in _PARAMS:
                raise FaultSpecError(f"fault {name!r}: {pair!r} is not one of {', '.join(p + '=' for p in _PARAMS)}")
            if key == "in" and value.lower() != "batch":
                raise FaultSpecError(f"fault {name!r}: in= only takes 'batch', not {value!r}")
            if key in _INT_PARAMS:
                number = whole_number(value)
                if number is None:
                    raise FaultSpecError(f"fault {name!r}: {key} must be a whole number, not {value[:20]!r}")
                params.append((key, number))
            else:
                params.append((key, value))
        faults.append(Fault(name, tuple(params)))
    return tuple(faults)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What one request suffers: a delay, maybe a status answer, maybe a broken turn."""

    latency_ms: int = 0
    statuses: tuple[Fault, ...] = ()
    turn: dict[str, Fault] = field(default_factory=dict)

    def status(self, *, on_turn: bool) -> Fault | None:
        """The status fault that answers this request instead of the endpoint, if any."""
        return next((f for f in self.statuses if on_turn or f.name not in TURN_ONLY), None)

    def has(self, name: str) -> bool:
        return name in self.turn

    def after(self, name: str, default: int) -> int | None:
        fault = self.turn.get(name)
        return None if fault is None else fault.get("after", default)


class FaultSwitch:
    """The start-option faults plus the per-header-value counters behind ``count=``."""

    def __init__(self, start_specs: Sequence[str] = ()) -> None:
        self._start = [(f"--fault {spec}", parse_faults(spec)) for spec in start_specs]
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, source: str) -> int:
        with self._lock:
            self._seen[source] = self._seen.get(source, 0) + 1
            if len(self._seen) > 100_000:  # bounded: unique keys per test must not grow forever
                self._seen = {source: self._seen[source]}
            return self._seen[source]

    def _plan(self, sources: Sequence[tuple[str, Sequence[Fault]]], latency: int = 0) -> FaultPlan:
        statuses: list[Fault] = []
        turn: dict[str, Fault] = {}
        for source, faults in sources:
            counted = any(fault.get("count", -1) >= 0 for fault in faults)
            seen = self._count(source) if counted else 0
            for fault in faults:
                if seen > fault.get("count", seen):
                    continue
                if fault.name == "latency":
                    latency += fault.get("ms", 500)
                elif fault.name in STATUS_FAULTS:
                    statuses.append(fault)
                else:
                    turn.setdefault(fault.name, fault)
        return FaultPlan(latency, tuple(statuses), turn)

    def _sources(self, header: str | None) -> list[tuple[str, tuple[Fault, ...]]]:
        sources = list(self._start)
        if header and header.strip():
            sources.append((header.strip(), parse_faults(header)))
        return sources

    def plan(self, header: str | None, *, extra_latency_ms: int = 0) -> FaultPlan:
        """The faults this request gets; raises ``FaultSpecError`` for a bad header."""
        sources = [(key, tuple(f for f in faults if not f.in_batch)) for key, faults in self._sources(header)]
        return self._plan([(key, faults) for key, faults in sources if faults], extra_latency_ms)

    def plan_item(self, batch_header: str | None, item_header: str | None) -> FaultPlan:
        """The faults of one ``$batch`` sub-request: the batch's ``in=batch`` faults (their
        ``count`` counts sub-requests) and the sub-request's own header."""
        sources = [(f"{key} [in batch]", tuple(f for f in faults if f.in_batch))
                   for key, faults in self._sources(batch_header)]
        if item_header and item_header.strip():
            sources.append((item_header.strip(), parse_faults(item_header)))
        return self._plan([(key, faults) for key, faults in sources if faults])


def _claims_challenge() -> str:
    claims = {"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}}
    encoded = base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{encoded}"'
    )


_CAE_MESSAGE = (
    "Continuous access evaluation resulted in challenge with result: InteractionRequired "
    "and code: TokenIssuedBeforeRevocationTimestamp"
)
#: name -> (status, Graph code, message) of each status fault.
_STATUS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "TooManyRequests",
                 "Too many requests. Please retry after the time given in the Retry-After header."),
    "unavailable": (503, "serviceNotAvailable", "The Copilot service is temporarily unavailable. Please retry later."),
    "gateway-timeout": (504, "GatewayTimeout",
                        "The gateway did not receive a response from the Copilot service in time."),
    "server-error": (500, "InternalServerError", "An internal server error occurred."),
    "ic3-500": (500, "internalServerError", "Got Non-2xx response from IC3. Status = 403 (Forbidden)"),
    "forbidden": (403, "Authorization_RequestDenied", "Either scp or roles claim need to be present in the token."),
    "license-403": (403, "Forbidden", LICENSE_TEXT),
    "claims": (401, "InvalidAuthenticationToken", _CAE_MESSAGE),
    "gone": (410, "Gone", "The conversation has expired and can no longer be continued."),
}


def status_error(fault: Fault) -> ApiError:
    """The Graph error a status fault answers with (on conversation endpoints the app sends
    ``license-403`` as the conversation the service was seen to send instead)."""
    status, code, message = _STATUS[fault.name]
    headers: dict[str, str] = {}
    if fault.name in ("throttle", "unavailable"):
        headers["Retry-After"] = str(fault.get("retry-after", 1))
    if fault.name == "claims":
        headers["WWW-Authenticate"] = _claims_challenge()
    return ApiError(status, code, message, headers)
