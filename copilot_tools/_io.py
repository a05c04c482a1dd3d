"""What the two client loops share that touches the outside world.

``_base`` and ``_exchange`` decide; this module holds the few helpers that read
``httpx`` objects, the clock and the machine's time zone, so the sans-IO layer really
is free of I/O. ``CopilotClient`` and ``AsyncCopilotClient`` run a plan with ``Steps`` and
build each request with ``Attempt``; what they do not share is how they wait and move bytes
(``read_body`` and ``Watchdog`` cut a sync read at the deadline, where the async client cancels).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Self, TypeVar

import httpx

from copilot_tools import _protocol as protocol
from copilot_tools._base import ATTEMPT_HEADERS
from copilot_tools._exchange import Failed, Outcome, Plan, Received, RunFlow, Send, Sleep, request_was_sent
from copilot_tools._redact import redact
from copilot_tools._retry import Deadline
from copilot_tools.errors import AuthenticationError, ServiceError
from copilot_tools.settings import Settings

if TYPE_CHECKING:
    from copilot_tools._base import ClientCore

logger = logging.getLogger("copilot_tools.client")
_Pool = TypeVar("_Pool", httpx.Client, httpx.AsyncClient)

#: A timeout that fires this close to the deadline is the deadline's doing (timers are coarse).
DEADLINE_SLACK = 0.05
#: Connecting and writing take seconds, never minutes.
CONNECT_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0


class _CookiesWhenSet(httpx.Cookies):
    """The client's own pool's cookies: a response is read for cookies only when it sets one.

    ``httpx.Client`` hands every response to ``cookies.extract_cookies``, which builds a
    ``urllib`` request from the httpx one (its URL parsed again, its headers copied) and a
    mail-style header object before the jar finds that a Copilot reply sets no cookie: 15-30 us
    a response, most of what a ``/chat`` turn still cost over bare httpx (1.085 -> 1.03,
    benchmarks/client_overhead.py). The jar does nothing else for such a response. One that
    names ``Set-Cookie`` (or ``Set-Cookie2``) is read exactly as before, into the same jar.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        names = response.headers.keys()  # lower-cased, as the jar matches them
        if "set-cookie" in names or "set-cookie2" in names:
            super().extract_cookies(response)


def own_pool(pool: _Pool) -> _Pool:
    """``pool``, made by the client for itself, reading cookies only from responses that set some.

    A pool the caller passes in (``http_client=``) is left as it is. httpx keeps a client's
    cookies in ``_cookies`` (0.27, 0.28); should it not, the pool stays as httpx made it.
    """
    cookies = getattr(pool, "_cookies", None)
    if type(cookies) is httpx.Cookies:
        pool._cookies = _CookiesWhenSet(cookies.jar)  # the same (empty) jar
    return pool


def user_agent() -> str:
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
    """The connection pool's default timeouts: ``settings.timeout`` bounds each silence.

    Each attempt overrides them with ``attempt_timeout`` so that no wait outlasts the
    call's deadline.
    """
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=settings.timeout, write=WRITE_TIMEOUT, pool=CONNECT_TIMEOUT)


def attempt_timeout(settings: Settings, send: Send, remaining: float) -> dict[str, float]:
    """The timeouts of one attempt with ``remaining`` seconds left before the deadline.

    Where bytes flow (a stream, a retrieval) the read timeout is the silence bound
    ``timeout``. A synchronous turn (``/chat``) sends nothing until Copilot is done, so
    its read may last until the deadline (the service was seen taking 234 s).

    As the request's ``timeout`` extension (what ``httpx.Timeout(...).as_dict()`` gives and
    ``build_request`` would store): building the ``Timeout`` for ``build_request`` to copy and
    turn into this dict cost ~1 us an attempt.
    """
    remaining = max(remaining, 0.001)
    silent_until_done = send.operation == "turn" and not send.stream
    read = remaining if silent_until_done else min(settings.timeout, remaining)
    return {"connect": min(CONNECT_TIMEOUT, remaining), "read": read,
            "write": min(WRITE_TIMEOUT, remaining), "pool": min(CONNECT_TIMEOUT, remaining)}


_T = TypeVar("_T")


