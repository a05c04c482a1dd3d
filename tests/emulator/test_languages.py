"""Questions and documents in other languages: words are Unicode words, CJK is searchable.

A ``--corpus`` folder of Japanese, Chinese, French and German notes, asked in those
languages, over HTTP: the right file is found, by ``/chat`` and by retrieval alike, and
the same question always gets the same answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer

from .conftest import Api, citations, client_for, reply_of

DOCUMENTS = {
    "出張規程.txt": "出張時の日当は1日5000円です。宿泊費は実費で精算します。領収書は経理部に提出してください。",
    "会议纪要.txt": "本周的项目会议讨论了预算审批流程。下次会议定于星期五举行。",
    "frais-de-déplacement.txt": (
        "L'indemnité journalière est de 45 euros par jour. Les billets de train sont remboursés en seconde classe."
    ),
    "reisekosten.txt": "Das Tagegeld beträgt 28 Euro. Übernachtungskosten werden gegen Beleg erstattet.",
    "café.md": "# Café\n\nThe café on the third floor opens at 8 and closes at 17.",
    "garage.md": "# Garage\n\nThe garage for bicycles is in the basement, next to the lockers.",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder: Path = tmp_path_factory.mktemp("languages")
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    with EmulatorServer(EmulatorConfig(corpus=folder)) as server, client_for(server) as client:
        yield client


def cited_files(reply: dict) -> list[str]:
    return [unquote(c["seeMoreWebUrl"]).rsplit("/", 1)[-1] for c in citations(reply)]


@pytest.mark.parametrize(
    ("question", "expected", "quoted"),
    [
        ("日当はいくらですか？", "出張規程.txt", "5000円"),
        ("预算审批", "会议纪要.txt", "预算审批"),
        ("Quelle est l'indemnité journalière ?", "frais-de-déplacement.txt", "45 euros"),
        ("Wie viel Euro beträgt das Tagegeld?", "reisekosten.txt", "28 Euro"),
        ("When does the café open?", "café.md", "opens at 8"),
    ],
)
def test_questions_in_other_languages_find_their_document(
    world: httpx.Client, question: str, expected: str, quoted: str
) -> None:
    reply = reply_of(Api(world).ask(question))
    assert cited_files(reply) == [expected], reply["text"]
    assert quoted in reply["text"]


def test_decomposed_accents_match_composed_ones(world: httpx.Client) -> None:
    question = unicodedata.normalize("NFD", "When does the café open?")
    assert question != "When does the café open?"
    assert cited_files(reply_of(Api(world).ask(question))) == ["café.md"]


def test_a_japanese_sentence_is_quoted_on_its_own(world: httpx.Client) -> None:
    text = reply_of(Api(world).ask("宿泊費の精算"))["text"]
    assert "宿泊費は実費で精算します" in text
    assert "領収書" not in text


def test_retrieval_finds_cjk_words_without_spaces(world: httpx.Client) -> None:
    response = world.post("/beta/copilot/retrieval", json={"queryString": "日当", "dataSource": "sharePoint"})
    assert response.status_code == 200, response.text
    hits = response.json()["retrievalHits"]
    assert [unquote(h["webUrl"]).rsplit("/", 1)[-1] for h in hits] == ["出張規程.txt"]
    assert "出張時の日当は1日5000円です。" in [e["text"] for e in hits[0]["extracts"]]


def test_the_same_question_gets_the_same_answer(world: httpx.Client) -> None:
    api = Api(world)
    first, second = (reply_of(api.ask("日当と宿泊費")) for _ in range(2))
    assert first["text"] == second["text"]
    assert cited_files(first) == cited_files(second)
