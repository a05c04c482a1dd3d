"""``copilot-tools chat``: many turns in one conversation, interactively.

Line editing and history come from readline (history kept under the user's data
directory). Ctrl-C cancels the answer being written and returns to the prompt (the
stream's connection is closed at once); at the prompt it clears the line. Ctrl-D quits.
A failed turn is reported in one line and the session goes on, except when nothing
could work (not signed in, no permission or licence), which ends it with that exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from copilot_tools.cli.ask import add_turn_options, prepare_turn
from copilot_tools.cli.common import error, make_client

if TYPE_CHECKING:
    from copilot_tools.answer import Answer
    from copilot_tools.cli.render import Output
    from copilot_tools.client import CopilotClient, CopilotConversation

EXAMPLES = """examples:
  copilot-tools chat
  copilot-tools chat --conversation 0d110e7e-2b7e-4270-a899-fd2af6fde333
  copilot-tools chat --no-web --file https://contoso.sharepoint.com/sites/HR/Shared%20Documents/Handbook.docx

in the session:
  /new       start a new conversation
  /sources   list the sources of the last answer
  /help      show these commands
  Ctrl-C     cancel the answer being written (at the prompt: clear the line)
  Ctrl-D     quit (also /quit)
"""

HELP = "/new starts over · /sources lists sources · Ctrl-C cancels an answer · Ctrl-D quits"

#: Errors after which no further turn can succeed: end the session with their exit code.
_FATAL_KINDS = frozenset({"not_signed_in", "permission_denied", "license_required"})


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    add_turn_options(parser)


def history_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("copilot-tools", appauthor=False)) / "chat_history"


class _LineEditor:
    """``input()`` with readline's editing and a persistent history, where readline exists."""

    def __init__(self, interactive: bool, color: bool) -> None:
        self.interactive = interactive
        self._readline = None
        self.prompt = "› " if interactive else ""
        if not interactive:
            return
        try:
            import readline
        except ImportError:  # Windows without pyreadline3: plain input() still works
            return
        self._readline = readline
        if color and not os.environ.get("NO_COLOR"):
            # readline needs \001 \002 around escape codes to measure the prompt right.
            self.prompt = "\001\033[1;36m\002›\001\033[0m\002 "
        self._path = history_path()
        readline.set_history_length(1000)
        try:
            readline.read_history_file(self._path)
        except (FileNotFoundError, OSError):
            pass

    def read(self) -> str:
        return input(self.prompt)

    def save(self) -> None:
        if self._readline is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self._path)
        except OSError:
            pass  # a read-only home must not break quitting


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.render import Output
    from copilot_tools.errors import ConversationNotFoundError, CopilotError

    settings, turn = prepare_turn(args)
    out = Output()
    interactive = sys.stdin.isatty()
    editor = _LineEditor(interactive, color=out.rich)
    with make_client(args, settings) as client:
        conversation = client.conversation(args.conversation)
        last: Answer | None = None
        if interactive:
            out.note(f"Copilot chat · {HELP}")
        try:
            while True:
                try:
                    line = editor.read().strip()
                except EOFError:
                    if interactive:
                        print(file=sys.stderr)
                    break
                except KeyboardInterrupt:
                    print(file=sys.stderr)
                    continue
                if not line:
                    continue
                if line.startswith("/"):
                    command = line.split()[0].lower()
                    if command in ("/quit", "/exit", "/q"):
                        break
                    conversation, last = _slash(command, client, conversation, last, out)
                    continue
                if not interactive:  # a transcript: each answer under its question
                    out.stdout.write(f"> {line}\n\n")
                try:
                    last = out.show_stream(conversation.stream(line, **turn))
                except KeyboardInterrupt:
                    out.note("(answer cancelled)")
                    continue
                except ConversationNotFoundError as exc:
                    error(exc.message, "Started a new conversation; ask again.")
                    conversation, last = client.conversation(None), None
                    continue
                except CopilotError as exc:
                    if exc.kind in _FATAL_KINDS:
                        raise
                    from copilot_tools.cli.common import usage_message
                    from copilot_tools.errors import InvalidInputError

                    message = usage_message(exc) if isinstance(exc, InvalidInputError) else exc.message
                    error(message + (f" (request-id {exc.request_id})" if exc.request_id else ""), exc.hint)
                    continue
                if interactive:
                    out.show_sources_summary(last)  # the full list is one /sources away
                else:
                    out.show_sources(last)  # nobody can type /sources into a pipe
                print()
        finally:
            editor.save()
        if conversation.id:
            out.note(f"conversation {conversation.id} · continue with: copilot-tools chat --conversation {conversation.id}")
    return 0


def _slash(
    command: str,
    client: CopilotClient,
    conversation: CopilotConversation,
    last: Answer | None,
    out: Output,
) -> tuple[CopilotConversation, Answer | None]:
    """Run one /command; returns the (possibly new) conversation and last answer."""
    if command == "/new":
        back = f"; back to the last one with: copilot-tools chat --conversation {conversation.id}" if conversation.id else ""
        out.note(f"new conversation{back}")
        return client.conversation(None), None
    if command == "/sources":
        if last is None:
            out.note("no answer yet")
        elif not last.citations and not last.sensitivity_label:
            out.note("the last answer cited no sources")
        else:
            out.show_sources(last)
        return conversation, last
    if command not in ("/help", "/?"):
        out.note(f"unknown command {command}")
    out.note(HELP)
    return conversation, last
