"""Function-level tests of the two pure algorithms: the KQL evaluator and BM25 ranking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot_tools.emulator.corpus import Document, Label
from copilot_tools.emulator.kql import KqlError, parse_filter
from copilot_tools.emulator.markdown import Section
from copilot_tools.emulator.ranking import Index, Passage

SECRET = Label("label-hc", "Highly Confidential", priority=3)


def doc(name: str, *, url: str, author: str = "Megan Bowen", modified: str = "2024-08-01", title: str = "",
        label: Label | None = None, site_id: str = "site-1", text: str = "Some text.") -> Document:
    return Document(
        key=name, title=title or name, filename=name, web_url=url, source="sharePoint",
        sections=(Section("", 0, (text,)),), author=author, modified_by="Adele Vance", site_id=site_id,
        modified=datetime.fromisoformat(modified).replace(tzinfo=UTC), label=label,
    )


DOCS = [
    doc("VPNAccess.docx", url="https://contoso.sharepoint.com/sites/HR1/VPNAccess.docx", author="John Doe",
        title="VPN Access", modified="2024-07-22"),
    doc("VPNConfig.pdf", url="https://contoso.sharepoint.com/sites/HR2/VPNConfig.pdf", modified="2025-01-08",
        label=SECRET, text="Corporate VPN configuration."),
    doc("Deck.pptx", url="https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Deck.pptx",
        modified="2025-03-01", site_id="{E2CF7E40-D689-41DE-99EE-A423811A253C}", title="Windows 10 Device rollout"),
]


def matching(expression: str) -> list[str]:
    predicate = parse_filter(expression)
    return [d.filename for d in DOCS if predicate(d)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('path:"https://contoso.sharepoint.com/sites/HR1/"', ["VPNAccess.docx"]),
        ('path:"https://contoso.sharepoint.com/sites/HR1/" OR path:"https://contoso.sharepoint.com/sites/HR2"',
         ["VPNAccess.docx", "VPNConfig.pdf"]),
        ('path:"https://contoso.sharepoint.com/sites/Sales/Shared Documents/"', ["Deck.pptx"]),
        ('Author:"Megan Bowen"', ["VPNConfig.pdf", "Deck.pptx"]),
        ('author:"megan bowen"', ["VPNConfig.pdf", "Deck.pptx"]),
        ("LastModifiedTime >= 2024-07-22 AND LastModifiedTime <= 2025-01-08", ["VPNAccess.docx", "VPNConfig.pdf"]),
        ("LastModifiedTime>2025-01-08", ["Deck.pptx"]),
        ("LastModifiedTime < 2024-07-23", ["VPNAccess.docx"]),
        ('FileExtension:"docx" OR FileExtension:"pdf" OR FileExtension:"pptx"',
         ["VPNAccess.docx", "VPNConfig.pdf", "Deck.pptx"]),
        ('FileType:"pdf"', ["VPNConfig.pdf"]),
        ('Filename:"VPNAccess.docx"', ["VPNAccess.docx"]),
        ('Title:"Windows 10 Device"', ["Deck.pptx"]),
        ('SiteID:"e2cf7e40-d689-41de-99ee-a423811a253c"', ["Deck.pptx"]),
        ('InformationProtectionLabelId:"label-hc"', ["VPNConfig.pdf"]),
        ('ModifiedBy:"Adele Vance"', ["VPNAccess.docx", "VPNConfig.pdf", "Deck.pptx"]),
        ('(FileType:pdf OR FileType:pptx) AND NOT Author:"John Doe"', ["VPNConfig.pdf", "Deck.pptx"]),
        ('FileType:docx Author:"John Doe"', ["VPNAccess.docx"]),  # juxtaposition is AND
        ('"corporate vpn"', ["VPNConfig.pdf"]),  # a free phrase matches content
    ],
)
def test_kql_subset(expression: str, expected: list[str]) -> None:
    assert matching(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["", "path:", '"open', "(FileType:pdf", "FileType:pdf)", "AND FileType:pdf", "Colour:red",
     "LastModifiedTime >= yesterday", "Author > Bob", ":value"],
)
def test_kql_outside_the_subset_raises(expression: str) -> None:
    with pytest.raises(KqlError):
        parse_filter(expression)


@given(st.text(max_size=60))
def test_kql_never_fails_other_than_with_kql_error(expression: str) -> None:
    try:
        predicate = parse_filter(expression)
    except KqlError:
        return
    for document in DOCS:
        assert predicate(document) in (True, False)


def passages(*texts: str) -> Index:
    return Index([Passage(i, (text,)) for i, text in enumerate(texts)])


def test_bm25_prefers_the_passage_that_covers_the_question() -> None:
    index = passages(
        "The travel policy sets a per diem of $75 for meals.",
        "Travel to New York needs manager approval.",
        "The cafeteria menu changes weekly.",
    )
    hits = index.search("What is the per diem for travel?")
    assert [h.passage.ordinal for h in hits] == [0, 1]
    assert hits[0].coverage == 1.0 and hits[0].matched[0] == "diem"
    assert hits[1].coverage < 0.5


def test_bm25_is_deterministic_and_breaks_ties_by_order() -> None:
    index = passages("alpha beta", "alpha beta", "beta alpha")
    assert [h.passage.ordinal for h in index.search("alpha")] == [0, 1, 2]
    assert index.search("alpha") == index.search("alpha")


def test_unknown_words_weigh_most_so_off_topic_questions_cover_little() -> None:
    index = passages("The office opens at nine.", "The global sales year in review.")
    best = index.search("highest grossing movie at the global box office this year")[0]
    assert best.coverage < 0.4


def test_stems_meet_and_stop_words_do_not_count() -> None:
    index = passages("Purchases above $50,000 need approval.", "What is this and who are they?")
    hits = index.search("Who approves purchasing?")
    assert [h.passage.ordinal for h in hits] == [0]


def test_extra_passages_are_ranked_with_the_index() -> None:
    index = passages("Quarterly planning notes.")
    extra = [Passage(1, ("John Doe's birthday is on January 1st.",), context_index=0)]
    (hit,) = index.search("When is John Doe's birthday?", extra=extra)
    assert hit.passage.context_index == 0


def test_rank_units_orders_sentences_by_shared_weight() -> None:
    index = passages("a", "b")
    ranked = index.rank_units(["Nothing here.", "The per diem is $75.", "Per diem rules."], "per diem amount")
    assert [position for position, _ in ranked] == [1, 2]
