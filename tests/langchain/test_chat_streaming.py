"""ChatCopilot's streamed chunks add up to the final answer, whatever Copilot rewrites.

Copilot sometimes rewrites text it has already sent; LangChain chunks cannot take text
back. These streams are scripted, because they include rewrites the emulator (like the
service as far as anyone has seen) never makes: one of a line that was already out.
"""

from __future__ import annotations

import logging

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessageChunk

from copilot_tools import TextDelta, TextReset
from copilot_tools.langchain import ChatCopilot
from tests.langchain.scripted import ScriptedAsyncClient, ScriptedClient, answer

URL = "https://contoso.sharepoint.com/sites/Engineering/Standup.docx"
FINAL = answer("It is daily[1].\nJohn Doe runs it[1].\nBring notes.", ("Standup notes", URL))


_client = ScriptedClient([], FINAL)


def stream(events, final=FINAL, **kwargs) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    model = ChatCopilot(client=_client.script(events, final), **kwargs)
    chunks = list(model.stream("When is the standup?"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return chunks, full


def events_towards(targets: list[str]) -> list[TextDelta | TextReset]:
    """The events a client sends while its text goes through ``targets``."""
    events: list[TextDelta | TextReset] = []
    shown = ""
    for target in targets:
        if target == shown:
            continue
        events.append(TextDelta(target[len(shown):]) if target.startswith(shown) else TextReset(target))
        shown = target
    return events


def test_lines_go_out_once_the_next_one_has_begun() -> None:
    chunks, full = stream([TextDelta("It is "), TextDelta("daily[1].\nJohn"), TextDelta(" Doe runs it[1].\nBri"),
                           TextDelta("ng notes.")])
    assert [c.text for c in chunks] == ["It is daily[1].\n", "John Doe runs it[1].\n", "Bring notes."]
    assert chunks[-1].chunk_position == "last"
    assert full.text == FINAL.text
    [block] = [b for b in full.content_blocks if b["type"] == "text"]
    spans = [(a["start_index"], a["end_index"]) for a in block["annotations"]]
    assert [full.text[start:end] for start, end in spans] == ["[1]", "[1]"]
    assert {(a["url"], a["title"]) for a in block["annotations"]} == {(URL, "Standup notes")}
    assert full.response_metadata["conversation_id"] == "conv-1"
    assert "streamed_text_differs" not in full.response_metadata


def test_a_rewrite_of_the_line_being_written_never_reaches_the_message() -> None:
    _, full = stream(events_towards([
        "It is daily[1].\nJohn Doe ru",
        "It is daily[1].\nJohn organises",  # the service rephrases the line it is writing
        "It is daily[1].\nJohn Doe runs it[1].\nBring notes.",
    ]))
    assert full.text == FINAL.text
    assert "streamed_text_differs" not in full.response_metadata


def test_a_rewrite_of_a_line_already_out_keeps_that_line_and_says_so(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="copilot_tools.langchain")
    _, full = stream(events_towards([
        "It is daily.\nJohn Doe runs it.\nBring",
        "It is daily[1].\nJohn Doe runs it[1].\nBring",
    ]))
    assert full.text == "It is daily.\nJohn Doe runs it.\nBring notes."
    assert full.response_metadata["streamed_text_differs"] is True
    [block] = full.content_blocks
    # No marker made it into the streamed text: the source is still cited, without a span.
    assert [(a.get("url"), a.get("start_index")) for a in block["annotations"]] == [(URL, None)]
    assert "rewrote text it had already streamed" in caplog.text


def test_stop_sequences_end_the_stream_where_they_end_invoke() -> None:
    for stop in (["runs"], [".\nJohn"], ["notes", "Doe"]):
        model = ChatCopilot(client=ScriptedClient([], FINAL), stop=stop)
        expected = model.invoke("When is the standup?")
        _, full = stream(events_towards([FINAL.text[:n] for n in range(0, len(FINAL.text) + 1, 3)]), stop=stop)
        assert full.text == expected.text == FINAL.text[: min(FINAL.text.find(s) for s in stop)]
        assert full.response_metadata["stop_sequence"] == expected.response_metadata["stop_sequence"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_chunks_add_up_to_the_final_answer_whatever_the_current_line_goes_through(data) -> None:
    text = FINAL.text
    cuts = sorted(data.draw(st.sets(st.integers(1, len(text)), max_size=12)))
    targets: list[str] = []
    for cut in cuts:
        targets.append(text[:cut])
        if data.draw(st.booleans()):
            line_start = text.rfind("\n", 0, cut) + 1
            # The unfinished line rewritten: markers and tags inserted, words changed.
            targets.append(text[:line_start] + data.draw(st.text("ab [1]<>", max_size=8)))
    _, full = stream(events_towards(targets))
    assert full.text == text
    assert "streamed_text_differs" not in full.response_metadata


async def test_async_streams_add_up_the_same_way() -> None:
    events = events_towards(["It is daily[1].\nJohn", "It is daily[1].\nJo organises", FINAL.text])
    native = ChatCopilot(async_client=ScriptedAsyncClient(events, FINAL))
    threaded = ChatCopilot(client=ScriptedClient(events, FINAL))  # only a sync client: run in a thread
    for model in (native, threaded):
        full = None
        async for chunk in model.astream("When is the standup?"):
            full = chunk if full is None else full + chunk
        assert full is not None and full.text == FINAL.text
        assert (await model.ainvoke("When is the standup?")).text == FINAL.text
