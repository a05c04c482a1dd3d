"""The sans-IO half of citation checking: which sentences cite what, how a document is
named to the Retrieval API, and the support measure (no network here)."""

from __future__ import annotations

import jsonschema
import pytest

from copilot_tools._retrieval import Extract, RetrievalHit
from copilot_tools._verify import (
    VERIFICATION_SCHEMA,
    Scope,
    citing_sentences,
    key_terms,
    plan_verification,
    scope_of,
)
from copilot_tools.answer import Answer, Citation
from copilot_tools.errors import InvalidInputError

SPEC = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"
VIEWER = ("https://contoso.sharepoint.com/sites/Engineering/_layouts/15/Doc.aspx?sourcedoc=%7B8148C99B%7D"
          "&file=Business-Model.docx&action=default&mobileredirect=true")
NOTES = "https://contoso-my.sharepoint.com/personal/adele_vance_contoso_com/Documents/notes.docx?web=1"
MEETING = "https://teams.microsoft.com/l/meeting/details?eventId=AAMk"


def test_each_marker_owns_the_sentence_it_ends() -> None:
    text = ("You asked: **pricing**\n\n### Spec\n- The **Pro** plan costs 12 USD[1]. It renews yearly.[2]\n"
            "- Seats are billed monthly [1][3]. Discounts need approval.")
    found = citing_sentences(text)
    assert found[1] == ["The Pro plan costs 12 USD.", "Seats are billed monthly."]
    assert found[2] == ["It renews yearly."]
    assert found[3] == ["Seats are billed monthly."]


def test_a_marker_after_the_full_stop_and_a_space_belongs_to_the_sentence_before() -> None:
    assert citing_sentences("Alpha beta gamma. [1] Delta epsilon.")[1] == ["Alpha beta gamma."]


def test_links_and_decoration_leave_the_plain_sentence() -> None:
    found = citing_sentences("1. **Owner**: [John Doe](https://example.com/x) signs off[1].")
    assert found[1] == ["Owner: John Doe signs off."]


def test_key_terms_fold_case_drop_stop_words_and_plurals_and_keep_numbers() -> None:
    assert key_terms("The Travel policies cover 75% of $60,000 for all trips") == (
        "travel", "policy", "cover", "75", "60", "000", "trip")


@pytest.mark.parametrize(("url", "kql", "source"), [
    (SPEC, f'path:"{SPEC}"', "sharePoint"),
    (VIEWER, 'path:"https://contoso.sharepoint.com/sites/Engineering" AND Filename:"Business-Model.docx"',
     "sharePoint"),
    (NOTES, 'path:"https://contoso-my.sharepoint.com/personal/adele_vance_contoso_com/Documents/notes.docx"',
     "oneDriveBusiness"),
    ("https://contoso.sharepoint.com/sites/E/Shared%20Documents/Meeting%20Notes/Standup.docx",
     'path:"https://contoso.sharepoint.com/sites/E/Shared%20Documents/Meeting%20Notes/Standup.docx"', "sharePoint"),
])
def test_a_file_is_named_by_its_path(url: str, kql: str, source: str) -> None:
    scope = scope_of(url)
    assert isinstance(scope, Scope) and (scope.kql(), scope.data_source) == (kql, source)


def test_a_viewer_link_matches_the_file_it_opens() -> None:
    scope = scope_of(VIEWER)
    assert isinstance(scope, Scope)
    assert scope.matches(SPEC) and not scope.matches(SPEC.replace("Business-Model", "Other"))


@pytest.mark.parametrize(("url", "why"), [
    (MEETING, "meeting"),
    ("https://outlook.office.com/calendar/item/AAMk", "meeting"),
    ("https://www.office.com/search?q=John+Doe", "person"),
    ("https://en.wikipedia.org/wiki/Per_diem", "not a SharePoint or OneDrive file"),
    ("https://contoso.atlassian.net/browse/FAL-252", "connector item"),
    ("https://contoso.sharepoint.com/sites/X/_layouts/15/Doc.aspx?sourcedoc=%7B1%7D", "without a file name"),
])
def test_what_cannot_be_checked_says_why(url: str, why: str) -> None:
    reason = scope_of(url)
    assert isinstance(reason, str) and why in reason