class Steps(Generic[_T]):
    """A plan as the I/O its driver does, one ``Send`` or ``Sleep`` at a time, within ``deadline``.

    What both clients' loops share lives here: nested flows (``RunFlow``) run inline, no
    attempt starts after the deadline, no back-off is started that would end after it,
    and a network failure the deadline caused becomes its ``DeadlineExceededError``. A
    driver only sleeps or sends, and sets ``outcome`` after each send::

        for step in steps:
            steps.outcome = perform(step)
        return steps.result
    """

    def __init__(self, plan: Plan[_T], deadline: Deadline) -> None:
        self._steps = _flattened(plan, deadline)
        #: What the last ``Send`` came to; sent back to the plan by the next ``__next__``.
        self.outcome: Outcome = None
        self.result: _T

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Send | Sleep:
        outcome, self.outcome = self.outcome, None
        try:
            return self._steps.send(outcome)
        except StopIteration as stop:
            self.result = stop.value
            raise StopIteration from None


def _flattened(plan: Plan[Any], deadline: Deadline) -> Generator[Send | Sleep, Outcome, Any]:
    try:
        action = next(plan)
    except StopIteration as stop:  # a plan with nothing to send (a verification without citations)
        return stop.value
    while True:
        outcome: Any = None
        if isinstance(action, RunFlow):
            outcome = yield from _flattened(action.flow, deadline)
        elif isinstance(action, Sleep):
            if not deadline.allows_wait(action.seconds):
                raise deadline.exceeded() from action.cause
            log_retry(action)
            yield action
        else:
            if deadline.expired():
                raise deadline.exceeded()
            outcome = within_deadline((yield action), action, deadline)
        try:
            action = plan.send(outcome)
        except StopIteration as stop:
            return stop.value


_PARSED_URLS: dict[str, httpx.URL] = {}
_PARSED_URLS_MAX = 256  # conversations a process talks to at once, roughly; past it the cache starts over


