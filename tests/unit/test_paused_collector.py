"""The garbage collector is paused while many models are built, and left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from copilot_tools._wire import Conversation, PausedCollector, ResponseMessage, validate_python_fast
from copilot_tools.answer import normalize_message


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after(collector_on: None) -> None:
    with PausedCollector():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), PausedCollector():
        raise ValueError
    assert gc.isenabled()


def test_a_collector_found_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with PausedCollector():
        assert not gc.isenabled()
    assert not gc.isenabled()


def _many(count: int) -> dict[str, object]:
    unit = {"attributionType": "citation", "providerDisplayName": "A source", "seeMoreWebUrl": "https://x/y"}
    return {"id": "c", "turnCount": 1, "messages": [{"id": "r", "text": "See [^1^].", "attributions": [unit] * count}]}


def test_a_big_reply_is_read_and_answered_with_the_collector_on_again(collector_on: None) -> None:
    value = _many(2000)
    fast = validate_python_fast(Conversation, value)
    assert gc.isenabled()
    assert fast is not None and fast == Conversation.model_validate(value)
    assert gc.isenabled()
    answer = normalize_message(fast.messages[0], conversation_id="c", turn_count=1)
    assert gc.isenabled()
    assert len(answer.attributions) == 2000 and answer.citations[0].url == "https://x/y"


def test_a_refused_read_leaves_the_collector_on(collector_on: None) -> None:
    assert validate_python_fast(ResponseMessage, {"attributions": [{"imageWidth": "wide"}] * 5000}) is None
    assert gc.isenabled()
