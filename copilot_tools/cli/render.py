"""Answers on a terminal and in a pipe.

On a terminal the answer is markdown rendered by rich while it streams: every event
re-renders the whole text so far, so a ``TextReset`` (the service rewrote earlier text)
simply shows the new text. While streaming, only the last screenful is live; when the
answer is complete it is printed once, whole, so the scrollback holds it exactly.

In a pipe nothing can be taken back, so text goes out a line at a time: a line is
written once the next one has begun, and a rewrite can only touch lines not yet
written. The sources and the label that follow are ``Answer.render()``'s, so a program
reading the pipe sees the same text a model gets from the MCP tool.

rich is imported only when something is drawn on a terminal.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from copilot_tools.answer import Answer
    from copilot_tools.streaming import StreamEvent

logger = logging.getLogger("copilot_tools.cli")


def is_terminal(stream: TextIO) -> bool:
    """A stream drawn on a terminal that understands cursor movement."""
    import os

    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """The one JSON document ``--json`` promises, and nothing else."""
    out = stream or sys.stdout
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    out.flush()


class AnswerView(Protocol):
    """Shows an answer while it grows."""

    def update(self, text: str) -> None:
        """``text`` is the whole answer so far (after a delta or a reset)."""

    def close(self, text: str) -> None:
        """Show ``text`` (the final answer, or the partial one) for good."""


class Output:
    """Where a command writes: rich on a terminal, plain text in a pipe.

    ``stdout`` carries only the answer and its sources; everything else (the spinner,
    notes such as the conversation id, errors) goes to ``stderr``.
    """

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.rich = is_terminal(self.stdout)
        self.rich_stderr = is_terminal(self.stderr)
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stdout, highlight=False, soft_wrap=False)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(file=self.stderr, highlight=False)
        return self._err_console

    # --- while waiting ------------------------------------------------------------------

    @contextmanager
    def spinner(self, message: str = "Asking Copilot…") -> Iterator[_Spinner]:
        """A spinner on stderr until ``stop()`` (terminals only; nothing in a pipe)."""
        spinner = _Spinner(self.err_console if self.rich_stderr else None, message)
        try:
            yield spinner
        finally:
            spinner.stop()

    # --- the answer ---------------------------------------------------------------------

    def answer_view(self) -> AnswerView:
        return _LiveMarkdownView(self.console) if self.rich else _LineView(self.stdout)

    def show_stream(self, events: Iterable[StreamEvent], *, waiting: str = "Asking Copilot…") -> Answer:
        """Drive a stream into the terminal; returns the final ``Answer``.

        Whatever happens (Ctrl-C, a broken stream), the text that arrived stays shown
        and the exception goes on to the caller.
        """
        from copilot_tools.streaming import AnswerComplete, TextDelta, TextReset

        text = ""
        view: AnswerView | None = None
        answer: Answer | None = None
        started = time.perf_counter()
        iterator = iter(events)
        try:
            with _keys_not_echoed(), self.spinner(waiting) as spinner:
                for event in iterator:
                    if isinstance(event, TextDelta):
                        text += event.text
                    elif isinstance(event, TextReset):
                        text = event.text
                    elif isinstance(event, AnswerComplete):
                        answer = event.answer
                        text = answer.text
                        continue
                    if view is None and text:
                        spinner.stop()
                        logger.info("first words after %.0f ms", (time.perf_counter() - started) * 1000)
                        view = self.answer_view()
                    if view is not None:
                        view.update(text)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a cancelled stream closes its connection now, not at garbage collection
            if view is None and text:
                view = self.answer_view()
            if view is not None:
                view.close(text)
        logger.info("answer complete after %.0f ms", (time.perf_counter() - started) * 1000)
        if answer is None:  # pragma: no cover - the client always ends with AnswerComplete or raises
            raise RuntimeError("the stream ended without an answer")
        return answer

    def show_answer(self, answer: Answer) -> None:
        """A whole answer at once (``--no-stream``): the text, then its sources."""
        view = self.answer_view()
        view.close(answer.text)
        self.show_sources(answer)

    def show_sources(self, answer: Answer) -> None:
        """The numbered sources and the sensitivity label, after the answer's text."""
        if not self.rich:
            # Answer.render() is the text, then the sources and the label: the text is out already.
            tail = answer.render()[len(answer.text.rstrip()):].strip("\n")
            if tail:
                self.stdout.write(f"\n{tail}\n")
                self.stdout.flush()
            return
        from rich.text import Text

        console = self.console
        if answer.citations:
            console.print()
            console.print(Text("Sources", style="bold"))
            for citation in answer.citations:
                title = citation.title or citation.url or "Untitled source"
                line = Text(f"  [{citation.index}] ", style="cyan")
                style = f"link {citation.url}" if citation.url and citation.source != "external" else ""
                line.append(title, style=style)
                console.print(line)
                if citation.url and citation.url != title and citation.source != "external":
                    # soft_wrap keeps a long link on one logical line, so terminals still detect it
                    console.print(Text(f"      {citation.url}", style="dim"), soft_wrap=True)
        label = answer.sensitivity_label
        if label and label.name:
            console.print()
            style = f"bold {label.color}" if label.color and _is_color(label.color) else "bold"
            console.print(Text("Sensitivity: ", style="dim").append(label.name, style=style))

    def show_sources_summary(self, answer: Answer) -> None:
        """One dim line after a chat answer: how many sources, and the label."""
        parts = []
        if answer.citations:
            count = len(answer.citations)
            parts.append(f"{count} source{'s' if count != 1 else ''} · /sources to list")
        if answer.sensitivity_label and answer.sensitivity_label.name:
            parts.append(f"Sensitivity: {answer.sensitivity_label.name}")
        if parts:
            self.note("  ".join(parts), to_stdout=True)

    # --- notes --------------------------------------------------------------------------

    def note(self, message: str, *, to_stdout: bool = False) -> None:
        """A dim line for people (stderr unless ``to_stdout``), never part of the answer."""
        rich = self.rich if to_stdout else self.rich_stderr
        if rich:
            from rich.text import Text

            console = self.console if to_stdout else self.err_console
            console.print(Text(message, style="dim"), soft_wrap=True)
        else:
            stream = self.stdout if to_stdout else self.stderr
            stream.write(message + "\n")
            stream.flush()