def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per URL rather than once per request.

    httpx parses a ``str`` URL in Python on every ``build_request`` (10-17 us: an ``Attempt`` of the
    benchmark's turn took 43 us, now 26 us, benchmarks/client_overhead.py); given a ``URL`` it
    copies the parsed parts (0.3 us). Every turn of a conversation goes to the same URL. A ``URL``
    is immutable, so one object may serve every request and thread; a racing ``clear`` only costs
    a parse again. The request built is the same: ``build_request`` turns a ``str`` into this very
    ``URL`` and joins it to a ``base_url`` only when it is relative, as it does with a ``URL``.
    """
    parsed = _PARSED_URLS.get(url)
    if parsed is None:
        if len(_PARSED_URLS) >= _PARSED_URLS_MAX:
            _PARSED_URLS.clear()
        parsed = _PARSED_URLS[url] = httpx.URL(url)
    return parsed


class _Shape(NamedTuple):
    """The header list ``build_request`` made for a request, and where its per-attempt values sit."""

    headers: list[tuple[bytes, bytes]]
    #: (index in ``headers``, name in the attempt's header dict) of each ``ATTEMPT_HEADERS`` value.
    slots: tuple[tuple[int, str], ...]
    #: The index of ``Content-Length``, which httpx sets from the body.
    length_at: int


#: Each pool's kept header lists, by host and header set (a handful); they go with the pool.
_SHAPES: weakref.WeakKeyDictionary[httpx.Client | httpx.AsyncClient, dict[tuple[object, ...], _Shape | None]] = (
    weakref.WeakKeyDictionary()
)
_SHAPES_MAX = 256  # past it a pool's cache starts over
#: Headers httpx adds or fills in itself: a request that names one is always left to ``build_request``.
_HTTPX_SETS = frozenset({b"host", b"content-length", b"transfer-encoding", b"cookie"})


def build_request(http: httpx.Client | httpx.AsyncClient, method: str, url: str, headers: dict[str, str],
                  body: Any, extensions: dict[str, Any]) -> httpx.Request:
    """``http.build_request(method, url, headers=headers, json=body, extensions=extensions)``, the same request.

    ``build_request`` merges the pool's headers with the request's, encodes the body and adds
    ``Host`` and ``Content-Length``, in some twenty small steps: 17 us of an attempt, as much as the
    rest of the client's request path together (benchmarks/client_overhead.py). Where those
    steps go depends on the header *names*, the values of the headers that stay, the pool's
    headers, the URL's host (``Host``) and the method; never on the values that
    ``ClientCore.http_request`` changes on each attempt (``ATTEMPT_HEADERS``), the URL's path or
    the body's length. So the first request of each such key is built by ``build_request`` and
    its header list kept; the next ones copy it with their own values in those places and the
    body httpx's own ``encode_json`` makes (~4 us in all; 1.125 -> 1.085). Cookies in the pool, query
    parameters, a relative URL or no ``timeout`` are always left to ``build_request``, and so is
    a key whose list is not plain (a per-attempt header named twice, a ``Host`` or
    ``Content-Length`` given by the caller). tests/unit/test_turn_request.py
    pins the bytes; tests/unit/test_request_shape.py compares both ways header set by header set.
    """
    parsed = parsed_url(url)
    if (body is None or _ENCODE_JSON is None or "timeout" not in extensions or http.cookies or http.params
            or parsed.is_relative_url):
        return http.build_request(method, parsed, headers=headers, json=body, extensions=extensions)
    key = (method, parsed.netloc, *http.headers.raw, *[(name, None if name in ATTEMPT_HEADERS else value)
                                                       for name, value in headers.items()])
    shapes = _SHAPES.get(http)
    if shapes is None:
        shapes = _SHAPES.setdefault(http, {})
    shape = shapes.get(key, _UNSEEN)
    if shape is _UNSEEN or shape is None:
        request = http.build_request(method, parsed, headers=headers, json=body, extensions=extensions)
        if shape is _UNSEEN:
            if len(shapes) >= _SHAPES_MAX:
                shapes.clear()
            shapes[key] = _shape(request, headers, http.headers)
        return request
    assert isinstance(shape, _Shape)
    content_headers, stream = _ENCODE_JSON(body)
    raw = shape.headers.copy()
    for index, name in shape.slots:
        raw[index] = (raw[index][0], headers[name].encode("ascii"))  # as httpx encodes a header value
    raw[shape.length_at] = (raw[shape.length_at][0], content_headers["Content-Length"].encode("ascii"))
    request = httpx.Request(method, parsed, headers=raw, stream=stream, extensions=extensions)
    request.read()  # as ``build_request`` leaves it: the content read (a ``ByteStream``: no copy)
    return request


_UNSEEN = _Shape([], (), 0)


def _httpx_json_encoder() -> Callable[[Any], tuple[dict[str, str], httpx.ByteStream]] | None:
    """httpx's own ``json=`` encoder (its body bytes and ``Content-Length``), private to httpx
    (0.27, 0.28): should a later httpx not have it, every request goes through ``build_request``."""
    try:
        from httpx._content import encode_json
    except ImportError:  # pragma: no cover - a later httpx
        return None
    return encode_json


_ENCODE_JSON = _httpx_json_encoder()


def _shape(request: httpx.Request, headers: dict[str, str], pool: httpx.Headers) -> _Shape | None:
    """Where ``request`` (as ``build_request`` made it) holds each per-attempt value; None when not plainly."""
    if any(name.lower().encode() in _HTTPX_SETS for name in [*headers, *pool.keys()]):
        return None
    raw = request.headers.raw
    names = [name.lower() for name, _ in raw]
    slots = []
    for name in headers.keys() & ATTEMPT_HEADERS:
        found = [index for index, seen in enumerate(names) if seen == name.lower().encode()]
        if len(found) != 1 or raw[found[0]][1] != headers[name].encode("ascii"):
            return None
        slots.append((found[0], name))
    length = [index for index, seen in enumerate(names) if seen == b"content-length"]
    if len(length) != 1 or raw[length[0]][1] != str(len(request.content)).encode():
        return None
    for index in [*(index for index, _ in slots), length[0]]:
        raw[index] = (raw[index][0], b"")  # the token is not kept: each request puts its own values here
    return _Shape(raw, tuple(slots), length[0])


class Attempt:
    """One attempt of a ``Send``: the request (token, headers, timeouts the deadline leaves) and its log lines."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient, core: ClientCore, send: Send, token: str,
                 deadline: Deadline) -> None:
        method, url, headers, body = core.http_request(send, token)
        timeout = attempt_timeout(core.settings, send, deadline.remaining())
        self.send = send
        self._token = token
        self.started = time.perf_counter()
        try:
            self.request = build_request(http, method, url, headers, body, {"timeout": timeout})
            return
        except UnicodeEncodeError:  # httpx encodes header values as ASCII
            if token.isascii():
                raise
        # Raised here, not in the handler: the ``UnicodeEncodeError`` (its ``object``) holds the token.
        raise _unsendable_token() from None

    def failed(self, error: httpx.TransportError) -> Failed:
        """The request did not complete (logged at debug level).

        h11 refuses a header value with a line break or a control character, quoting it:
        a token from a provider of the caller's own that ends with a line break (read from
        a file) would ride in the error's cause. Looked for only on such a failure.
        """
        log_failure(self.send, error, self.started)
        if isinstance(error, httpx.LocalProtocolError) and not self._token.isprintable():
            raise _unsendable_token() from None
        return failed(error)

    def head(self, response: httpx.Response) -> Received | None:
        """Logs the response; its head when its body is a stream to leave unread, else None (read it whole)."""
        log_response(self.send, response, self.started)
        return None if wants_body(self.send, response) else head(response)


