"""What sign-in costs on each path, against the local identity-provider stand-in.

    .venv/bin/python benchmarks/auth_token_paths.py [--runs 50]

Measured, not asserted (loopback TLS, so network latency to Entra is not included):

- ``import copilot_tools.auth`` in a fresh process (it must not import MSAL);
- the first token of a new process from the persistent cache ("restart"): MSAL's import,
  OpenID discovery and a cache read;
- ``get_token()`` from the in-memory view of the cache (every request of a client);
- a silent refresh through the refresh token (an expired access token);
- the background provider's first answer without a token (``SignInRequiredError``).

Needs the dev extras (``trustme``) and the test stand-in in ``tests/auth/idp.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.2f} ms   p90 {sorted(values)[int(len(values) * 0.9) - 1] * 1000:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    import trustme

    from copilot_tools.auth.cache import open_token_cache
    from copilot_tools.auth.device_flow import BackgroundDeviceFlowProvider
    from copilot_tools.auth.errors import SignInRequiredError
    from copilot_tools.auth.public import MsalTokenProvider
    from copilot_tools.auth.scopes import GRAPH_DEFAULT_CLIENT_ID, scopes_for_endpoint
    from tests.auth.idp import FakeIdentityProvider

    work = Path(tempfile.mkdtemp(prefix="auth-bench-"))
    os.chmod(work, 0o700)
    ca = trustme.CA()
    ca_file = work / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    idp = FakeIdentityProvider(ca).start()
    idp.auto_approve = "adele@contoso.com"
    cache_file = work / "cache" / "token_cache.json"
    env = {**os.environ, "COPILOT_TOOLS_TOKEN_CACHE": str(cache_file), "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION": "off",
           "PYTHONPATH": str(ROOT)}
    os.environ.update({k: env[k] for k in ("COPILOT_TOOLS_TOKEN_CACHE", "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION")})

    def provider(**kwargs: object) -> MsalTokenProvider:
        options: dict[str, object] = {
            "client_id": GRAPH_DEFAULT_CLIENT_ID, "scopes": scopes_for_endpoint("graph"),
            "authority_host": idp.base_url, "ca_bundle": str(ca_file), "token_cache": open_token_cache(cache_file),
            "interaction": "device_code", "device_code_prompt": lambda code: None, "min_poll_interval": 0.01,
        }
        options.update(kwargs)
        return MsalTokenProvider(**options)  # type: ignore[arg-type]

    try:
        def import_cost(module: str) -> float:
            """Median in-process time of importing ``module`` after ``copilot_tools`` is loaded."""
            code = (f"import copilot_tools, time; t = time.perf_counter(); import {module}; "
                    "print(time.perf_counter() - t)")
            runs = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                         text=True).stdout) for _ in range(max(5, args.runs // 10))]
            return statistics.median(runs)

        print(f"import copilot_tools.auth + factory (after copilot_tools): {import_cost('copilot_tools.auth.factory') * 1000:6.1f} ms")
        print(f"import msal + msal_extensions (deferred to the first token): {import_cost('msal, msal_extensions') * 1000:6.1f} ms")

        provider().get_token()  # sign in once (auto-approved device code)
        restart_code = (
            "import copilot_tools, time; t=time.perf_counter();"
            "from copilot_tools.auth.public import MsalTokenProvider;"
            "from copilot_tools.auth.scopes import scopes_for_endpoint;"
            f"p=MsalTokenProvider(client_id='{GRAPH_DEFAULT_CLIENT_ID}', scopes=scopes_for_endpoint('graph'),"
            f" authority_host='{idp.base_url}', ca_bundle=r'{ca_file}', interaction='none');"
            "p.get_token(); print(time.perf_counter()-t)"
        )
        restarts = []
        for _ in range(max(5, args.runs // 10)):
            out = subprocess.run([sys.executable, "-c", restart_code], env=env, check=True, capture_output=True, text=True)
            restarts.append(float(out.stdout))
        print(f"first token after a restart (in-process part):        {_ms(restarts)}")

        warm = provider(interaction="none")
        warm.get_token()
        silent = []
        for _ in range(args.runs):
            started = time.perf_counter()
            warm.get_token()
            silent.append(time.perf_counter() - started)
        print(f"get_token() from the cache:                            {_ms(silent)}")

        refresh = []
        for _ in range(max(5, args.runs // 5)):
            started = time.perf_counter()
            warm.get_token(force_refresh=True)
            refresh.append(time.perf_counter() - started)
        print(f"silent refresh through the refresh token:              {_ms(refresh)}")

        idp.auto_approve = None
        first_answers = []
        for n in range(max(5, args.runs // 10)):
            empty = work / f"empty{n}" / "cache.json"
            background = BackgroundDeviceFlowProvider(
                MsalTokenProvider(client_id=GRAPH_DEFAULT_CLIENT_ID, scopes=scopes_for_endpoint("graph"),
                                  authority_host=idp.base_url, ca_bundle=str(ca_file),
                                  token_cache=open_token_cache(empty), interaction="none"),
                announce=None,
            )
            started = time.perf_counter()
            try:
                background.get_token()
            except SignInRequiredError:
                first_answers.append(time.perf_counter() - started)
            background.close()
        print(f"no token: SignInRequiredError (discovery + code):      {_ms(first_answers)}")
    finally:
        idp.stop()


if __name__ == "__main__":
    main()
