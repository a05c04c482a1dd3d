"""The MCP server over streamable HTTP with Microsoft Entra authentication, end to end.

Everything runs on loopback: an Entra stand-in over TLS (``tests/auth/idp.py`` plus a
published RSA key set and signed tokens for our API), a recording emulator as Graph, and
the real server under uvicorn, driven by the SDK's own streamable HTTP client with a
bearer token, or by plain HTTP for what must be refused before MCP starts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import httpx2
import jwt
import pytest
import trustme
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from copilot_tools import Settings
from copilot_tools.agent import all_tools
from copilot_tools.cli import main
from copilot_tools.cli import mcp as cli_mcp
from copilot_tools.emulator import EmulatorConfig
from copilot_tools.emulator.app import create_app
from copilot_tools.emulator.server import bind
from copilot_tools.mcp import build_server
from copilot_tools.mcp.http_auth import (
    AuthConfigError,
    EntraAuth,
    EntraAuthConfig,
    EntraTokenVerifier,
    SigningKeys,
)
from tests.auth.idp import OBO_GRANT, TENANT_ID, FakeIdentityProvider, _Handler
from tests.conftest import NOW
from tests.mcp.conftest import MEETING, TIME_ZONE

API_CLIENT = "6f1d3a52-7c4e-4b8a-9d2f-0a1b2c3d4e5f"
MCP_CLIENT = "aebc6443-996d-45c2-90f0-388ff96faa56"  # the calling app (VS Code's public client)
SECRET = "api-app-secret-value"
OTHER_TENANT = "0c0ffee0-0000-4000-8000-000000000002"
ADELE = "adele.vance@contoso.com"
JOHN = "john.doe@contoso.com"
SCOPE_URI = f"api://{API_CLIENT}/access_as_user"


# --- the identity provider ----------------------------------------------------------------------


class EntraStandIn(FakeIdentityProvider):
    """``FakeIdentityProvider`` plus what a resource server needs from Entra: a published key
    set (``/discovery/v2.0/keys``), RS256-signed access tokens for our API, and on-behalf-of
    results that are predictable per user (so the tests can tell whose token Graph got)."""

    def __init__(self, ca: trustme.CA) -> None:
        super().__init__(ca)
        self.signing_keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid = self.rotate()
        self.obo_clients[API_CLIENT] = SECRET

    def rotate(self) -> str:
        """Publish a new signing key and sign with it from now on (the old one stays published)."""
        kid = secrets.token_hex(8)
        self.signing_keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.signing_keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def handler_class(self) -> type[_Handler]:
        idp = self
        base = super().handler_class()

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_GET(self) -> None:
                if urlsplit(self.path).path.endswith("/discovery/v2.0/keys"):
                    self._send(200, idp.jwks())
                    return
                super().do_GET()

        return Handler

    def issue(self, username: str, client_id: str, scopes: list[str], claims: str | None, *,
              refresh: bool = True, nonce: str | None = None) -> dict[str, Any]:
        response = super().issue(username, client_id, scopes, claims, refresh=refresh, nonce=nonce)
        if not refresh:  # on-behalf-of
            response["access_token"] = self.graph_token(username)
        return response

    def graph_token(self, username: str) -> str:
        """The Graph token the on-behalf-of exchange gives ``username``."""
        return f"graph-token-for-{self.add_user(username).oid}"

    def api_token(self, username: str, *, kid: str | None = None, key: Any = None, algorithm: str = "RS256",
                  **claims: Any) -> str:
        """An access token for our API, as Entra v2 issues it; ``claims`` override (None removes)."""
        user = self.add_user(username)
        now = int(time.time())
        payload: dict[str, Any] = {
            "aud": API_CLIENT, "iss": f"{self.base_url}/{user.tid}/v2.0", "iat": now, "nbf": now,
            "exp": now + 3600, "tid": user.tid, "oid": user.oid, "sub": secrets.token_hex(8),
            "preferred_username": username, "name": user.name, "scp": "access_as_user", "azp": MCP_CLIENT,
            "ver": "2.0", "uti": secrets.token_hex(6),
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        kid = kid or self.kid
        signing_key = key if key is not None else self.signing_keys.get(kid)
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def idp(ca: trustme.CA) -> Iterator[EntraStandIn]:
    provider = EntraStandIn(ca).start()
    try:
        yield provider
    finally:
        provider.stop()


# --- servers on loopback ------------------------------------------------------------------------


@contextmanager
def serve(app: Any, sock: socket.socket, log_level: str = "warning") -> Iterator[str]:
    """``app`` under uvicorn in a thread on ``sock``; yields ``http://127.0.0.1:PORT``."""
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, ws="none",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class WatchedGraph:
    """The emulator as Graph on loopback, showing each HTTP request to ``saw`` before answering it."""

    def __init__(self, words_per_event: int, event_delay: float) -> None:
        self.app = create_app(EmulatorConfig(words_per_event=words_per_event, event_delay=event_delay, now=NOW))
        self.base_url = ""

    def saw(self, scope: dict[str, Any]) -> None:
        raise NotImplementedError

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.saw(scope)
        await self.app(scope, receive, send)

    @contextmanager
    def served(self) -> Iterator[Self]:
        with serve(self, bind("127.0.0.1", 0)) as root:
            self.base_url = f"{root}/beta"
            yield self


