"""The deployment files in ``servers/`` say what an operator relies on (no container engine runs
here, so they are parsed and checked): replicas on shared Redis behind a proxy, non-root
images with health checks, secrets only by reference, settings the server actually reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml

from copilot_tools.cli.mcp import _AUTH_OPTIONS, _SECURITY_OPTIONS, _SETTING_OPTIONS, CLIENT_SECRET_ENV
from copilot_tools.mcp.state.config import ENV_STATE_KEY, ENVIRONMENT

SERVERS = Path(__file__).resolve().parents[2] / "servers"
KNOWN = {*ENVIRONMENT.values(), ENV_STATE_KEY, CLIENT_SECRET_ENV, *_AUTH_OPTIONS.values(),
         *(variable for _, variable in _SETTING_OPTIONS.values()), *_SECURITY_OPTIONS.values(),
         "COPILOT_TOOLS_TOKEN_CACHE"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_compose_runs_two_replicas_on_redis_behind_a_proxy_with_the_emulator_as_a_profile() -> None:
    compose = load(SERVERS / "docker" / "compose.yaml")
    services = compose["services"]
    assert {"redis", "mcp-1", "mcp-2", "proxy", "emulator"} <= set(services)
    for name in ("mcp-1", "mcp-2"):
        replica = services[name]
        assert replica["environment"]["COPILOT_TOOLS_STATE_URL"] == "redis://redis:6379/0"
        assert replica["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in replica  # only the proxy is published
        assert set(re.findall(r"COPILOT_TOOLS_\w+", str(replica["environment"]))) <= KNOWN
    assert services["emulator"]["profiles"] == ["emulator"]
    caddy = (SERVERS / "docker" / "Caddyfile").read_text()
    assert "mcp-1:8765 mcp-2:8765" in caddy and "flush_interval -1" in caddy and "/readyz" in caddy


def test_the_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    dockerfile = (SERVERS / "docker" / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile and ".[redis,otel]" in dockerfile


def test_kubernetes_runs_two_or_more_replicas_with_probes_an_autoscaler_and_a_disruption_budget() -> None:
    folder = SERVERS / "kubernetes"
    kustomization = load(folder / "kustomization.yaml")
    documents = {load(folder / name)["kind"]: load(folder / name) for name in kustomization["resources"]}
    assert "secret.example.yaml" not in kustomization["resources"]  # secrets are created, not committed
    deployment = documents["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for variable in container["env"]:  # every secret by reference, none by value
        assert set(variable) == {"name", "valueFrom"} and "secretKeyRef" in variable["valueFrom"]
    names = {v["name"] for v in container["env"]} | set(documents["ConfigMap"]["data"])
    assert {"COPILOT_TOOLS_STATE_URL", "COPILOT_TOOLS_STATE_KEY", CLIENT_SECRET_ENV} <= names
    assert {name for name in names if name.startswith("COPILOT_TOOLS_")} <= KNOWN
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert documents["Service"]["spec"]["selector"] == labels
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert documents["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2


def test_probes_by_a_replicas_own_address_reach_the_health_routes_and_nothing_else(emulator: Any) -> None:
    """A kubelet or a proxy probes a replica by its pod address, which no allowed-Host list names:
    /healthz and /readyz answer it, while /mcp refuses that Host (DNS-rebinding protection)."""
    from copilot_tools import Settings
    from copilot_tools.cli.mcp import guarded_http_app
    from copilot_tools.emulator.server import bind
    from copilot_tools.mcp import build_server
    from copilot_tools.mcp.http_security import derive
    from tests.mcp.test_http_auth import serve
    from tests.replicas.test_replicas import INITIALIZE, MCP_HEADERS

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = build_server(Settings(endpoint=emulator.base_url, access_token="test"))
    app = guarded_http_app(server, "127.0.0.1", derive("127.0.0.1", port), None)
    pod = {"Host": f"10.244.1.7:{port}"}
    with serve(app, sock) as origin, httpx.Client(base_url=origin, timeout=10) as http:
        assert http.get("/healthz", headers=pod).status_code == 200
        assert http.get("/readyz", headers=pod).json() == {"status": "ready"}
        assert http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **pod}).status_code == 421
        assert http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS).status_code == 200
