"""Safe on every address (issue 13): the HTTP server refuses a stranger's ``Host`` or ``Origin``
on every bind, with and without authentication, and lets configured ones through; its auth
challenges carry ``scope=`` and no ``error=`` when no credentials were sent.

Every server here is the one ``copilot-tools mcp --transport http`` builds (the CLI runs up to
the point of serving, then the app it would serve runs under uvicorn on a loopback socket), and
is driven by plain HTTP. A "non-loopback" configuration is the app built for such a bind but
served on 127.0.0.1, with the Host header a client of that address would send; nothing here binds
a non-loopback address. One test runs the real command in a subprocess on 127.0.0.2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilot_tools.cli import main
from copilot_tools.cli import mcp as cli_mcp
from copilot_tools.emulator.server import bind
from tests.mcp import test_http_auth as auth_tests
from tests.mcp.test_http_auth import (
    API_CLIENT,
    INITIALIZE,
    MCP_HEADERS,
    SCOPE_URI,
    SECRET,
    TENANT_ID,
    EntraStandIn,
    serve,
)
from tests.replicas.processes import free_port, stop_process

# The Entra stand-in and the recording Graph of the HTTP-auth tests, as fixtures here too.
idp = auth_tests.idp
graph = auth_tests.graph

EVIL = "https://evil.example"
AUTH_ARGS = ["--auth", "entra", "--auth-tenant", TENANT_ID, "--auth-client-id", API_CLIENT]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """What ``copilot-tools mcp --transport http`` would serve, instead of serving it."""
    calls: list[dict[str, Any]] = []

    def capture(server: Any, host: str, port: int, security: Any, auth: Any, **_: Any) -> None:
        calls.append({"app": cli_mcp.guarded_http_app(server, host, security, auth), "host": host, "port": port,
                      "security": security})

    monkeypatch.setattr(cli_mcp, "_serve_http", capture)
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "config.toml"))
    for name in ("COPILOT_TOOLS_ACCESS_TOKEN", "COPILOT_TOOLS_EXTRA_HEADERS", "COPILOT_TOOLS_MCP_AUTH",
                 "COPILOT_TOOLS_MCP_ALLOWED_HOSTS", "COPILOT_TOOLS_MCP_ALLOWED_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    return calls


@contextmanager
def cli_server(built: list[dict[str, Any]], argv: list[str], *, serve_on: str | None = None) -> Iterator[str]:
    """Run the CLI with ``argv`` (``--host``/``--port`` among them) and serve what it built on a
    loopback socket (``serve_on``, default the bind address). Yields ``http://ADDR:PORT``."""
    code = main(argv)
    assert code == 0
    (call,) = built[-1:]
    host = serve_on or call["host"]
    with serve(call["app"], bind(host, call["port"])) as _:
        bracketed = f"[{host}]" if ":" in host else host
        yield f"http://{bracketed}:{call['port']}"


def probe(base: str, *, host: str | None = None, origin: str | None = None,
          token: str | None = None) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if host is not None:
        headers["Host"] = host
    if origin is not None:
        headers["Origin"] = origin
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers, timeout=20)


@pytest.fixture
def entra_env(monkeypatch: pytest.MonkeyPatch, idp: EntraStandIn, ca_file: str) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_AUTHORITY", idp.base_url)
    monkeypatch.setenv("COPILOT_TOOLS_CA_BUNDLE", ca_file)
    monkeypatch.setenv("COPILOT_TOOLS_MCP_CLIENT_SECRET", SECRET)


# --- without authentication: loopback binds only ------------------------------------------------


