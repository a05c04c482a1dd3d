"""``python -m copilot_tools`` is the ``copilot-tools`` command."""

import sys

from copilot_tools.cli import main

sys.exit(main())