@contextmanager
def _keys_not_echoed() -> Iterator[None]:
    """While an answer is drawn, keys typed are not echoed into it (they still reach the next prompt).

    An echoed ``^C`` after a full-width line would wrap the terminal's cursor and leave
    a stale line behind the live display. Ctrl-C still interrupts: only echo is off.
    """
    try:
        import termios

        fd = sys.stdin.fileno()
        if not sys.stdin.isatty():
            raise OSError
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):  # no terminal, or not POSIX
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | getattr(termios, "ECHOCTL", 0))
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _is_color(value: str) -> bool:
    from rich.color import Color, ColorParseError

    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


class _Spinner:
    """rich's status spinner on stderr, or nothing."""

    def __init__(self, console: Console | None, message: str) -> None:
        self._status = console.status(message, spinner="dots") if console is not None else None
        if self._status is not None:
            self._status.start()

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class _LineView:
    """Plain text in a pipe, a line at a time (see the module docstring)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines_written = 0
        self._wrote = False

    def update(self, text: str) -> None:
        complete = text.split("\n")[:-1]
        fresh = complete[self._lines_written:]
        if fresh:
            self._stream.write("".join(line + "\n" for line in fresh))
            self._stream.flush()
            self._lines_written = len(complete)
            self._wrote = True

    def close(self, text: str) -> None:
        rest = "\n".join(text.rstrip("\n").split("\n")[self._lines_written:])
        if rest or self._wrote:
            self._stream.write(rest + "\n" if rest else "")
            self._stream.flush()


class _LiveMarkdownView:
    """Markdown re-rendered on every change; only the last screenful is live."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live

        self._console = console
        self._tail = _Tail("")
        self._live = Live(
            self._tail, console=console, transient=True, auto_refresh=True,
            refresh_per_second=12, vertical_overflow="visible",
            redirect_stdout=False, redirect_stderr=True,
        )
        self._live.start()

    def update(self, text: str) -> None:
        self._tail.text = text  # drawn by the live display's own refresh, at most 12 times a second

    def close(self, text: str) -> None:
        from rich.markdown import Markdown

        self._live.stop()
        if text.strip():
            self._console.print(Markdown(text, hyperlinks=True))


class _Tail:
    """A markdown renderable cut to its last lines, so a live region never outgrows the screen."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.markdown import Markdown
        from rich.segment import Segment

        lines = console.render_lines(Markdown(self.text, hyperlinks=True), options.update(height=None), pad=False)
        room = max(1, console.size.height - 2)
        shown = lines[-room:]
        for number, line in enumerate(shown, 1):
            yield from line
            if number < len(shown):  # a newline after the last line would leave a blank one behind
                yield Segment.line()
