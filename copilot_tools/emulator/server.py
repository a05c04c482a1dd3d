"""The emulator on a real socket, in a background thread: for tests, the demo, notebooks.

``EmulatorServer`` binds its own socket first, so the port is known before uvicorn
starts (port 0 picks a free one), then runs uvicorn in a daemon thread and returns once
it accepts connections. Only loopback is used unless the caller names another host.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from copilot_tools.emulator.app import create_app
from copilot_tools.emulator.config import EmulatorConfig
from copilot_tools.emulator.responses import INCOMPLETE_RESPONSE_LOG

START_TIMEOUT = 15.0


class _DeliberateCuts(logging.Filter):
    """Drops uvicorn's error line for a response the emulator cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != INCOMPLETE_RESPONSE_LOG


def quiet_deliberate_cuts() -> None:
    """The ``cut`` fault is a feature: keep it out of the server's error log (idempotent)."""
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DeliberateCuts) for f in log.filters):
        log.addFilter(_DeliberateCuts())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv4 or IPv6), so the real port is known at once."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(config: EmulatorConfig) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
        backlog=2048,
    )


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class EmulatorServer:
    """Start with ``start()`` or ``with EmulatorServer(config) as server:``; ``base_url`` ends in ``/beta``."""

    def __init__(self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (Work IQ paths live under ``/rest``)."""
        return f"http://{url_host(self.host)}:{self._port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/beta``: what ``COPILOT_TOOLS_ENDPOINT`` should say."""
        return f"{self.root_url}/beta"

    def start(self) -> Self:
        if self._server is not None:
            return self
        quiet_deliberate_cuts()
        sock = bind(self.host, self._port)
        self._port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self.config))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name=f"copilot-emulator-{self._port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the emulator did not start on {self.root_url}")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