def _unsendable_token() -> AuthenticationError:
    """A token that no header can carry (``StaticTokenProvider`` refuses one when given it)."""
    return AuthenticationError(
        "The access token holds a line break, a control character or text other than ASCII, so it cannot be sent.",
        hint="Check where the token comes from: a copied token may have picked up stray characters, "
             "and one read from a file may end with a line break.",
    )


def read_body(response: httpx.Response, send: Send, deadline: Deadline) -> Outcome:
    """The whole body of a sync response, cut at the deadline (the async client cancels instead)."""
    try:
        parts = []
        with Watchdog(response, deadline) as watchdog:  # a stall is cut at the deadline
            for part in response.iter_bytes():  # and a trickle between pieces
                parts.append(part)
                if deadline.expired():
                    break
                watchdog.arm()
        if watchdog.fired or deadline.expired():
            raise deadline.exceeded(sent=send.operation == "turn")
    except httpx.DecodingError as exc:
        raise decoding_error(exc, response) from None
    except httpx.TransportError as exc:
        return failed(exc)
    finally:
        response.close()
    return complete(response, b"".join(parts))


def failed(error: Exception) -> Failed:
    return Failed(error, request_sent=request_was_sent(error))


def within_deadline(outcome: Outcome, send: Send, deadline: Deadline) -> Outcome:
    """``outcome``, unless it is a failure the deadline caused: then the deadline's error."""
    if isinstance(outcome, Failed) and deadline.expired(slack=DEADLINE_SLACK):
        raise deadline.exceeded(sent=outcome.request_sent and send.operation == "turn") from outcome.error
    return outcome


def head(response: httpx.Response) -> Received:
    """A successful stream's status and headers; the body stays with the response."""
    return Received(response.status_code, response.headers, None, handle=response)


def complete(response: httpx.Response, body: bytes) -> Received:
    return Received(response.status_code, response.headers, body)


def wants_body(send: Send, response: httpx.Response) -> bool:
    """Everything but a successful stream is read whole before ``exchange()`` sees it."""
    return not (send.stream and 200 <= response.status_code < 300)


def decoding_error(error: httpx.DecodingError, response: httpx.Response) -> ServiceError:
    encoding = response.headers.get("content-encoding", "")
    return ServiceError(
        f"The service's answer could not be decoded ({type(error).__name__}"
        f"{': it declares ' + encoding[:40] + ' but is not' if encoding else ''}).",
        hint="This is usually a proxy rewriting the answer; try again, or bypass the proxy.",
        request_id=response.headers.get("request-id"),
    )


class _Alarms:
    """One daemon thread that fires every armed ``Watchdog`` at its deadline.

    A ``threading.Timer`` per response cost a thread start (and its switches) on every turn,
    about a tenth of a ``chat`` turn against a local server (benchmarks/client_overhead.py).
    Here arming is a heap push under a lock; the thread sleeps until the earliest deadline.
    A stopped watchdog stays in the heap until it comes up or until stopped ones are the
    majority (past 64 of them), when the heap is rebuilt without them: a long deadline on many
    short turns holds about twice the entries that are live, not one per turn ever made.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()  # ties on time never compare two watchdogs
        self._stopped = 0
        self._thread: threading.Thread | None = None
        #: When the thread will next look at the heap: a later deadline need not wake it.
        self._wake_at = float("inf")

    def add(self, when: float, watchdog: Watchdog) -> None:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="copilot-tools-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (when, next(self._order), watchdog))
            if when < self._wake_at:  # sooner than the thread means to look: wake it to wait less
                self._wake_at = when
                self._condition.notify()

    def stopped(self) -> None:
        with self._condition:
            self._stopped += 1
            if self._stopped > 64 and self._stopped * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._stopped = 0

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                        self._stopped = max(0, self._stopped - 1)
                    if not self._heap:
                        self._wake_at = float("inf")
                        self._condition.wait()
                        continue
                    self._wake_at = self._heap[0][0]
                    delay = self._wake_at - time.monotonic()
                    if delay <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._condition.wait(delay)
            due.fire()


_alarms = _Alarms()


def _alarms_after_fork() -> None:
    """A child process has none of its parent's threads (and may inherit the lock held)."""
    global _alarms
    _alarms = _Alarms()


