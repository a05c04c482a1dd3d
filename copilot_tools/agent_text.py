"""Old name of ``copilot_tools.agent.text`` (what an agent's model reads); kept so imports keep working."""

from __future__ import annotations

import secrets  # noqa: F401 - tests patch ``agent_text.secrets``; the same module object

from copilot_tools.agent.text import (  # noqa: F401 - re-exported
    ASK_ARGUMENTS,
    CONTINUE_ARGUMENTS,
    DATA_NOTE,
    DATA_NOTICE,
    RETRIEVE_ARGUMENTS,
    answer_text,
    error_details,
    error_text,
    follow_up_note,
    hits_text,
    is_configuration_error,
    wrap_untrusted,
)
