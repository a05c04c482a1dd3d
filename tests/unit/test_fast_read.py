"""The one-step read of a reply (``_wire.validate_json_fast``) gives what the tolerant path gives, or nothing.

``parse_conversation`` tries pydantic's own JSON parser first and falls back to ``_json.loads`` plus
the tolerant validation. The fast read must never succeed with a different result: every body here
is read both ways, and wherever the fast read answers, the two conversations are the same to the
last field, type and extra (NaN compared by its repr).
"""

from __future__ import annotations

import json
import logging

import pytest

from copilot_tools import _json
from copilot_tools._protocol import parse_conversation
from copilot_tools._wire import Conversation, validate_json_fast
from tests import reference

VALUES = [
    "true", "false", "0", "1", "1.0", "1.5", "-1", "-0", "0.0", "1E2", "1e20", "1e400", "NaN", "-Infinity",
    "123456789012345678901234567890", "1700000000", "1700000000.5", "null", "[]", "{}", "[1]", "[{}]", '["x"]',
    "[null]", '{"a":1}', '[{"a":[1]}]', '"1"', '"1.0"', '"+1"', '"1e3"', '" 1 "', '"0x10"', '"1_000"', '"true"',
    '"yes"', '""', '"abc"', '"active"', '"1700000000"', '"2024-01-01"', '"2024-01-01T00:00:00"',
    '"2024-01-01T00:00:00+05:00"', '"2024-01-01T00:00:00.123456789Z"', '"2024-13-01"', '"PT1H"', '"\\u00e9"',
]
FIELDS = {
    '{"id":"c",%s}': ["id", "turnCount", "state", "status", "createdDateTime", "displayName", "agentId",
                      "@odata.context", "messages"],
    '{"id":"c","messages":[{"text":"t",%s}]}': ["text", "id", "@odata.type", "createdDateTime", "adaptiveCards",
                                                "attributions", "sensitivityLabel"],
    '{"id":"c","messages":[{"text":"t","attributions":[{%s}]}]}': ["attributionType", "seeMoreWebUrl",
                                                                    "imageWidth", "imageHeight"],
    '{"id":"c","messages":[{"text":"t","sensitivityLabel":{%s}}]}': ["priority", "isEncrypted", "displayName",
                                                                      "toolTip", "tooltip", "sensitivityLabelId"],
    '{"id":"c","messages":[{"text":"t","adaptiveCards":[{%s}]}]}': ["x"],
}
BODIES = [
    *(template % f"{json.dumps(field)}:{value}" for template, fields in FIELDS.items()
      for field in fields for value in VALUES),
    *(f'{{"id":"c","messages":[{value}]}}' for value in VALUES),
    *VALUES,
    *(json.dumps(response) for _, response in reference.chat_examples()),
]


def tolerant(body: bytes) -> Conversation:
    return Conversation.model_validate(_json.loads(body))


def same(a: Conversation, b: Conversation) -> bool:
    return (repr(a) == repr(b) and repr(a.model_dump()) == repr(b.model_dump())
            and a.model_fields_set == b.model_fields_set and repr(a.model_extra) == repr(b.model_extra)
            and all(repr(x.__dict__) == repr(y.__dict__) and repr(x.model_extra) == repr(y.model_extra)
                    for x, y in zip(a.messages, b.messages, strict=True)))


def test_wherever_the_fast_read_answers_it_answers_as_the_tolerant_path() -> None:
    answered = 0
    for text in BODIES:
        body = text.encode()
        fast = validate_json_fast(Conversation, body)
        if fast is not None:
            answered += 1
            assert same(fast, tolerant(body)), text
    assert answered > 400  # the usual shapes do take the fast read


def test_the_reference_replies_take_the_fast_read() -> None:
    for _, response in reference.chat_examples():
        assert validate_json_fast(Conversation, json.dumps(response).encode()) is not None


@pytest.mark.parametrize("body", [
    b'{"id":"c","messages":[{"text":"x\\ud83d y"}]}',  # a lone surrogate escape: _json rewrites it
    b'{"id":"c","messages":[{"text":"x\\udc00"}]}',
    b'\xef\xbb\xbf{"id":"c"}',  # a BOM: _json decodes it
    '{"id":"c"}'.encode("utf-16"),
    b'{"id":"c\xff"}',  # not UTF-8: _json reads U+FFFD
    b'{"id":"c","messages":[{"adaptiveCards":[' + b"[" * 70 + b"]" * 70 + b"]}]}",  # deeper than MAX_DEPTH
    b'{"id":"c","turnCount":null}',  # needs a repair
    b'{"id":"c","messages":[{"text":"t","createdDateTime":"yesterday"}]}',
])
def test_what_needs_the_tolerant_path_is_left_to_it(body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        assert validate_json_fast(Conversation, body) is None
    assert not caplog.records  # the fast read warns about nothing: the tolerant path does, once
    assert same(parse_conversation(body), tolerant(body))


def test_the_fast_read_runs_no_python_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # The point of the plain validator: the tolerant wrappers are out of the usual reply's way.
    from copilot_tools import _wire

    def refuse(*args: object) -> None:
        raise AssertionError("_tolerant ran on the fast read")

    monkeypatch.setattr(_wire, "_tolerant", refuse)
    assert _wire._plain_validator(Conversation) is not None
    body = json.dumps(reference.chat_examples()[0][1]).encode()
    assert validate_json_fast(Conversation, body) is not None
