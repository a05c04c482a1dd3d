"""What the emulator answers: the reference's four prompts, the calendar, files, context,
labels, people, follow-ups and a user's own folder, all over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer

from .conftest import (
    BIRTHDAY,
    BOX_OFFICE,
    BUSINESS_MODEL,
    MEETING,
    NOTES,
    Api,
    citations,
    client_for,
    reply_of,
)

MARKER = re.compile(r"\[\^(\d+)\^\]")
TAG = re.compile(r"<(Person|Event|File)>(.*?)</\1>")
#: A Thursday afternoon in New York, which is already Friday morning in Tokyo.
THURSDAY = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def frozen() -> Iterator[Api]:
    """An emulator whose calendar clock is fixed, so calendar answers are reproducible."""
    with EmulatorServer(EmulatorConfig(now=THURSDAY)) as server, client_for(server) as client:
        yield Api(client)


def annotations(message: dict) -> list[dict]:
    return [a for a in message["attributions"] if a["attributionType"] == "annotation"]


def assert_consistent(message: dict) -> None:
    """Markers number the citations; each distinct entity tag has its annotation, in order."""
    text = message["text"]
    numbers = [int(n) for n in MARKER.findall(text)]
    cited = citations(message)
    assert all(1 <= n <= len(cited) for n in numbers)
    assert list(dict.fromkeys(numbers)) == sorted(set(numbers))  # first use numbered first
    tags = list(dict.fromkeys(TAG.findall(text)))
    assert len(annotations(message)) == len(tags)
    for attribution in message["attributions"]:
        assert (attribution["imageWebUrl"], attribution["imageFavIcon"]) == ("", "")
        assert (attribution["imageWidth"], attribution["imageHeight"]) == (0, 0)
        assert attribution["seeMoreWebUrl"].startswith("https://")


# --- the reference's four examples ------------------------------------------------------------


def test_meeting_at_9_tomorrow_is_the_standup(frozen: Api) -> None:
    reply = reply_of(frozen.ask(MEETING))
    text = reply["text"]
    assert text.startswith("You asked about your meeting scheduled for **9 AM tomorrow**, and I found **1 meeting**")
    assert "<Event>Contoso Engineering Standup</Event>" in text
    assert "- **Organizer**: <Person>John Doe</Person>[^1^]" in text
    assert "9:00 AM – 9:30 AM" in text and "Microsoft Teams Meeting" in text
    assert_consistent(reply)
    event, person = annotations(reply)
    assert "EntityRepresentationId=" in event["seeMoreWebUrl"] and event["seeMoreWebUrl"].startswith("https://teams")
    assert person["seeMoreWebUrl"].startswith("https://www.office.com/search?q=John+Doe&EntityRepresentationId=")
    (citation,) = citations(reply)
    assert citation["providerDisplayName"] == "Contoso Engineering Standup"
    assert citation["seeMoreWebUrl"] == event["seeMoreWebUrl"].split("&EntityRepresentationId=")[0]
    assert citation["attributionSource"] == "model"


def test_the_time_zone_decides_what_tomorrow_is(frozen: Api) -> None:
    new_york = reply_of(frozen.ask(MEETING))["text"]
    tokyo = reply_of(frozen.ask(MEETING, locationHint={"timeZone": "Asia/Tokyo"}))["text"]
    assert "found **1 meeting**" in new_york  # Friday: the weekday standup
    assert "**no meeting**" in tokyo and "Your next meeting after that is" in tokyo  # Saturday


@pytest.mark.parametrize(
    ("question", "subjects"),
    [
        ("What meetings do I have this afternoon?",
         ["Project Falcon Design Review: Alert Rules Engine",
          "Fabrikam: Contoso Pulse preview feedback and expansion"]),
        ("What meetings do I have tomorrow?",
         ["Contoso Engineering Standup", "Q4 Pipeline Review", "Adele / Megan 1:1"]),
        ("What's my next meeting?", ["Fabrikam: Contoso Pulse preview feedback and expansion"]),
        ("Which meetings did I have yesterday?", ["Contoso Engineering Standup", "FY27 Roadmap Planning Workshop"]),
        ("When is my dentist appointment?", ["Dentist appointment"]),
    ],
)
def test_calendar_days_parts_and_upcoming(frozen: Api, question: str, subjects: list[str]) -> None:
    reply = reply_of(frozen.ask(question))
    events = [name for kind, name in TAG.findall(reply["text"]) if kind == "Event"]
    assert list(dict.fromkeys(events)) == subjects  # in start order, nothing else
    assert [c["providerDisplayName"] for c in citations(reply)] == subjects
    assert_consistent(reply)


def test_business_model_summary_is_grounded_in_the_file(api: Api) -> None:
    files = {"files": [{"uri": BUSINESS_MODEL}]}
    reply = reply_of(api.ask("Summarize this document for me.", contextualResources=files))
    text = reply["text"]
    assert text.startswith('You asked for a summary of the document "<File>Business-Model.docx</File>"')
    assert "## **Summary: What Is a Business Model?**" in text and "### **" in text
    file_annotation, citation = reply["attributions"]
    assert file_annotation["attributionType"] == "annotation" and file_annotation["seeMoreWebUrl"] == BUSINESS_MODEL
    assert (citation["providerDisplayName"], citation["attributionSource"]) == (
        "529425287-What-Is-a-Business-Model", "grounding")


def test_a_question_about_a_file_ranks_only_inside_it(api: Api) -> None:
    files = {"files": [{"uri": BUSINESS_MODEL}]}
    reply = reply_of(api.ask("What is the travel per diem?", contextualResources=files))
    assert {c["seeMoreWebUrl"] for c in citations(reply)} == {BUSINESS_MODEL}
    assert {c["attributionSource"] for c in citations(reply)} == {"grounding"}
    canvas = reply_of(api.ask("What is the lean canvas?", contextualResources=files))
    assert "[^1^]" in canvas["text"] and "lean canvas" in canvas["text"].lower()


def test_box_office_with_the_web_off_cites_nothing(api: Api) -> None:
    reply = reply_of(api.ask(BOX_OFFICE, contextualResources={"webContext": {"isWebEnabled": False}}))
    assert reply["attributions"] == [] and "[^" not in reply["text"]
    assert "do not have access to web search" in reply["text"]
    assert set(reply["sensitivityLabel"].values()) == {None}


def test_box_office_with_the_web_on_says_the_web_is_not_available(api: Api) -> None:
    reply = reply_of(api.ask(BOX_OFFICE))
    assert reply["attributions"] == [] and "web results are not available in the Copilot emulator" in reply["text"]


def test_additional_context_is_used_and_cited_as_external(api: Api) -> None:
    reply = reply_of(api.ask(BIRTHDAY, additionalContext=[{"text": "John Doe's birthday is on January 1st."}]))
    assert "January 1st**[^external^]" in reply["text"]
    assert citations(reply) == []
    assert "<Person>John Doe</Person>" in reply["text"]


def test_without_context_the_birthday_is_not_in_the_tenant(api: Api) -> None:
    assert citations(reply_of(api.ask(BIRTHDAY))) == []


# --- grounded answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What is the per diem for New York?", "Travel and Expense Policy"),
        ("How much parental leave do we get?", "Parental Leave Policy"),
        ("What caused the API outage in September?", "Incident Postmortem: Contoso Connect API Outage (INC-2026-0917)"),
        ("How do I set up the corporate VPN?", "Corporate VPN Setup Guide"),
    ],
)
def test_tenant_questions_quote_the_right_document(api: Api, question: str, title: str) -> None:
    reply = reply_of(api.ask(question))
    assert citations(reply)[0]["providerDisplayName"] == title
    assert reply["text"].startswith(f"You asked: **{question}**")
    bullets = [line for line in reply["text"].splitlines() if line.startswith("- ")]
    assert bullets and all(MARKER.search(line) for line in bullets)
    assert_consistent(reply)


def test_the_reply_carries_the_highest_label_of_what_it_cites(api: Api) -> None:
    reply = reply_of(api.ask("What are the compensation bands and the merit budget for FY27?"))
    label = reply["sensitivityLabel"]
    assert label["displayName"] == "Highly Confidential" and label["isEncrypted"] is True
    assert label["priority"] == 3 and label["sensitivityLabelId"]


def test_people_questions_answer_from_the_directory(api: Api) -> None:
    reply = reply_of(api.ask("Who is my manager?"))
    assert reply["text"].startswith("Your manager is <Person>Megan Bowen</Person>[^1^]")
    assert citations(reply)[0]["providerDisplayName"] == "Megan Bowen"
    assert_consistent(reply)


def test_follow_up_about_the_meeting_of_the_last_turn(frozen: Api) -> None:
    conversation = frozen.create()
    frozen.ask(MEETING, conversation)
    reply = reply_of(frozen.ask("Who else was invited to it?", conversation))
    assert "<Person>Alex Wilber</Person>" in reply["text"]
    assert citations(reply)[0]["providerDisplayName"] == "Contoso Engineering Standup"


def test_summarize_a_document_named_in_the_question(api: Api) -> None:
    reply = reply_of(api.ask("Summarize the travel policy"))
    assert "<File>Travel-Policy.docx</File>" in reply["text"]
    assert "## **Summary: Contoso Travel and Expense Policy**[^1^]" in reply["text"]
    assert citations(reply)[0]["attributionSource"] == "model"


# --- a user's own folder --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notes() -> Iterator[Api]:
    with EmulatorServer(EmulatorConfig(corpus=NOTES)) as server, client_for(server) as client:
        yield Api(client)


def test_a_plain_folder_is_served_with_synthetic_sharepoint_urls(notes: Api) -> None:
    reply = reply_of(notes.ask("When is the coffee machine descaled?"))
    (citation,) = citations(reply)
    assert citation["providerDisplayName"] == "Team Handbook"
    assert citation["seeMoreWebUrl"] == "https://contoso.sharepoint.com/sites/Local/Shared%20Documents/handbook.md"
    assert reply["sensitivityLabel"]["displayName"] == "Confidential"  # front matter names the label


def test_files_without_front_matter_take_title_from_heading_or_name(notes: Api) -> None:
    retro = reply_of(notes.ask("When is the weekly demo now?"))
    assert citations(retro)[0]["providerDisplayName"] == "Retrospective notes"
    assert citations(retro)[0]["seeMoreWebUrl"].endswith("/Shared%20Documents/team/meeting-notes.md")
    todo = reply_of(notes.ask("When does the lighthouse lease need renewing?"))
    assert citations(todo)[0]["providerDisplayName"] == "todo"
    assert set(todo["sensitivityLabel"].values()) == {None}


def test_a_plain_folder_file_can_be_passed_as_context(notes: Api) -> None:
    uri = "https://contoso.sharepoint.com/sites/Local/Shared%20Documents/team/meeting-notes.md"
    reply = reply_of(notes.ask("Summarize this document for me.", contextualResources={"files": [{"uri": uri}]}))
    assert citations(reply)[0]["attributionSource"] == "grounding"


def test_a_folder_without_calendar_says_so(notes: Api) -> None:
    reply = reply_of(notes.ask(MEETING))
    assert "no calendar" in reply["text"] and reply["attributions"] == []
