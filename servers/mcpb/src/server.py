"""The bundle's entry point: ``copilot-tools mcp`` over stdio, with the host's settings.

The host passes the user's settings as ``COPILOT_TOOLS_*`` variables (an empty one means
"not set"), so this is the same server as ``copilot-tools mcp`` in a terminal.
"""

import sys

from copilot_tools.cli import main

if __name__ == "__main__":
    sys.exit(main(["mcp", *sys.argv[1:]]))
