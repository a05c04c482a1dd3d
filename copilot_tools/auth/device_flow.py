"""Device-code sign-in: the blocking flow the CLI uses, and a background one for servers.

``BackgroundDeviceFlowProvider`` is what an MCP stdio server (or any host that cannot
prompt) uses. Its ``get_token()`` never writes to stdout and never waits for the user:

- a token from the cache (silently refreshed) when there is one;
- otherwise it starts a device-code flow in a background thread and raises
  ``SignInRequiredError`` with the URL and the code as soon as the identity provider
  has issued them (one round trip);
- while the flow is pending, each call raises the same error again at once;
- when the user has signed in, the thread has put the tokens in the shared cache and
  the next call returns a token. A ``copilot-tools login`` in a terminal fills the same
  cache, so it ends the wait too.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from copilot_tools.auth.errors import SignInRequiredError
from copilot_tools.errors import AuthenticationError, CopilotError

if TYPE_CHECKING:
    from copilot_tools.auth.public import DeviceCode, MsalTokenProvider

_RETRY = ("authorization_pending", "slow_down")


class DeviceCodeFlow:
    """One device-code flow: ``start()`` gets the code, ``wait()`` polls until done.

    Polls at the interval the identity provider asks for (``slow_down`` adds 5 s), never
    faster than ``provider.min_poll_interval``; ``cancel()`` ends ``wait()`` promptly.
    """

    def __init__(self, provider: MsalTokenProvider, *, claims: str | None = None) -> None:
        self._provider = provider
        self._claims = claims
        self._stop = threading.Event()
        self._flow: dict[str, Any] | None = None
        self._interval = 5.0
        self.code: DeviceCode | None = None

    def start(self) -> DeviceCode:
        from copilot_tools.auth.public import DeviceCode, _network_error

        provider = self._provider
        try:
            flow = provider.app.initiate_device_flow(provider.scopes, claims_challenge=self._claims)
        except OSError as exc:
            raise _network_error(provider.authority_host, exc) from None
        except ValueError as exc:  # no device authorization endpoint, or not JSON
            raise AuthenticationError(f"Cannot start a device-code sign-in: {exc}") from None
        if "user_code" not in flow:
            raise provider._error(flow, "Starting a device-code sign-in")
        self._interval = float(flow.get("interval", 5))
        # MSAL's single poll only returns on "pending" when the interval is >= 1.
        flow["interval"] = max(1, int(flow.get("interval", 5)))
        self._flow = flow
        uri = flow.get("verification_uri") or flow.get("verification_url") or ""
        message = flow.get("message") or f"To sign in, open {uri} and enter the code {flow['user_code']}."
        self.code = DeviceCode(
            verification_uri=uri, user_code=flow["user_code"], expires_at=float(flow["expires_at"]), message=message
        )
        return self.code

    def wait(self) -> dict[str, Any]:
        """Poll until the user signs in, declines, the code expires or ``cancel()``."""
        if self._flow is None:
            raise RuntimeError("start() the flow first")
        flow, app = self._flow, self._provider.app
        interval = max(self._interval, self._provider.min_poll_interval)
        while True:
            if self._stop.is_set():
                return {"error": "cancelled", "error_description": "The sign-in was cancelled."}
            remaining = float(flow["expires_at"]) - time.time()
            if remaining <= 0:
                return {"error": "expired_token", "error_description": "The sign-in code expired."}
            try:
                result = app.acquire_token_by_device_flow(
                    flow, claims_challenge=self._claims, exit_condition=lambda _flow: True
                )
            except OSError:  # a network blip: the code stays valid, keep polling
                result = {"error": "authorization_pending"}
            error = result.get("error")
            if error == "slow_down":
                interval += 5
            elif error not in _RETRY:
                return dict(result)
            self._stop.wait(min(interval, max(0.0, remaining)))

    def cancel(self) -> None:
        self._stop.set()
        if self._flow is not None:
            self._flow["expires_at"] = 0


@dataclass
class _Pending:
    """A background flow and what became of it."""

    claims: str | None
    flow_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ready: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    flow: DeviceCodeFlow | None = None
    code: DeviceCode | None = None
    start_error: CopilotError | None = None
    failure: str | None = None
    thread: threading.Thread | None = None

    def pending(self) -> bool:
        return (
            self.code is not None
            and not self.done.is_set()
            and self.code.expires_at > time.time()
        )

    def error(self, previous: str | None = None) -> SignInRequiredError:
        assert self.code is not None
        return SignInRequiredError(
            verification_uri=self.code.verification_uri,
            user_code=self.code.user_code,
            expires_at=self.code.expires_at,
            flow_id=self.flow_id,
            claims=self.claims,
            previous_error=previous,
        )


def _announce_on_stderr(code: DeviceCode) -> None:
    print(f"copilot-tools: sign-in required. {code.message}", file=sys.stderr, flush=True)


class BackgroundDeviceFlowProvider:
    """A token provider that never prompts and never blocks on the user (module docstring).

    ``code_wait`` bounds how long the first call waits for the identity provider to
    issue a code (discovery and one round trip; normally well under a second); past it
    the call fails at once with "try again in a few seconds" while the flow starts. ``announce`` is
    called once per flow with the code (default: one line on stderr; never stdout).
    """

    def __init__(
        self,
        provider: MsalTokenProvider,
        *,
        code_wait: float = 1.0,
        announce: Callable[[DeviceCode], None] | None = _announce_on_stderr,
    ) -> None:
        self.provider = provider
        self._code_wait = code_wait
        self._announce = announce
        self._lock = threading.Lock()
        self._pending: _Pending | None = None

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        for _attempt in range(2):
            with self._lock:
                state = self._pending
                if state is not None and state.claims and not claims and state.pending():
                    # A claims challenge (CAE) is waiting for the user: the cached token
                    # was revoked, so do not hand it out (nor cancel the sign-in).
                    raise state.error()
            result = self.provider.try_silent(claims=claims, force_refresh=force_refresh)
            if result:
                self._finish_pending()  # signed in elsewhere (a terminal `login`): stop polling
                return str(result["access_token"])
            previous: str | None = None
            with self._lock:
                state = self._pending
                if state is None or (state.ready.is_set() and not state.pending()):
                    if state is not None:
                        state.done.wait(0.5)  # the poller is noticing the expiry: let it say so
                    previous = state.failure if state is not None else None
                    if previous is None and self.provider.last_error and claims is None:
                        previous = "The saved sign-in can no longer be refreshed."
                    state = self._pending = self._start(claims)
            if not state.ready.wait(self._code_wait):
                raise _starting_error()
            if state.start_error is not None:
                with self._lock:
                    if self._pending is state:
                        self._pending = None
                raise state.start_error
            if state.pending():
                raise state.error(previous)
            # The flow ended between our checks (the user just signed in): look again.
        raise _starting_error()

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return await asyncio.to_thread(self.get_token, claims=claims, force_refresh=force_refresh)

    @property
    def pending_sign_in(self) -> SignInRequiredError | None:
        """The pending sign-in's error (URL and code), if one is waiting for the user."""
        with self._lock:
            state = self._pending
            return state.error() if state is not None and state.pending() else None

    def close(self) -> None:
        """Stop a pending flow's polling (daemon threads also end with the process)."""
        self._finish_pending()

    def _finish_pending(self) -> None:
        with self._lock:
            state, self._pending = self._pending, None
        if state is not None and state.flow is not None and not state.done.is_set():
            state.flow.cancel()

    def _start(self, claims: str | None) -> _Pending:
        state = _Pending(claims=claims)
        state.thread = threading.Thread(
            target=self._run, args=(state,), name="copilot-tools-device-code", daemon=True
        )
        state.thread.start()
        return state

    def _run(self, state: _Pending) -> None:
        flow = DeviceCodeFlow(self.provider, claims=state.claims)
        state.flow = flow
        try:
            state.code = flow.start()
        except AuthenticationError as exc:
            state.start_error = exc
        except CopilotError as exc:  # the identity provider is unreachable: still "not signed in"
            state.start_error = AuthenticationError(
                f"Not signed in, and a sign-in could not be started: {exc.message}",
                hint="Check the network connection, then try again; or sign in with `copilot-tools login` "
                "elsewhere, or set COPILOT_TOOLS_ACCESS_TOKEN.",
            )
        except Exception as exc:  # noqa: BLE001 - never let the thread die silently
            state.start_error = AuthenticationError(f"Cannot start a device-code sign-in: {type(exc).__name__}.")
        finally:
            state.ready.set()
        if state.start_error is not None:
            state.done.set()
            return
        assert state.code is not None
        if self._announce is not None:
            try:
                self._announce(state.code)
            except Exception:  # noqa: BLE001, S110 - a failing notice must not stop the sign-in
                pass
        try:
            result = flow.wait()
            if "access_token" in result:
                state.failure = self._adopt(result)
            elif result.get("error") != "cancelled":
                state.failure = self.provider._error(result, "The last sign-in").message
        except Exception as exc:  # noqa: BLE001 - reported by the next call
            state.failure = f"The last sign-in failed ({type(exc).__name__})."
        finally:
            state.done.set()

    def _adopt(self, result: dict[str, Any]) -> str | None:
        """Make the account just signed in the one to use; a message if it is the wrong one."""
        signed_in = self.provider._username_of(result)
        wanted = self.provider.username
        if wanted and signed_in and signed_in.lower() != wanted.lower():
            return f"The last sign-in was as {signed_in}, but the account {wanted} is configured."
        if signed_in:
            self.provider.use_account(signed_in)
        return None


def _starting_error() -> AuthenticationError:
    return AuthenticationError(
        "A sign-in is being started but the identity provider has not answered yet.",
        hint="Try again in a few seconds.",
    )