def _answer(text: str, *citations: Citation) -> Answer:
    return Answer(text=text, raw_text=text, citations=citations, conversation_id="c", turn_count=1)


def _hit(url: str, query: str, *extracts: tuple[str, float | None]) -> RetrievalHit:
    return RetrievalHit(url=url, extracts=tuple(Extract(text=t, relevance_score=s) for t, s in extracts),
                        data_source="sharePoint", queries=(query,))


def test_the_measure_needs_relevance_and_shared_key_terms() -> None:
    answer = _answer("The Pro plan costs 12 USD per seat[1]. Support is included[1]. Lunch is free[2].",
                     Citation(index=1, title="Spec", url=SPEC), Citation(index=2, title="Standup", url=MEETING))
    plan = plan_verification(answer)
    (query,) = plan.queries
    assert query.query == "The Pro plan costs 12 USD per seat. Support is included."
    assert query.body.filter_expression == f'path:"{SPEC}"'
    hits = [
        _hit(SPEC, query.query, ("Pro plan: 12 USD per seat and month.", 0.9),
             ("Support is included in every plan.", 0.2)),  # shares the terms, but scored too low
        _hit(SPEC.replace("Business-Model", "Other"), query.query, ("Support is included.", 1.0)),  # not the file
    ]
    verification = plan.judge(hits)
    spec, standup = verification.citations
    assert spec.status == "partly_supported" and [c.supported for c in spec.claims] == [True, False]
    assert spec.claims[0].evidence is not None and spec.claims[0].evidence.shared_terms == ("pro", "plan", "12",
                                                                                            "usd", "seat")
    assert len(spec.extracts) == 2  # the other file's extract is not this document's evidence
    assert standup.status == "not_checked" and standup.claims[0].sentence == "Lunch is free."
    assert (verification.claims_checked, verification.claims_supported, verification.support) == (2, 1, 0.5)
    jsonschema.validate(verification.structured(), VERIFICATION_SCHEMA)


def test_nothing_back_from_the_document_is_unsupported() -> None:
    answer = _answer("Revenue grew 40%[1].", Citation(index=1, title="Spec", url=SPEC))
    (check,) = plan_verification(answer).judge([]).citations
    assert check.status == "unsupported" and "no extract" in (check.reason or "")
    assert check.claims[0].evidence is None and not check.claims[0].supported


def test_a_source_used_without_a_marker_has_no_claim_to_check() -> None:
    answer = _answer("A summary.", Citation(index=1, title="Spec", url=SPEC, cited_in_text=False))
    plan = plan_verification(answer)
    assert plan.queries == [] and plan.judge([]).citations[0].status == "not_checked"


def test_thresholds_are_checked() -> None:
    with pytest.raises(InvalidInputError):
        plan_verification(_answer("x"), min_overlap=0)


def test_a_citation_whose_query_the_api_would_refuse_is_not_checked_and_the_rest_are() -> None:
    answer = _answer("Revenue grew \x07 40%[1]. Costs fell[2].", Citation(index=1, title="Odd", url=NOTES),
                     Citation(index=2, title="Spec", url=SPEC))
    plan = plan_verification(answer)
    odd_check, spec_check = plan.judge([]).citations
    assert [q.body.filter_expression for q in plan.queries] == [f'path:"{SPEC}"']
    assert odd_check.status == "not_checked" and "no valid retrieval query" in (odd_check.reason or "")
    assert spec_check.status == "unsupported"


def test_many_sentences_citing_one_source_are_kept_in_order_and_deduplicated_linearly() -> None:
    text = " ".join(f"Sentence number {i} is here [1]." for i in range(20_000)) + " Sentence number 0 is here [1]."
    found = citing_sentences(text)[1]  # quadratic before: 1.6 s; the pathological input is answered at once
    assert len(found) == 20_000 and found[0] == "Sentence number 0 is here." and found[-1].endswith("19999 is here.")