class RecordingGraph(WatchedGraph):
    """The emulator as Graph, remembering the bearer token of every request it got."""

    def __init__(self) -> None:
        super().__init__(words_per_event=12, event_delay=0.0)
        self.tokens: list[str] = []

    def saw(self, scope: dict[str, Any]) -> None:
        headers = dict(scope["headers"])
        self.tokens.append(headers.get(b"authorization", b"").decode().removeprefix("Bearer "))


@pytest.fixture(scope="module")
def graph() -> Iterator[RecordingGraph]:
    with RecordingGraph().served() as recorder:
        yield recorder


def auth_config(idp: EntraStandIn, ca_file: str, resource_url: str, **overrides: Any) -> EntraAuthConfig:
    values: dict[str, Any] = {
        "tenant_id": TENANT_ID, "client_id": API_CLIENT, "resource_url": resource_url,
        "client_secret": SecretStr(SECRET), "authority_host": idp.base_url, "ca_bundle": ca_file,
    }
    values.update(overrides)
    return EntraAuthConfig(**values)


@pytest.fixture(scope="module")
def mcp_url(idp: EntraStandIn, ca_file: str, graph: RecordingGraph) -> Iterator[str]:
    """The authenticated server, serving ``graph`` as its Copilot endpoint."""
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    auth = EntraAuth(auth_config(idp, ca_file, url))
    server = build_server(Settings(endpoint=graph.base_url, time_zone=TIME_ZONE), auth=auth, progress_interval=0)
    with serve(server.streamable_http_app(streamable_http_path="/mcp"), sock):
        yield url


@asynccontextmanager
async def connect(url: str, token: str) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP, sending ``token`` on every request."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "probe", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def post(url: str, token: str | None, body: dict[str, Any] = INITIALIZE, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(url, json=body, headers={**MCP_HEADERS, **auth, **headers}, timeout=30)


def obo_requests(idp: EntraStandIn) -> list[Any]:
    return idp.token_requests(OBO_GRANT)


# --- refused before MCP -------------------------------------------------------------------------


