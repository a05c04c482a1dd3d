"""A local stand-in for Microsoft Entra ID, served over TLS on 127.0.0.1.

It speaks just what MSAL Python calls, byte for byte in the shape MSAL expects:
OpenID discovery, ``/devicecode``, ``/authorize`` (for a scripted "browser"), and
``/token`` for the device-code, refresh-token, authorization-code (PKCE) and
on-behalf-of (jwt-bearer) grants. Tokens are unsigned test JWTs (MSAL does not verify
id_token signatures); access tokens carry ``xms_cc`` when the client declared CP1 and
the claims it was asked for, so tests can see what was requested.

Knobs: ``interval`` (device-code poll interval the client is told), ``token_lifetime``,
``auto_approve`` (approve every device code at its first poll as this user),
``claims_mode`` (what a refresh carrying a claims challenge gets), ``obo_clients``.
Every request is recorded in ``requests`` (path and form fields).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

RESERVED = {"openid", "profile", "offline_access"}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TENANT_ID = "72f988bf-0000-4000-8000-000000000001"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(payload: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "none"}
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(payload).encode()),
            b64url(secrets.token_bytes(16)),
        ]
    )


def decode_jwt(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@dataclass
class User:
    username: str
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    tid: str = TENANT_ID
    name: str = ""


@dataclass
class Request:
    method: str
    path: str
    form: dict[str, str]

    @property
    def claims(self) -> dict[str, Any] | None:
        raw = self.form.get("claims")
        return json.loads(raw) if raw else None


class FakeIdentityProvider:
    def __init__(self, ca: Any, *, interval: int = 0, token_lifetime: int = 3600) -> None:
        self.ca = ca
        self.interval = interval
        self.token_lifetime = token_lifetime
        self.device_code_lifetime = 900
        self.users: dict[str, User] = {}
        self.device_codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.auto_approve: str | None = None
        self.browser_user: str | None = None
        #: "issue": a refresh with a claims challenge gets a new token satisfying it;
        #: "interaction_required": it is refused (the user must sign in again).
        self.claims_mode = "issue"
        self.obo_clients: dict[str, str] = {}
        self.obo_challenge_users: set[str] = set()
        self.devicecode_error: dict[str, Any] | None = None
        #: Cleared, ``/devicecode`` answers only once it is set again (a slow identity provider whose
        #: answer comes when the test says so); ``stop()`` sets it.
        self.devicecode_answers = threading.Event()
        self.devicecode_answers.set()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def handler_class(self) -> type[_Handler]:
        """The request handler bound to this provider; subclasses extend what it serves."""
        idp = self

        class Handler(_Handler):
            provider = idp

        return Handler

    def start(self) -> FakeIdentityProvider:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        server.daemon_threads = True
        server.block_on_close = False
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.devicecode_answers.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ test controls

    def add_user(self, username: str, **kwargs: Any) -> User:
        user = self.users.get(username) or User(username=username, name=username.split("@")[0].title(), **kwargs)
        self.users[username] = user
        return user

    def approve(self, user_code: str, username: str) -> None:
        self.add_user(username)
        with self.lock:
            for entry in self.device_codes.values():
                if entry["user_code"] == user_code:
                    entry["status"] = "approved"
                    entry["username"] = username
                    return
        raise KeyError(user_code)

    def decline(self, user_code: str) -> None:
        with self.lock:
            for entry in self.device_codes.values():
                if entry["user_code"] == user_code:
                    entry["status"] = "declined"
                    return
        raise KeyError(user_code)

    def revoke_refresh_tokens(self, username: str) -> None:
        with self.lock:
            for entry in self.refresh_tokens.values():
                if entry["username"] == username:
                    entry["revoked"] = True

    def token_requests(self, grant_type: str | None = None) -> list[Request]:
        return [
            r for r in list(self.requests)
            if r.path.endswith("/token") and (grant_type is None or r.form.get("grant_type") == grant_type)
        ]

    def user_token(self, username: str, *, audience: str = "api://copilot-mcp", lifetime: int = 3600) -> str:
        """An incoming token for our server's own API (what OBO exchanges)."""
        user = self.add_user(username)
        now = int(time.time())
        return make_jwt(
            {"aud": audience, "iss": f"{self.base_url}/{user.tid}/v2.0", "iat": now, "nbf": now, "exp": now + lifetime,
             "tid": user.tid, "oid": user.oid, "preferred_username": username, "scp": "access_as_user",
             "azp": "mcp-client", "uti": secrets.token_hex(6)}
        )

    # ------------------------------------------------------------------ token issuing

    def issue(self, username: str, client_id: str, scopes: list[str], claims: str | None, *, refresh: bool = True,
              nonce: str | None = None) -> dict[str, Any]:
        user = self.add_user(username)
        granted = [s for s in scopes if s not in RESERVED]
        resource = granted[0].rsplit("/", 1)[0] if granted and "/" in granted[0] else "https://graph.microsoft.com"
        requested = json.loads(claims) if claims else {}
        at_claims = dict(requested.get("access_token", {}))
        xms_cc = at_claims.pop("xms_cc", {}).get("values")
        now = int(time.time())
        payload: dict[str, Any] = {
            "aud": resource, "iss": f"https://sts.windows.net/{user.tid}/", "iat": now, "nbf": now,
            "exp": now + self.token_lifetime, "tid": user.tid, "oid": user.oid, "upn": username,
            "preferred_username": username, "name": user.name, "appid": client_id,
            "scp": " ".join(s.rsplit("/", 1)[-1] for s in granted), "uti": secrets.token_hex(8),
        }
        if xms_cc:
            payload["xms_cc"] = xms_cc
        if at_claims:
            payload["satisfied_claims"] = at_claims  # what the claims challenge asked for
        id_token = make_jwt(
            {"aud": client_id, "iss": f"{self.base_url}/{user.tid}/v2.0", "iat": now, "nbf": now, "exp": now + 3600,
             "sub": user.oid, "oid": user.oid, "tid": user.tid, "preferred_username": username, "name": user.name,
             "ver": "2.0", **({"nonce": nonce} if nonce else {})}
        )
        response: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(granted),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": make_jwt(payload),
            "id_token": id_token,
            "client_info": b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode()),
        }
        if refresh:
            rt = "0.A" + secrets.token_urlsafe(40)
            with self.lock:
                self.refresh_tokens[rt] = {"username": username, "client_id": client_id, "revoked": False}
            response["refresh_token"] = rt
        return response


