"""``client.verify(answer)`` against the emulator: each citation checked against its document.

The emulator's answers quote sentences of the files they cite, and its retrieval index is
the one the answers come from, so every document citation of an honest answer must come
back supported, with extracts that are sentences of that very file; the
``unsupported-citation`` fault plants a citation whose file says nothing of the sort.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from copilot_tools import AsyncCopilotClient, CopilotClient
from copilot_tools._verify import VERIFICATION_SCHEMA, Verification, key_terms
from copilot_tools.answer import Answer, Citation
from copilot_tools.emulator.corpus import load_corpus

PER_DIEM = "What is the per diem for New York?"  # cites two files, one of them with three sentences
MEETING = "What meeting do I have at 9 AM tomorrow morning?"  # cites a meeting
BIRTHDAY = "What is the birthday of my best friend, John Doe?"
_keys = itertools.count()


def fault(spec: str) -> dict[str, str]:
    return {"x-emulator-fault": f"{spec};key=verify{next(_keys)}"}


class Recorder:
    """The requests a client sent, by path, with their JSON bodies."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.url.path, body))

    def batches(self) -> list[list[str]]:
        """The ids of the sub-requests of each ``$batch`` sent."""
        return [[item["id"] for item in body["requests"]] for path, body in self.requests if path.endswith("/$batch")]

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _client(emulator: Any, recorder: Recorder, **headers: str) -> CopilotClient:
    http = httpx.Client(event_hooks={"request": [recorder]}, timeout=30)
    return CopilotClient(base_url=emulator.base_url, token="test", time_zone="America/New_York",
                         http_client=http, headers=headers)


@pytest.fixture
def client(emulator: Any, recorder: Recorder) -> Iterator[CopilotClient]:
    with _client(emulator, recorder) as client:
        yield client


def _assert_evidence_from_the_cited_files(answer: Answer, verification: Verification) -> None:
    corpus = load_corpus()
    assert [c.index for c in verification.citations] == [c.index for c in answer.citations]
    for check in verification.citations:
        document = corpus.document_for_url(check.url or "")
        assert document is not None, check.url
        sentences = {unit for section in document.sections for unit in section.units}
        assert check.status == "supported", check
        assert check.extracts and all(extract.text in sentences for extract in check.extracts)
        for claim in check.claims:
            # Never supported without the extract that shows it, and that extract is the file's own.
            assert claim.supported and claim.evidence is not None and claim.evidence.text in sentences
            assert claim.evidence.term_overlap >= 0.5 and len(claim.evidence.shared_terms) >= 2
            assert set(key_terms(claim.sentence)) <= set(key_terms(answer.text))  # a sentence of the answer


def test_supported_citations_come_back_with_extracts_from_the_cited_file(client: CopilotClient,
                                                                         recorder: Recorder) -> None:
    answer = client.ask(PER_DIEM)
    assert len(answer.citations) == 2
    recorder.requests.clear()
    verification = client.verify(answer)
    _assert_evidence_from_the_cited_files(answer, verification)
    assert verification.support == 1.0 and verification.claims_checked >= 4
    assert all(check.filter and check.filter.startswith('path:"https://') for check in verification.citations)
    # One round trip: both queries in a single $batch, no retrieval outside it.
    assert recorder.batches() == [["0", "1"]] and len(recorder.requests) == 1
    jsonschema.validate(verification.structured(), VERIFICATION_SCHEMA)


async def test_the_async_client_verifies_the_same(emulator: Any, client: CopilotClient) -> None:
    answer = client.ask(PER_DIEM)
    async with AsyncCopilotClient(base_url=emulator.base_url, token="test", time_zone="America/New_York") as aclient:
        verification = await aclient.verify(answer)
    _assert_evidence_from_the_cited_files(answer, verification)
    assert verification.structured() == client.verify(answer).structured()


def test_the_planted_unsupported_citation_is_flagged(emulator: Any, recorder: Recorder) -> None:
    with _client(emulator, recorder, **fault("unsupported-citation")) as client:
        answer = client.ask(PER_DIEM)
        verification = client.verify(answer)
    honest, planted = verification.citations
    assert honest.status == "supported" and honest.supporting_extract is not None
    assert planted.status == "unsupported" and planted.reason
    assert planted.title == answer.citations[1].title and "Expense" not in (planted.title or "")
    assert not [claim for claim in planted.claims if claim.supported]
    assert verification.unsupported == (planted,)
    assert verification.support is not None and verification.support < 0.5
    assert "[2]" in verification.render() and "unsupported" in verification.render()


def test_citations_that_are_not_documents_say_why(client: CopilotClient, recorder: Recorder) -> None:
    meeting = client.ask(MEETING)
    external = client.ask(BIRTHDAY, additional_context=[{"text": "John Doe's birthday is on January 1st.",
                                                         "description": "my notes"}])
    recorder.requests.clear()
    for answer, why in ((meeting, "meeting"), (external, "context supplied with the question")):
        verification = client.verify(answer)
        (check,) = verification.citations
        assert check.status == "not_checked" and why in (check.reason or "")
        assert check.query is None and not check.extracts and check.support is None
        assert verification.support is None and "none could be checked" in verification.render()
    assert recorder.requests == []  # nothing to check, nothing sent


def test_a_throttled_batch_item_is_retried_alone(emulator: Any, recorder: Recorder) -> None:
    with _client(emulator, recorder, **fault("throttle;retry-after=0;count=1;in=batch")) as client:
        answer = client.ask(PER_DIEM)
        verification = client.verify(answer)
    assert recorder.batches() == [["0", "1"], ["0"]]  # the first item was throttled, then sent alone
    assert [check.status for check in verification.citations] == ["supported", "supported"]


def test_a_viewer_link_is_checked_by_site_and_file_name(client: CopilotClient) -> None:
    viewer = ("https://contoso.sharepoint.com/sites/Engineering/_layouts/15/Doc.aspx?sourcedoc=%7B8148C99B%7D"
              "&file=Business-Model.docx&action=default&mobileredirect=true")
    text = ("- Startups use a business model to decide what to build first and which assumptions to test[1].\n"
            "- Business models are usually patented by the legal team[1].")
    answer = Answer(text=text, raw_text=text, citations=(Citation(index=1, title="Business Model", url=viewer),),
                    conversation_id="c", turn_count=1)
    (check,) = client.verify(answer).citations
    assert check.filter == 'path:"https://contoso.sharepoint.com/sites/Engineering" AND Filename:"Business-Model.docx"'
    assert check.status == "partly_supported"
    assert [claim.supported for claim in check.claims] == [True, False]
