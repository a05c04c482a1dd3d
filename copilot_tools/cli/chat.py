"""``copilot-tools chat``: many turns in one conversation, interactively.

Line editing and history come from readline (history kept under the user's data
directory). Ctrl-C cancels the answer being written and returns to the prompt (the
stream's connection is closed at once); at the prompt it clears the line. Ctrl-D quits.
A failed turn is reported in one line and the session goes on, except when nothing
could work (not signed in, no permission or licence), which ends it with that exit code.

Questions piped in (stdin not a terminal) make a transcript for a script: the exit code
is then that of the worst failed turn (0 when every question was answered), and a
question asked in a conversation that has gone is asked again, once, in a new one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from copilot_tools.cli.ask import add_turn_options, prepare_turn
from copilot_tools.cli.common import (
    EXIT_DECLINED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_THROTTLED,
    EXIT_USAGE,
    error,
    make_client,
    report_error,
    verbosity_level,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from copilot_tools.answer import Answer
    from copilot_tools.cli.render import Output
    from copilot_tools.client import CopilotClient, CopilotConversation
    from copilot_tools.streaming import StreamEvent

EXAMPLES = """examples:
  copilot-tools chat
  copilot-tools chat --conversation 0d110e7e-2b7e-4270-a899-fd2af6fde333
  copilot-tools chat --no-web-search --file https://contoso.sharepoint.com/sites/HR/Shared%20Documents/Handbook.docx

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

#: Exit codes of failed turns, least to most severe: a piped session exits with the worst.
#: A question that was never asked (cancelled, bad input) outranks one the service turned
#: down or could not answer this time.
_SEVERITY = (EXIT_OK, EXIT_DECLINED, EXIT_NOT_FOUND, EXIT_THROTTLED, EXIT_SERVICE, EXIT_USAGE, EXIT_INTERRUPTED)


def _worse(a: int, b: int) -> int:
    rank = {code: i for i, code in enumerate(_SEVERITY)}
    return max(a, b, key=lambda code: rank.get(code, len(_SEVERITY)))


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
            _private_file(self._path)
            self._readline.write_history_file(self._path)
        except OSError:
            pass  # a read-only home must not break quitting


def _private_file(path: Path) -> None:
    """Make ``path`` an owner-only (0600) file in an owner-only (0700) directory.

    The history holds the user's questions, and its directory is also the token
    cache's, which refuses a directory others can read: so a new directory is created
    0700 by the cache's own helper. An existing one is left as it is, never loosened
    (a loose one is the cache's to refuse and explain).
    """
    from copilot_tools.auth.cache import TokenCacheError, secure_directory

    try:
        secure_directory(path.parent)
    except TokenCacheError:
        pass  # exists but not private: not ours to change, and history still works
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.render import Output
    from copilot_tools.errors import ConversationNotFoundError

    settings, turn = prepare_turn(args)
    out = Output()
    interactive = sys.stdin.isatty()
    editor = _LineEditor(interactive, color=out.rich)
    level = verbosity_level(args)
    worst = EXIT_OK
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
                    answer, code = _turn(out, conversation.stream(line, **turn), level)
                except ConversationNotFoundError as exc:
                    conversation, last = client.conversation(None), None
                    if interactive:
                        error(exc.message, "Started a new conversation; ask again.")
                        continue
                    # Nobody can ask again into a pipe: do it for them, once.
                    error(exc.message, "Asking again in a new conversation.")
                    worst = _worse(worst, EXIT_NOT_FOUND)
                    try:
                        answer, code = _turn(out, conversation.stream(line, **turn), level)
                    except ConversationNotFoundError as again:
                        answer, code = None, report_error(again, level)
                        conversation = client.conversation(None)
                worst = _worse(worst, code)
                if answer is None:
                    continue
                last = answer
                if interactive:
                    out.show_sources_summary(last)  # the full list is one /sources away
                else:
                    out.show_sources(last)  # nobody can type /sources into a pipe
                print()
        finally:
            editor.save()
        if conversation.id:
            cid = conversation.id
            out.note(f"conversation {cid} · continue with: copilot-tools chat --conversation {cid}")
    return EXIT_OK if interactive else worst


def _turn(out: Output, events: Iterator[StreamEvent], level: int) -> tuple[Answer | None, int]:
    """Show one answer: (answer, 0), or (None, exit code) once the failure is reported.

    Errors after which nothing could work end the session (they propagate, as does a
    conversation that has gone, which the caller replaces).
    """
    from copilot_tools.errors import ConversationNotFoundError, CopilotError

    try:
        return out.show_stream(events), EXIT_OK
    except KeyboardInterrupt:
        out.note("(answer cancelled)")
        return None, EXIT_INTERRUPTED
    except ConversationNotFoundError:
        raise
    except CopilotError as exc:
        if exc.kind in _FATAL_KINDS:
            raise
        return None, report_error(exc, level)


def _slash(
    command: str,
    client: CopilotClient,
    conversation: CopilotConversation,
    last: Answer | None,
    out: Output,
) -> tuple[CopilotConversation, Answer | None]:
    """Run one /command; returns the (possibly new) conversation and last answer."""
    if command == "/new":
        back = ""
        if conversation.id:
            back = f"; back to the last one with: copilot-tools chat --conversation {conversation.id}"
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
