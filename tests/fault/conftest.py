"""Fixtures of the fault suite: the identity-provider stand-in and a private cache per test
(shared with tests/auth), and the misbehaving loopback servers (``tests.fault.servers``)."""

from __future__ import annotations

from tests.auth.conftest import auth_env, cache_file, idp, private_environment  # noqa: F401 - fixtures
