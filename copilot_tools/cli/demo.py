"""``copilot-tools demo``: the whole pipeline in one command, with no account.

It starts the emulator (the sample tenant "Contoso") inside this process on a free
loopback port, streams the answer to a question exactly as ``ask`` would against
Microsoft 365, prints the numbered sources with their links, and exits 0. It is the
first thing a new user runs (``./dev demo``), so it also says what to try next.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from copilot_tools.cli.common import load_settings, make_client, program_name

if TYPE_CHECKING:
    from copilot_tools.cli.render import Output

DEFAULT_QUESTION = "What meeting do I have at 9 AM tomorrow?"

EXAMPLES = """examples:
  copilot-tools demo
  copilot-tools demo "What is our travel policy per diem?"
  copilot-tools demo --header 'x-emulator-fault: rewrite'    # watch a rewrite re-render
"""

#: (command, what it is for): printed after the answer, for a new user's next step.
#: ``{prog}`` is how the user ran the demo: ``copilot-tools``, or ``./dev`` from a clone.
NEXT_STEPS: tuple[tuple[str, str], ...] = (
    ('{prog} demo "What is our travel policy per diem?"', "ask the sample tenant something else"),
    ("{prog} emulator --port 8000", "serve the emulator for your own agents (leave it running)"),
    ("COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta {prog} chat", "then, in another terminal, talk to it"),
    ("{prog} login", "then ask your own Microsoft 365 tenant"),
)


def next_steps(prog: str) -> list[tuple[str, str]]:
    """The next steps spelled for ``prog``; from a clone, also how to type ``copilot-tools`` itself."""
    steps = [(command.format(prog=prog), purpose) for command, purpose in NEXT_STEPS]
    if prog != "copilot-tools":
        steps.append(("source .venv/bin/activate", "to type copilot-tools yourself (./dev runs it for you)"))
    return steps


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("question", nargs="?", default=DEFAULT_QUESTION, metavar="QUESTION",
                        help=f"what to ask the sample tenant (default: {DEFAULT_QUESTION!r})")


def run(args: argparse.Namespace) -> int:
    from copilot_tools import _protocol as protocol
    from copilot_tools.cli.render import Output
    from copilot_tools.emulator import EmulatorConfig, EmulatorServer

    protocol.validate_message(args.question)
    out = Output()
    # A stream slow enough to watch it being written (about 75 words a second).
    with EmulatorServer(EmulatorConfig(words_per_event=3, event_delay=0.04)) as server:
        # The demo talks to its own emulator whatever the configuration says, and never
        # sends a real token there.
        settings = load_settings(args, endpoint=server.base_url)
        out.note(f"copilot-tools demo · the Copilot emulator with the sample tenant Contoso, on {server.base_url}")
        with make_client(args, settings, token="demo") as client:
            _show_question(out, args.question)
            answer = out.show_stream(client.stream(None, args.question))
            out.show_sources(answer)
    _show_next_steps(out)
    return 0


def _show_next_steps(out: Output) -> None:
    """On stderr, so that ``demo > answer.md`` holds only the answer."""
    if out.rich_stderr:
        from rich.text import Text

        console = out.err_console
        console.print()
        console.print(Text("Next:", style="bold"))
        for command, purpose in next_steps(program_name()):
            line = Text("  ").append(command, style="cyan").append(f"   # {purpose}", style="dim")
            console.print(line, soft_wrap=True)
        return
    lines = ["", "Next:", *(f"  {command}   # {purpose}" for command, purpose in next_steps(program_name()))]
    out.stderr.write("\n".join(lines) + "\n")


def _show_question(out: Output, question: str) -> None:
    if out.rich:
        from rich.text import Text

        out.console.print()
        out.console.print(Text("› ", style="bold cyan").append(question, style="bold"))
        out.console.print()
    else:
        out.stdout.write(f"> {question}\n\n")
        out.stdout.flush()
