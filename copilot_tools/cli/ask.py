"""``copilot-tools ask``: one question, the answer streamed, then its sources.

stdout carries the answer and its sources (or, with ``--json``, the structured answer
and nothing else); the spinner and the conversation id to continue with go to stderr,
so ``copilot-tools ask … > answer.md`` and ``| jq`` stay clean.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from copilot_tools.cli.common import add_web_search_option, load_settings, make_client, preference

if TYPE_CHECKING:
    from copilot_tools._verify import Verification
    from copilot_tools.answer import Answer
    from copilot_tools.cli.render import Output
    from copilot_tools.client import CopilotClient
    from copilot_tools.settings import Settings

EXAMPLES = """examples:
  copilot-tools ask "What meeting do I have at 9 AM tomorrow?"
  copilot-tools ask "Summarise this spec" --file https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx
  copilot-tools ask "And who organises it?" --conversation 0d110e7e-2b7e-4270-a899-fd2af6fde333
  copilot-tools ask "Which meetings need me?" --json | jq -r .answer
  copilot-tools ask "What is the per diem for New York?" --verify
  echo "What is our travel policy?" | copilot-tools ask

exit codes: 0 answered, 1 service error, 2 bad input, 3 not signed in, 4 permission or
licence missing, 5 throttled, 6 conversation not found, 7 declined or empty, 130 interrupted
"""


def add_turn_options(parser: argparse.ArgumentParser) -> None:
    """The options of one turn, shared by ``ask`` and ``chat``."""
    parser.add_argument(
        "--file", action="append", default=[], metavar="URL", dest="files",
        help="a OneDrive or SharePoint file to ground the answer on (repeatable, up to 20)",
    )
    add_web_search_option(parser)
    parser.add_argument(
        "--context", action="append", default=[], metavar="TEXT",
        help="extra text Copilot should take into account (repeatable)",
    )
    parser.add_argument(
        "--context-file", action="append", default=[], metavar="PATH",
        help="like --context, read from a text file (repeatable)",
    )
    parser.add_argument(
        "--conversation", metavar="ID",
        help="continue this conversation (the id an earlier answer printed)",
    )
    parser.add_argument(
        "--time-zone", metavar="TZ",
        help="IANA time zone for 'today' and 'tomorrow', e.g. Europe/Paris "
        "(default: this machine's; env COPILOT_TOOLS_TIME_ZONE)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("question", nargs="?", metavar="QUESTION",
                        help="what to ask; '-' or nothing reads it from stdin when stdin is a pipe")
    add_turn_options(parser)
    parser.add_argument(
        "--json", action=argparse.BooleanOptionalAction, default=None,
        help="print the structured answer (text, citations, entities, conversation id, label) "
        "as JSON and nothing else (env COPILOT_TOOLS_JSON)",
    )
    parser.add_argument(
        "--stream", action=argparse.BooleanOptionalAction, default=None,
        help="show the answer as it is written (default; --no-stream waits for all of it; "
        "env COPILOT_TOOLS_STREAM)",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="check each citation against the document it cites (one Retrieval API $batch, Graph only) "
        "and print each source with its supporting extract under the answer (in --json: 'verification')",
    )


def prepare_turn(args: argparse.Namespace, question: str | None = None) -> tuple[Settings, dict[str, Any]]:
    """Settings and the turn's keyword arguments, every value checked before anything is created.

    The check is the client's own (``build_chat_body``), run early so that a bad file URL
    or context fails before a sign-in, a conversation or a request is attempted.
    """
    from copilot_tools import _protocol as protocol

    if args.conversation is not None:
        protocol.validate_conversation_id(args.conversation)
    settings = load_settings(args, time_zone=args.time_zone, web_search=args.web_search)
    if settings.time_zone:
        check_time_zone(settings)
    protocol.Endpoint.resolve(settings.endpoint, workiq_conversations_path=settings.workiq_conversations_path)
    turn: dict[str, Any] = {"files": list(args.files), "additional_context": context_items(args)}
    protocol.build_chat_body(
        question if question is not None else "(checking the options)",
        time_zone=settings.time_zone or "UTC", allowed_file_hosts=settings.file_hosts, **turn,
    )
    return settings, turn


def check_time_zone(settings: Settings) -> None:
    """A bad zone names where it came from: the option, the environment or the file."""
    from copilot_tools import _protocol as protocol
    from copilot_tools.errors import InvalidInputError

    try:
        protocol.validate_time_zone(settings.time_zone or "")
    except InvalidInputError as exc:
        source = settings.sources.get("time_zone", "argument")
        if source == "argument":
            raise
        detail = exc.message.removeprefix("Invalid time_zone: ")
        raise InvalidInputError(f"time zone from {source}", detail, hint=exc.hint) from None


def context_items(args: argparse.Namespace) -> list[str | dict[str, str]]:
    """``--context`` texts and ``--context-file`` contents, in the order given."""
    from pathlib import Path

    from copilot_tools.errors import InvalidInputError

    items: list[str | dict[str, str]] = list(args.context)
    for name in args.context_file:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError("context_file", f"cannot read {name}: it is not UTF-8 text (byte {exc.start})",
                                    hint="Save it as UTF-8, or give a text file.") from None
        except OSError as exc:
            raise InvalidInputError("context_file", f"cannot read {name}: {exc.strerror or exc}",
                                    hint="Give the path of a readable text file.") from None
        items.append({"text": text, "description": Path(name).name})
    return items


def read_question(args: argparse.Namespace) -> str:
    """The question from the argument, or from stdin when it is a pipe."""
    from copilot_tools.errors import InvalidInputError

    if args.question not in (None, "-"):
        return str(args.question)
    if args.question is None and sys.stdin.isatty():
        raise InvalidInputError(
            "message", "no question given", hint='Try: copilot-tools ask "What meeting do I have at 9 AM tomorrow?"'
        )
    return sys.stdin.read().strip()


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.render import Output, print_json

    question = read_question(args)
    settings, turn = prepare_turn(args, question)
    if args.verify:
        check_verifiable(settings)
    as_json, _ = preference(args, "json")
    stream, _ = preference(args, "stream")
    out = Output()
    with make_client(args, settings) as client:
        if as_json or not stream:
            with out.spinner():
                answer = _answer(client, args.conversation, question, turn)
            if as_json:
                print_json(_with_verification(client, answer) if args.verify else answer.structured())
                return 0
            out.show_answer(answer)
        else:
            answer = out.show_stream(client.stream(args.conversation, question, **turn))
            out.show_sources(answer)
        if args.verify:
            with out.spinner("Checking the citations against their documents…"):
                verification = client.verify(answer)
            show_verification(out, verification)
    if out.rich_stderr:
        out.note("")
    out.note(continue_hint(answer))
    return 0


def check_verifiable(settings: Settings) -> None:
    """``--verify`` needs the Retrieval API, which is on Graph: say so before asking anything."""
    from copilot_tools import _protocol as protocol
    from copilot_tools._retrieval import require_graph

    require_graph(protocol.Endpoint.resolve(settings.endpoint,
                                            workiq_conversations_path=settings.workiq_conversations_path))


def _with_verification(client: CopilotClient, answer: Answer) -> dict[str, Any]:
    """The structured answer plus ``verification``; if checking fails, the answer is printed
    first (nothing is lost) and the error then ends the command as usual."""
    from copilot_tools.cli.render import print_json
    from copilot_tools.errors import CopilotError

    try:
        verification = client.verify(answer)
    except CopilotError as exc:
        print_json({**answer.structured(), "verification": None, "verification_error": exc.message})
        raise
    return {**answer.structured(), "verification": verification.structured()}


def show_verification(out: Output, verification: Verification) -> None:
    """Each source, its status and its supporting extract, under the answer (stdout)."""
    text = verification.render()
    if out.rich:
        from rich.text import Text

        out.console.print()
        out.console.print(Text(text), soft_wrap=True)
    else:
        out.stdout.write(f"\n{text}\n")
        out.stdout.flush()


def _answer(client: CopilotClient, conversation: str | None, question: str, turn: dict[str, Any]) -> Answer:
    if conversation:
        return client.chat(conversation, question, **turn)
    return client.ask(question, **turn)


def continue_hint(answer: Answer) -> str:
    cid = answer.conversation_id
    return f"conversation {cid} · continue with: copilot-tools ask --conversation {cid} \"…\""