os.register_at_fork(after_in_child=_alarms_after_fork)


class Watchdog:
    """Cuts a sync response's connection when the deadline passes.

    A blocked ``recv`` cannot look at a clock, and httpx fixes a response's read timeout when
    it is sent; so without this a sync body or stream that falls silent near its deadline
    would overrun it by up to one silence timeout. ``arm()`` (called once the first piece has
    arrived) asks the one shared alarm thread (``_Alarms``) to shut the socket down at the
    deadline; the blocked read then fails or ends at once. It never fires after ``stop()``:
    the connection may go back to the pool only once nothing can cut it.
    """

    def __init__(self, response: httpx.Response, deadline: Deadline) -> None:
        self._deadline = deadline
        self._lock = threading.Lock()
        #: Whether ``stop()`` has run: the alarm thread skips (and forgets) a done watchdog.
        self.done = False
        #: Whether the deadline cut the connection (a body that "ended" then is not whole).
        self.fired = False
        self._response = response
        #: The socket to cut once ``arm()`` has handed this watchdog to the alarm thread; else None.
        self._socket: socket.socket | None = None
        self._looked = False

    def arm(self) -> None:
        """Hand this watchdog to the alarm thread, once, unless no read is left that could block.

        The socket is looked up here, not when the watchdog is made: a ``/chat`` body nearly
        always arrives whole, and then neither the look-up nor ``stop()``'s lock is needed.
        """
        if self._looked or self.done or self._body_complete():
            return
        self._looked = True
        network = self._response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if isinstance(sock, socket.socket):
            self._socket = sock
            _alarms.add(time.monotonic() + self._deadline.remaining(), self)

    def _body_complete(self) -> bool:
        """Whether every byte the response declared (``Content-Length``) has arrived.

        Then no read is left that could block: the HTTP parser ends the body without another
        ``recv``, so there is nothing to cut and no alarm to set. A ``/chat`` reply nearly always
        arrives in one piece; arming for it cost two locks, a heap push and, every 64 turns, a
        heap rebuild: ~3 us of CPU a turn, of ~150 us over bare httpx (the alarm thread is not
        woken: its wait already ends before the new deadline). Bytes are counted as they came
        off the wire (``num_bytes_downloaded``), as ``Content-Length`` counts them, also for a
        compressed body. Without a usable length (chunked, a stream) the answer is no.
        """
        declared = self._response.headers.get("content-length")
        if declared is None or not (declared.isascii() and declared.isdigit()):
            return False
        return self._response.num_bytes_downloaded >= int(declared)

    def fire(self) -> None:
        with self._lock:
            if self.done or self._socket is None:
                return
            self.fired = True
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: nothing left to cut

    def stop(self) -> None:
        if self._socket is None:  # never handed to the alarm thread (only arm(), on this thread, does)
            self.done = True
            return
        with self._lock:
            self.done = True
            self._socket = None  # the heap may hold this watchdog a while; not the socket
        _alarms.stopped()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def log_response(send: Send, response: httpx.Response, started: float) -> None:
    """One line per attempt: method, path, status, time, request-id (``-v``); the full URL
    and the attempt number at debug level (``-vv``)."""
    if not logger.isEnabledFor(logging.INFO):
        return  # the usual case: reading the headers and the URL's path cost ~5 us a turn for nothing
    elapsed = (time.perf_counter() - started) * 1000
    request_id = response.headers.get("request-id", "-")
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s -> %s in %.0f ms (request-id %s, attempt %d)", send.request.method,
                     redact(str(response.request.url)), response.status_code, elapsed, request_id, send.attempt)
    else:
        logger.info("%s %s -> %s in %.0f ms (request-id %s)", send.request.method, response.request.url.path,
                    response.status_code, elapsed, request_id)


def log_failure(send: Send, error: Exception, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %s after %.0f ms (attempt %d)", send.request.method, redact(send.request.url),
            type(error).__name__, (time.perf_counter() - started) * 1000, send.attempt,
        )


def log_retry(sleep: Sleep) -> None:
    """The retry decision: why, and how long the client waits before the next attempt."""
    if logger.isEnabledFor(logging.DEBUG):
        reason = redact(sleep.cause.message) if sleep.cause is not None else "a failed batch item"
        logger.debug("retrying (attempt %d) in %.2f s after: %s", sleep.attempt, sleep.seconds, reason)
