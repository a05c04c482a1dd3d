"""``_wire.validate_python_fast`` gives what the tolerant validation gives, or nothing.

The stream assembler validates a parsed snapshot with the model's validator without its tolerant
wrappers first. Every body of tests/unit/test_fast_read.py is parsed by ``_json`` and validated both
ways: wherever the fast validation answers, the two conversations are the same to the last field.
"""

from __future__ import annotations

import json

from copilot_tools import _json
from copilot_tools._wire import Conversation, validate_python_fast
from tests.unit.test_fast_read import BODIES, same


def test_wherever_the_fast_validation_answers_it_answers_as_the_tolerant_path() -> None:
    answered = 0
    for text in BODIES:
        value = _json.loads(text)
        fast = validate_python_fast(Conversation, value)
        if fast is not None:
            answered += 1
            assert same(fast, Conversation.model_validate(value)), text
    assert answered > 400


def test_a_value_that_needs_a_repair_is_left_to_the_tolerant_path() -> None:
    value = json.loads('{"id":"c","turnCount":null,"messages":[{"text":"t","adaptiveCards":["card"]}]}')
    assert validate_python_fast(Conversation, value) is None
    assert Conversation.model_validate(value).messages[0].adaptive_cards == []
