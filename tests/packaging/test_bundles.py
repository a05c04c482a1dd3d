"""The desktop bundle and the MCP registry entry: checked by their own tools and schema.

``servers/mcpb`` is validated and packed by the official ``mcpb`` CLI; the packed
bundle's entry point is then started as a host would start it and must serve the tools
its manifest lists. ``servers/server.json`` validates against the registry's published
schema (a copy in ``fixtures/``, so the test is offline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import anyio
import jsonschema
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from copilot_tools.settings import ENV_PREFIX, Settings
from tests.packaging.conftest import ROOT

BUNDLE = ROOT / "servers" / "mcpb"
SERVER_JSON = ROOT / "servers" / "server.json"
SCHEMA = Path(__file__).parent / "fixtures" / "server.schema.2025-12-11.json"


def version() -> str:
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_official_cli_validates_and_packs_the_bundle(mcpb: Path, tmp_path: Path) -> None:
    validated = subprocess.run([str(mcpb), "validate", str(BUNDLE / "manifest.json")],
                               capture_output=True, text=True, timeout=120, check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    out = tmp_path / "copilot-tools.mcpb"
    packed = subprocess.run([str(mcpb), "pack", str(BUNDLE), str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    with zipfile.ZipFile(out) as bundle:
        assert set(bundle.namelist()) == {"manifest.json", "pyproject.toml", "src/server.py"}
        bundle.extractall(tmp_path / "unpacked")
    served = serve_bundle(tmp_path / "unpacked", tmp_path)
    listed = {tool["name"] for tool in load(BUNDLE / "manifest.json")["tools"]}
    assert served == listed == {"ask_copilot", "ask_with_files", "continue_conversation", "retrieve"}


def serve_bundle(unpacked: Path, tmp_path: Path) -> set[str]:
    """Start the bundle's entry point as the host would (its env, empty settings unset) and list the tools."""
    manifest = load(unpacked / "manifest.json")
    config = manifest["server"]["mcp_config"]
    assert config["args"][-1] == manifest["server"]["entry_point"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for name, template in config["env"].items():  # what the host substitutes for user settings left empty
        key = template.removeprefix("${user_config.").removesuffix("}")
        env[name] = str(manifest["user_config"][key].get("default", ""))
    env.update({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
                "COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml")})
    params = StdioServerParameters(command=sys.executable, args=[manifest["server"]["entry_point"]], env=env,
                                   cwd=str(unpacked))

    async def session() -> set[str]:
        with open(tmp_path / "stderr.log", "w", encoding="utf-8") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return {tool.name for tool in (await client.list_tools()).tools}

    return anyio.run(session)


def test_the_bundle_settings_are_real_settings_and_versions_agree() -> None:
    manifest = load(BUNDLE / "manifest.json")
    assert manifest["version"] == version()
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert set(manifest["server"]["mcp_config"]["env"]) <= fields
    assert manifest["compatibility"]["runtimes"]["python"] == ">=3.11"


def test_server_json_validates_against_the_registry_schema() -> None:
    schema = load(SCHEMA)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    server = load(SERVER_JSON)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(server)]
    assert errors == []
    assert server["$schema"] == schema["$id"]
    # The schema can fail: a name without a namespace is refused.
    assert list(validator.iter_errors({**server, "name": "copilot-tools"}))


def test_server_json_describes_this_package() -> None:
    server = load(SERVER_JSON)
    (package,) = server["packages"]
    assert server["version"] == package["version"] == version()
    assert package["identifier"] == "copilot-tools" and package["registryType"] == "pypi"
    assert [a["value"] for a in package["packageArguments"]] == ["mcp"]
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert {variable["name"] for variable in package["environmentVariables"]} <= fields
    # The registry checks ownership of a PyPI package by this line in its README.
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")