@pytest.mark.parametrize("bind_host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_refuse_a_strangers_origin_and_host(built, emulator, bind_host: str) -> None:
    port = free_port()
    serve_on = "127.0.0.1" if bind_host == "localhost" else bind_host
    argv = ["--endpoint", emulator.base_url, "mcp", "--transport", "http", "--host", bind_host, "--port", str(port)]
    with cli_server(built, argv, serve_on=serve_on) as base:
        refused = probe(base, origin=EVIL)
        assert refused.status_code == 403 and "Origin" in refused.text
        assert probe(base, host=f"evil.example:{port}").status_code == 421
        assert probe(base, host="evil.example").status_code == 421
        assert probe(base, origin="null").status_code == 403
        # The machine's own clients: no Origin (a desktop host), or a page served from loopback.
        assert probe(base).status_code == 200
        assert probe(base, origin="http://localhost:6274").status_code == 200  # the MCP Inspector


def test_a_configured_origin_and_host_get_through(built, emulator, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "config.toml").write_text('[mcp]\nallowed_origins = ["https://app.contoso.com"]\n')
    monkeypatch.setenv("COPILOT_TOOLS_MCP_ALLOWED_HOSTS", "proxy.contoso.test:*")
    argv = ["--endpoint", emulator.base_url, "mcp", "--transport", "http", "--port", str(port),
            "--allowed-origin", "https://tools.contoso.com"]
    with cli_server(built, argv) as base:
        assert probe(base, origin="https://tools.contoso.com").status_code == 200
        assert probe(base, origin="https://app.contoso.com").status_code == 200
        assert probe(base, host="proxy.contoso.test:443").status_code == 200
        assert probe(base, origin="https://tools.contoso.com.evil.example").status_code == 403
        assert probe(base, origin=EVIL).status_code == 403


@pytest.mark.parametrize("bad", [["--allowed-origin", "https://x.com/path"], ["--allowed-origin", "*"],
                                 ["--allowed-host", "evil.com/x"], ["--allowed-host", "a b"]])
def test_malformed_allowed_values_stop_the_server_naming_the_setting(built, emulator, capsys, bad: list[str]) -> None:
    code = main(["--endpoint", emulator.base_url, "mcp", "--transport", "http", *bad])
    assert code == 2 and not built
    assert "allowed_" in capsys.readouterr().err


# --- with authentication ---------------------------------------------------------------------


@pytest.mark.usefixtures("entra_env")
def test_with_authentication_a_strangers_origin_is_refused_before_the_token_is_looked_at(
    built, graph, idp: EntraStandIn,
) -> None:
    port = free_port()
    argv = ["--endpoint", graph.base_url, "mcp", "--transport", "http", "--host", "127.0.0.2", "--port", str(port),
            *AUTH_ARGS, "--auth-resource-url", f"http://127.0.0.2:{port}/mcp"]
    with cli_server(built, argv) as base:
        token = idp.api_token("adele.vance@contoso.com")
        assert probe(base, origin=EVIL, token=token).status_code == 403
        assert probe(base, origin=EVIL).status_code == 403
        assert probe(base, host="evil.example", token=token).status_code == 421
        assert probe(base, token=token).status_code == 200


@pytest.mark.usefixtures("entra_env")
def test_a_non_loopback_configuration_answers_only_its_public_name(built, graph, idp: EntraStandIn) -> None:
    """Built for ``--host 0.0.0.0`` behind ``https://mcp.contoso.test``; served here on loopback."""
    port = free_port()
    argv = ["--endpoint", graph.base_url, "mcp", "--transport", "http", "--host", "0.0.0.0", "--port", str(port),
            *AUTH_ARGS, "--auth-resource-url", "https://mcp.contoso.test/mcp",
            "--allowed-origin", "https://portal.contoso.test"]
    with cli_server(built, argv, serve_on="127.0.0.1") as base:
        token = idp.api_token("adele.vance@contoso.com")
        public = "mcp.contoso.test"
        assert probe(base, host=public, token=token).status_code == 200
        assert probe(base, host=public, origin="https://mcp.contoso.test", token=token).status_code == 200
        assert probe(base, host=public, origin="https://portal.contoso.test", token=token).status_code == 200
        # A rebinding page, a loopback page (not this server's origin here), a raw address nobody allowed.
        assert probe(base, host=public, origin=EVIL, token=token).status_code == 403
        assert probe(base, host=public, origin="http://localhost:3000", token=token).status_code == 403
        assert probe(base, host="evil.example", token=token).status_code == 421
        assert probe(base, host=f"10.1.2.3:{port}", token=token).status_code == 421
        # Metadata stays public to browser-based clients of any origin.
        metadata = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp",
                             headers={"Host": public, "Origin": EVIL}, timeout=10)
        assert metadata.status_code == 200


@pytest.mark.usefixtures("entra_env")
def test_auth_challenges_carry_the_scope_and_no_error_without_credentials(built, graph, idp: EntraStandIn) -> None:
    port = free_port()
    argv = ["--endpoint", graph.base_url, "mcp", "--transport", "http", "--port", str(port), *AUTH_ARGS]
    with cli_server(built, argv) as base:
        anonymous = probe(base)
        assert anonymous.status_code == 401
        challenge = anonymous.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and f'scope="{SCOPE_URI}"' in challenge
        assert "error=" not in challenge and "resource_metadata=" in challenge

        bad = probe(base, token="not-a-jwt")
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert f'scope="{SCOPE_URI}"' in bad.headers["www-authenticate"]

        narrow = probe(base, token=idp.api_token("adele.vance@contoso.com", scp="something_else"))
        assert narrow.status_code == 403
        step_up = narrow.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in step_up and f'scope="{SCOPE_URI}"' in step_up


def test_the_entra_authority_must_be_https(built, graph, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_AUTHORITY", "http://login.example.com")
    monkeypatch.setenv("COPILOT_TOOLS_MCP_CLIENT_SECRET", SECRET)
    code = main(["--endpoint", graph.base_url, "mcp", "--transport", "http", *AUTH_ARGS])
    assert code == 2 and not built
    assert "plain http" in capsys.readouterr().err


# --- the real command ------------------------------------------------------------------------


def test_the_command_on_127_0_0_2_refuses_a_rebinding_page(emulator, tmp_path: Path) -> None:
    """Issue 13's reproduction: ``mcp --transport http --host 127.0.0.2`` and ``Origin: evil``."""
    port = free_port("127.0.0.2")
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    env.update({"COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml"), "COPILOT_TOOLS_ACCESS_TOKEN": "test"})
    process = subprocess.Popen(
        [sys.executable, "-m", "copilot_tools", "--endpoint", emulator.base_url, "mcp", "--transport", "http",
         "--host", "127.0.0.2", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.2:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = probe(base)
                break
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert probe(base, origin=EVIL).status_code == 403
        assert probe(base, host="evil.example").status_code == 421
    finally:
        stop_process(process)


# --- request bodies ------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_before_it_is_read_whole_and_the_server_serves_on(built, emulator) -> None:
    """One client's huge POST cannot exhaust the server's memory for everyone: a body declared or streamed
    past the SDK's limit (4 MiB) gets 413, and the next request is served."""
    port = free_port()
    argv = ["--endpoint", emulator.base_url, "mcp", "--transport", "http", "--port", str(port)]
    five_mib = b"[" + b" " * (5 << 20) + b"]"

    def streamed() -> Iterator[bytes]:  # no Content-Length: chunked, counted as it arrives
        for start in range(0, len(five_mib), 1 << 16):
            yield five_mib[start:start + (1 << 16)]

    with cli_server(built, argv) as base:
        declared = httpx.post(f"{base}/mcp", content=five_mib, headers=MCP_HEADERS, timeout=20)
        assert declared.status_code == 413
        chunked = httpx.post(f"{base}/mcp", content=streamed(), headers=MCP_HEADERS, timeout=20)
        assert chunked.status_code == 413
        assert probe(base).status_code == 200