def _error(error: str, description: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"error": error, "error_description": description, "error_codes": extra.pop("codes", []),
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}
    body.update(extra)
    return 400, body


class _Handler(BaseHTTPRequestHandler):
    provider: FakeIdentityProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.provider.requests.append(Request("GET", parts.path, query))
        segments = parts.path.strip("/").split("/")
        if parts.path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = segments[0]
            base = f"{self.provider.base_url}/{tenant}"
            self._send(200, {
                "issuer": f"{self.provider.base_url}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
            })
            return
        if parts.path.endswith("/oauth2/v2.0/authorize"):
            # The scripted browser: the user is already "signed in" as browser_user.
            username = self.provider.browser_user
            if username is None:
                self._send(400, {"error": "access_denied"})
                return
            code = secrets.token_urlsafe(24)
            with self.provider.lock:
                self.provider.auth_codes[code] = {
                    "username": username, "client_id": query.get("client_id"),
                    "scopes": query.get("scope", "").split(), "claims": query.get("claims"),
                    "challenge": query.get("code_challenge"), "redirect_uri": query.get("redirect_uri"),
                    "nonce": query.get("nonce"),
                }
            self.provider.add_user(username)
            self._send(200, {"code": code, "state": query.get("state"), "redirect_uri": query.get("redirect_uri")})
            return
        self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        path = urlsplit(self.path).path
        self.provider.requests.append(Request("POST", path, form))
        if path.endswith("/oauth2/v2.0/devicecode"):
            self._send(*self._devicecode(form))
        elif path.endswith("/oauth2/v2.0/token"):
            self._send(*self._token(form))
        else:
            self._send(404, {"error": "not_found"})

    def _devicecode(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        idp = self.provider
        idp.devicecode_answers.wait(60)
        if idp.devicecode_error is not None:
            return 400, idp.devicecode_error
        device_code = secrets.token_urlsafe(32)
        user_code = secrets.token_hex(4).upper()
        uri = f"{idp.base_url}/devicelogin"
        with idp.lock:
            idp.device_codes[device_code] = {
                "user_code": user_code, "client_id": form.get("client_id"), "scopes": form.get("scope", "").split(),
                "claims": form.get("claims"), "status": "pending", "username": None,
                "expires_at": time.time() + idp.device_code_lifetime,
            }
        return 200, {
            "device_code": device_code, "user_code": user_code, "verification_uri": uri,
            "expires_in": idp.device_code_lifetime, "interval": idp.interval,
            "message": (
                f"To sign in, use a web browser to open the page {uri} "
                f"and enter the code {user_code} to authenticate."
            ),
        }

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        idp = self.provider
        grant = form.get("grant_type")
        client_id = form.get("client_id", "")
        scopes = form.get("scope", "").split()
        claims = form.get("claims")
        if grant == DEVICE_GRANT:
            with idp.lock:
                entry = idp.device_codes.get(form.get("device_code", ""))
                if entry is None:
                    return _error("invalid_grant", "AADSTS70000: unknown device code.")
                if entry["expires_at"] < time.time():
                    return _error("expired_token", "AADSTS70020: The provided value for the input parameter "
                                  "'device_code' is not valid. This device code has expired.")
                if entry["status"] == "pending" and idp.auto_approve:
                    entry["status"], entry["username"] = "approved", idp.auto_approve
                status = entry["status"]
                if status == "approved":
                    entry["status"] = "used"
            if status == "pending":
                return _error("authorization_pending",
                              "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
            if status == "declined":
                return _error("authorization_declined", "AADSTS70000: The user declined the sign-in.")
            if status == "used":
                return _error("invalid_grant", "AADSTS70000: The device code was already redeemed.")
            return 200, idp.issue(entry["username"], entry["client_id"], entry["scopes"], entry["claims"] or claims)
        if grant == "refresh_token":
            with idp.lock:
                entry = idp.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry["revoked"] or entry["client_id"] != client_id:
                return _error("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.",
                              codes=[700082], suberror="bad_token")
            requested = json.loads(claims) if claims else {}
            challenge = {k: v for k, v in requested.get("access_token", {}).items() if k != "xms_cc"}
            if challenge and idp.claims_mode == "interaction_required":
                return _error("interaction_required",
                              "AADSTS50076: Due to a configuration change, you must sign in again.",
                              codes=[50076], claims=claims, suberror="basic_action")
            return 200, idp.issue(entry["username"], client_id, scopes, claims)
        if grant == "authorization_code":
            with idp.lock:
                entry = idp.auth_codes.pop(form.get("code", ""), None)
            if entry is None:
                return _error("invalid_grant", "AADSTS70008: The authorization code is invalid.")
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != entry["challenge"]:
                return _error("invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge.")
            if form.get("redirect_uri") != entry["redirect_uri"]:
                return _error("invalid_grant", "AADSTS50148: redirect_uri mismatch.")
            return 200, idp.issue(entry["username"], client_id, entry["scopes"] or scopes, entry["claims"] or claims,
                                  nonce=entry["nonce"])
        if grant == OBO_GRANT:
            secret = idp.obo_clients.get(client_id)
            if secret is None or form.get("client_secret") != secret:
                return 401, {"error": "invalid_client",
                             "error_description": "AADSTS7000215: Invalid client secret provided."}
            if form.get("requested_token_use") != "on_behalf_of":
                return _error("invalid_request", "requested_token_use must be on_behalf_of")
            try:
                incoming = decode_jwt(form.get("assertion", ""))
            except Exception:  # noqa: BLE001
                return _error("invalid_grant", "AADSTS50027: JWT token is invalid or malformed.")
            if incoming.get("exp", 0) < time.time():
                return _error("invalid_grant", "AADSTS500133: Assertion is not within its valid time range.")
            username = incoming["preferred_username"]
            if username in idp.obo_challenge_users and not claims_beyond_capabilities(claims):
                challenge = json.dumps({"access_token": {"capolids": {"essential": True, "values": ["c1"]}}})
                return _error("interaction_required", "AADSTS50076: multi-factor authentication is required.",
                              codes=[50076], claims=challenge, suberror="basic_action")
            idp.add_user(username, oid=incoming["oid"], tid=incoming["tid"])
            return 200, idp.issue(username, client_id, scopes, claims, refresh=False)
        return _error("unsupported_grant_type", f"grant {grant!r} is not supported")


def claims_beyond_capabilities(claims: str | None) -> bool:
    if not claims:
        return False
    requested = json.loads(claims).get("access_token", {})
    return any(key != "xms_cc" for key in requested)
