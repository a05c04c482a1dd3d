"""Property: the answer normaliser takes any reply text and any attributions and cards.

Also that ``stable_prefix`` (now a backwards scan, linear) cuts exactly where the end-anchored
regular expression it replaced cut, which was quadratic on runs of ``[``.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from copilot_tools.answer import clean_text, stable_prefix
from tests.property.strategies import FAST, answer_or_error, hostile_text, json_values

_OLD_INCOMPLETE_TAIL = re.compile(r"(<(Person|Event|File)>[^<]*(<(/\w*)?)?|<\w*|\[\^?[^\]\s]*\^?)$")
TAIL_PIECES = ["[", "]", "^", "<", ">", "/", "Person", "Event", "File", "Pers", "a", " ", "\n", "\t", "1", "é",
               "</Person>", "<Person>", "[^1^]", "[^", "</", "x"]


@FAST
@given(text=st.lists(st.sampled_from(TAIL_PIECES), max_size=14).map("".join))
def test_stable_prefix_cuts_where_the_old_expression_cut(text: str) -> None:
    match = _OLD_INCOMPLETE_TAIL.search(text)
    assert stable_prefix(text) == (text[: match.start()] if match else text)


attribution = st.fixed_dictionaries({}, optional={
    "attributionType": st.sampled_from(["citation", "annotation", "other", None, 3]),
    "attributionSource": st.sampled_from(["model", "grounding", None]),
    "providerDisplayName": hostile_text,
    "seeMoreWebUrl": st.one_of(hostile_text, st.just("https://contoso.sharepoint.com/a.docx")),
    "imageWidth": st.one_of(st.integers(), hostile_text),
})
card = st.one_of(json_values, st.fixed_dictionaries({
    "type": st.just("AdaptiveCard"),
    "body": st.lists(st.fixed_dictionaries({"type": st.just("TextBlock"), "text": hostile_text}), max_size=3),
}))
message = st.fixed_dictionaries({"id": st.sampled_from(["r", "p", None])}, optional={
    "@odata.type": st.sampled_from(["#microsoft.graph.copilotConversationResponseMessage", "#other", None]),
    "text": hostile_text,
    "createdDateTime": st.one_of(hostile_text, st.just("2025-09-30T22:00:48.14175Z")),
    "attributions": st.one_of(st.none(), st.lists(attribution, max_size=4), json_values),
    "adaptiveCards": st.one_of(st.none(), st.lists(card, max_size=2), json_values),
    "sensitivityLabel": st.one_of(st.none(), json_values),
})


@FAST
@example(messages=[{"id": "r", "text": "hi \ud83d", "adaptiveCards": [{"type": "TextBlock", "text": "\udc00"}],
                    "attributions": [{"attributionType": "citation", "providerDisplayName": "\ud800", "x": "\udfff"}]}],
         turn_count=1, prompt="q")
@given(
    messages=st.one_of(st.lists(message, max_size=3), json_values),
    turn_count=st.one_of(st.integers(min_value=-1, max_value=5), st.none(), hostile_text),
    prompt=hostile_text,
)
def test_any_reply_normalises_to_encodable_text_or_a_copilot_error(messages: object, turn_count: object,
                                                                   prompt: str) -> None:
    body = {"id": "c", "turnCount": turn_count, "messages": messages}
    answer = answer_or_error(body, prompt)
    if answer is not None:
        assert answer.text == clean_text(answer.raw_text)