def test_without_a_token_the_answer_is_401_pointing_at_the_resource_metadata(mcp_url: str,
                                                                             idp: EntraStandIn) -> None:
    response = post(mcp_url, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    origin = mcp_url.removesuffix("/mcp")
    metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge

    metadata = httpx.get(metadata_url, timeout=10).json()
    assert metadata["resource"] == mcp_url
    assert metadata["authorization_servers"] == [f"{idp.base_url}/{TENANT_ID}/v2.0"]
    assert metadata["scopes_supported"] == [SCOPE_URI]


def _stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSED: dict[str, Any] = {
    "expired": lambda idp: idp.api_token(ADELE, exp=int(time.time()) - 600, iat=int(time.time()) - 4200,
                                         nbf=int(time.time()) - 4200),
    "not yet valid": lambda idp: idp.api_token(ADELE, nbf=int(time.time()) + 600),
    "for Graph, not for us": lambda idp: idp.api_token(ADELE, aud="https://graph.microsoft.com"),
    "for another API": lambda idp: idp.api_token(ADELE, aud="api://someone-else"),
    "another issuer": lambda idp: idp.api_token(ADELE, iss=f"https://login.example.com/{TENANT_ID}/v2.0"),
    "v1.0 issuer, not accepted": lambda idp: idp.api_token(ADELE, iss=f"https://sts.windows.net/{TENANT_ID}/"),
    "another tenant": lambda idp: idp.api_token(ADELE, tid=OTHER_TENANT,
                                                iss=f"{idp.base_url}/{OTHER_TENANT}/v2.0"),
    "forged signature": lambda idp: idp.api_token(ADELE, key=_stranger_key()),
    "unknown signing key": lambda idp: idp.api_token(ADELE, kid="not-published", key=_stranger_key()),
    "application token": lambda idp: idp.api_token(ADELE, scp=None, roles=["Copilot.Ask"], idtyp="app"),
    "no object id": lambda idp: idp.api_token(ADELE, oid=None),
    "alg none": lambda idp: jwt.encode({"aud": API_CLIENT, "tid": TENANT_ID}, None, algorithm="none"),
    "not a JWT": lambda idp: "opaque-token-value",
}


@pytest.mark.parametrize("case", REFUSED)
def test_an_invalid_token_is_refused_with_401(case: str, mcp_url: str, idp: EntraStandIn) -> None:
    exchanges = len(obo_requests(idp))
    response = post(mcp_url, REFUSED[case](idp))
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "resource_metadata=" in response.headers["www-authenticate"]
    assert len(obo_requests(idp)) == exchanges  # nothing refused ever reaches the exchange


def test_an_hs256_token_signed_with_the_public_key_is_refused(mcp_url: str, idp: EntraStandIn) -> None:
    public_pem = idp.signing_keys[idp.kid].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {"aud": API_CLIENT, "iss": f"{idp.base_url}/{TENANT_ID}/v2.0", "exp": now + 600, "tid": TENANT_ID,
              "oid": str(uuid.uuid4()), "scp": "access_as_user"}
    forged = ".".join([
        jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": idp.kid}).encode()).decode(),
        jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(),
    ])
    signature = hmac.new(public_pem, forged.encode(), hashlib.sha256).digest()
    token = f"{forged}.{jwt.utils.base64url_encode(signature).decode()}"
    assert post(mcp_url, token).status_code == 401


def test_a_token_without_the_required_scope_gets_403(mcp_url: str, idp: EntraStandIn) -> None:
    response = post(mcp_url, idp.api_token(ADELE, scp="Other.Read"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


# --- a user's session ---------------------------------------------------------------------------


async def test_a_user_gets_answers_and_graph_only_ever_sees_their_exchanged_token(
    mcp_url: str, idp: EntraStandIn, graph: RecordingGraph,
) -> None:
    incoming = idp.api_token(ADELE)
    exchanges = len(obo_requests(idp))
    graph.tokens.clear()
    async with connect(mcp_url, incoming) as client:
        assert len((await client.list_tools()).tools) == len(all_tools())
        first = await client.call_tool("ask_copilot", {"question": MEETING})
        assert not first.is_error, first.content
        assert "Contoso Engineering Standup" in first.structured_content["answer"]
        follow_up = await client.call_tool("continue_conversation", {
            "conversation_id": first.structured_content["conversation_id"], "message": "Who organises it?"})
        assert not follow_up.is_error, follow_up.content
        hits = await client.call_tool("retrieve", {"query": "API versioning"})
        assert not hits.is_error, hits.content

    assert graph.tokens and set(graph.tokens) == {idp.graph_token(ADELE)}
    assert incoming not in graph.tokens
    exchanged = obo_requests(idp)[exchanges:]
    assert len(exchanged) == 1  # one exchange, then the per-user cache
    assert exchanged[0].form["assertion"] == incoming and exchanged[0].form["client_id"] == API_CLIENT
    assert exchanged[0].form["client_secret"] == SECRET


async def test_users_never_see_each_others_transcripts(mcp_url: str, idp: EntraStandIn,
                                                       graph: RecordingGraph) -> None:
    adele_token, john_token = idp.api_token(ADELE), idp.api_token(JOHN)
    graph.tokens.clear()
    async with connect(mcp_url, adele_token) as adele:
        asked = await adele.call_tool("ask_copilot", {"question": MEETING})
        adele_conversation = asked.structured_content["conversation_id"]
    adele_tokens, graph.tokens[:] = list(graph.tokens), []
    async with connect(mcp_url, john_token) as john:
        asked = await john.call_tool("ask_copilot", {"question": "Who is on the Engineering team?"})
        john_conversation = asked.structured_content["conversation_id"]
        with pytest.raises(MCPError) as info:
            await john.read_resource(f"copilot://conversations/{adele_conversation}")
        assert "No conversation" in str(info.value) and MEETING not in str(info.value)
        own = (await john.read_resource(f"copilot://conversations/{john_conversation}")).contents[0]
        assert "Who is on the Engineering team?" in own.text
    assert set(adele_tokens) == {idp.graph_token(ADELE)} and set(graph.tokens) == {idp.graph_token(JOHN)}

    async with connect(mcp_url, idp.api_token(ADELE)) as adele:  # a new token, a new session: same user
        mine = (await adele.read_resource(f"copilot://conversations/{adele_conversation}")).contents[0]
        assert MEETING in mine.text
        with pytest.raises(MCPError):
            await adele.read_resource(f"copilot://conversations/{john_conversation}")


def test_a_session_answers_only_the_user_who_opened_it(mcp_url: str, idp: EntraStandIn) -> None:
    adele = idp.api_token(ADELE)
    opened = post(mcp_url, adele)
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    version = {"mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    assert post(mcp_url, idp.api_token(JOHN), listing, **version).status_code == 404
    assert post(mcp_url, adele, listing, **version).status_code == 200


async def test_a_refused_exchange_is_a_tool_error_the_model_can_explain(mcp_url: str, idp: EntraStandIn) -> None:
    user = "megan.bowen@contoso.com"
    idp.obo_challenge_users.add(user)  # conditional access wants MFA: the exchange fails
    async with connect(mcp_url, idp.api_token(user)) as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    assert result.is_error
    details = result.meta["copilot-tools/error"]
    assert details["kind"] == "not_signed_in"
    assert "sign" in details["hint"].lower()


# --- the verifier on its own --------------------------------------------------------------------


def verifier(idp: EntraStandIn, ca_file: str, **overrides: Any) -> EntraTokenVerifier:
    config = auth_config(idp, ca_file, "http://127.0.0.1:9/mcp", **overrides)
    keys = SigningKeys(f"{config.issuer_url}/.well-known/openid-configuration", ca_bundle=ca_file, min_refresh=0)
    return EntraTokenVerifier(config, keys=keys)


async def test_the_verifier_gives_the_sdk_the_user_and_the_raw_token(idp: EntraStandIn, ca_file: str) -> None:
    token = idp.api_token(ADELE, scp="access_as_user Files.Read")
    access = await verifier(idp, ca_file).verify_token(token)
    assert access is not None
    assert access.token == token  # the on-behalf-of assertion
    assert access.subject == idp.users[ADELE].oid and access.client_id == MCP_CLIENT
    assert access.scopes == [SCOPE_URI, f"api://{API_CLIENT}/Files.Read"]
    assert access.claims is not None and access.claims["tid"] == TENANT_ID
    assert token not in repr(access) and token not in str(access)


async def test_keys_are_cached_and_fetched_again_for_a_new_signing_key(idp: EntraStandIn, ca_file: str) -> None:
    check = verifier(idp, ca_file)
    for _ in range(3):
        assert await check.verify_token(idp.api_token(ADELE)) is not None
    assert check.keys.fetches == 1
    old = idp.kid
    try:
        idp.rotate()
        assert await check.verify_token(idp.api_token(ADELE)) is not None
        assert check.keys.fetches == 2
    finally:
        idp.kid = old


async def test_unknown_key_ids_do_not_hammer_the_identity_provider(idp: EntraStandIn, ca_file: str) -> None:
    config = auth_config(idp, ca_file, "http://127.0.0.1:9/mcp")
    check = EntraTokenVerifier(config)  # the default: at most one fetch a minute
    assert await check.verify_token(idp.api_token(ADELE)) is not None
    for number in range(5):
        forged = idp.api_token(ADELE, kid=f"made-up-{number}", key=_stranger_key())
        assert await check.verify_token(forged) is None
    assert check.keys.fetches == 1


async def test_other_tenants_and_v1_tokens_when_configured(idp: EntraStandIn, ca_file: str) -> None:
    check = verifier(idp, ca_file, allowed_tenants=(TENANT_ID, OTHER_TENANT), accept_v1_tokens=True,
                     allowed_client_ids=(MCP_CLIENT,))
    other = idp.api_token(ADELE, tid=OTHER_TENANT, iss=f"{idp.base_url}/{OTHER_TENANT}/v2.0")
    v1 = idp.api_token(ADELE, iss=f"https://sts.windows.net/{TENANT_ID}/", aud=f"api://{API_CLIENT}", ver="1.0",
                       azp=None, appid=MCP_CLIENT)
    assert await check.verify_token(other) is not None
    assert await check.verify_token(v1) is not None
    assert await check.verify_token(idp.api_token(ADELE, azp="11111111-1111-4111-8111-111111111111")) is None


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "message"), [
    ({"tenant_id": "contoso.onmicrosoft.com"}, "is not a GUID"),
    ({"client_id": ""}, "is not a GUID"),
    ({"client_secret": None}, "no credential"),
    ({"resource_url": "http://mcp.contoso.com/mcp"}, "plain http"),
    ({"resource_url": "not a url"}, "not an http(s) URL"),
    ({"scope": "access as user"}, "not a scope name"),
    ({"allowed_tenants": ("contoso.com",)}, "tenant GUIDs"),
])
def test_a_bad_configuration_stops_the_server_with_a_message(overrides: dict[str, Any], message: str,
                                                              idp: EntraStandIn, ca_file: str) -> None:
    with pytest.raises(AuthConfigError) as info:
        auth_config(idp, ca_file, **{"resource_url": "https://mcp.contoso.com/mcp", **overrides})
    assert message in info.value.message and info.value.hint


def _certificate_pem(tmp_path: Path) -> tuple[Path, str]:
    key = _stranger_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copilot-tools-mcp")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path = tmp_path / "server.pem"
    path.write_bytes(private + cert.public_bytes(serialization.Encoding.PEM))
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()


def test_a_certificate_credential_gets_its_thumbprint(tmp_path: Path, idp: EntraStandIn, ca_file: str) -> None:
    path, thumbprint = _certificate_pem(tmp_path)
    config = auth_config(idp, ca_file, "https://mcp.contoso.com/mcp", client_secret=None, certificate_path=path)
    credential = config.client_credential
    assert credential["thumbprint"] == thumbprint and "PRIVATE KEY" in credential["private_key"]
    assert "PRIVATE KEY" not in repr(config)
    with pytest.raises(AuthConfigError, match="does not match"):
        auth_config(idp, ca_file, "https://mcp.contoso.com/mcp", client_secret=None, certificate_path=path,
                    certificate_thumbprint="00" * 20)
    with pytest.raises(AuthConfigError, match="both"):
        auth_config(idp, ca_file, "https://mcp.contoso.com/mcp", certificate_path=path)
    locked = tmp_path / "locked.pem"
    key = serialization.load_pem_private_key(credential["private_key"].encode(), None)
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"passphrase")))
    with pytest.raises(AuthConfigError, match="encrypted"):
        auth_config(idp, ca_file, "https://mcp.contoso.com/mcp", client_secret=None, certificate_path=locked,
                    certificate_thumbprint=thumbprint)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def captured_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[MCPServer, str, dict[str, Any]]]:
    """``MCPServer.run`` records its server and arguments instead of serving."""
    calls: list[tuple[MCPServer, str, dict[str, Any]]] = []

    def run(self: MCPServer, transport: str = "stdio", **kwargs: Any) -> None:
        calls.append((self, transport, kwargs))

    def serve_http(server: MCPServer, host: str, port: int, security: Any, auth: Any, **kwargs: Any) -> bool:
        # What the CLI would serve: the shared-state app behind the Host/Origin guard.
        app = cli_mcp.guarded_http_app(server, host, security, auth, state=kwargs.get("state"),
                                       state_config=kwargs.get("state_config"))
        calls.append((app, "streamable-http", {"host": host, "port": port, "security": security, **kwargs}))
        return True

    monkeypatch.setattr(MCPServer, "run", run)
    monkeypatch.setattr(cli_mcp, "_serve_http", serve_http)
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("COPILOT_TOOLS_ACCESS_TOKEN", "COPILOT_TOOLS_EXTRA_HEADERS", "COPILOT_TOOLS_TENANT_ID",
                 "COPILOT_TOOLS_SCOPES", "COPILOT_TOOLS_MCP_AUTH", "COPILOT_TOOLS_MCP_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return calls


AUTH_ARGS = ["--auth", "entra", "--auth-tenant", TENANT_ID, "--auth-client-id", API_CLIENT]


async def test_with_authentication_the_cli_serves_any_address(
    captured_run: list[Any], monkeypatch: pytest.MonkeyPatch, idp: EntraStandIn, ca_file: str,
    graph: RecordingGraph, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_AUTHORITY", idp.base_url)
    monkeypatch.setenv("COPILOT_TOOLS_CA_BUNDLE", ca_file)
    monkeypatch.setenv("COPILOT_TOOLS_MCP_CLIENT_SECRET", SECRET)
    sock = bind("127.0.0.1", 0)  # the app answers Host headers naming its port
    port = str(sock.getsockname()[1])
    code = main(["--endpoint", graph.base_url, "mcp", "--transport", "http", "--host", "0.0.0.0", "--port", port,
                 *AUTH_ARGS, "--auth-resource-url", "https://mcp.contoso.com/mcp", "--time-zone", TIME_ZONE])
    assert code == 0, capsys.readouterr().err
    ((app, transport, options),) = captured_run
    assert transport == "streamable-http" and options["host"] == "0.0.0.0"
    err = capsys.readouterr().err
    assert SECRET not in err and "https://mcp.contoso.com/mcp" in err

    # The server the CLI built, served on loopback: it takes our tokens and exchanges them.
    with serve(app, sock) as origin:
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            assert (await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)).status_code == 401
            metadata = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
        assert metadata["resource"] == "https://mcp.contoso.com/mcp"
        graph.tokens.clear()
        async with connect(f"{origin}/mcp", idp.api_token(JOHN)) as client:
            result = await client.call_tool("ask_copilot", {"question": MEETING})
        assert not result.is_error, result.content
        assert set(graph.tokens) == {idp.graph_token(JOHN)}


def test_an_incomplete_authentication_setup_is_refused_naming_what_is_missing(
    captured_run: list[Any], capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--endpoint", "http://127.0.0.1:9/beta", "mcp", "--transport", "http", "--host", "0.0.0.0",
                 "--auth", "entra"])
    err = capsys.readouterr().err
    assert code == 2 and not captured_run
    missing = ("--auth-tenant", "--auth-client-id", "--auth-resource-url", "COPILOT_TOOLS_MCP_CLIENT_SECRET")
    assert all(name in err for name in missing), err


def test_stdio_ignores_the_http_authentication_options(captured_run: list[Any]) -> None:
    assert main(["--endpoint", "http://127.0.0.1:9/beta", "mcp", *AUTH_ARGS]) == 0
    ((server, transport, _),) = captured_run
    assert transport == "stdio" and server.settings.auth is None
