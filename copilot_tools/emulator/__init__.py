"""A local server that speaks Microsoft Graph's Copilot Chat and Retrieval APIs.

It answers from a folder of documents (the bundled "Contoso" tenant by default) with
real citations, streams growing snapshots like the service, and injects the service's
failures on demand (see ``copilot_tools.emulator.faults``). Start it with
``copilot-tools emulator``, in-process with ``EmulatorServer``, or mount ``create_app()``
in any ASGI server. Nothing here imports the MCP SDK or LangChain.
"""

from __future__ import annotations

from copilot_tools.emulator.app import create_app
from copilot_tools.emulator.config import EmulatorConfig
from copilot_tools.emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer", "create_app"]
