"""``copilot-tools retrieve``: the passages Copilot would ground a query on.

The numbered extracts go to stdout as ``render_hits`` writes them for a model (or, on
a terminal, the same content styled); ``--json`` prints ``hits_structured`` and nothing
else. Several ``--source`` values go out in one ``$batch`` and come back merged.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from copilot_tools.cli.common import load_settings, make_client, preference, program_name
from copilot_tools.errors import InvalidInputError

if TYPE_CHECKING:
    from copilot_tools.cli.render import Output
    from copilot_tools._retrieval import RetrievalHit

DATA_SOURCES = ("sharePoint", "oneDriveBusiness", "externalItem")

#: What to do about the first mistakes people make, by the argument the core names.
_HINTS = {
    "query": 'Say what to look for, e.g. {prog} retrieve "travel policy per diem".',
    "max_results": "The Retrieval API returns at most 25 results per source: use --max 1 to 25, or add "
    "--source oneDriveBusiness / externalItem to search more places in one request.",
}

EXAMPLES = """examples:
  copilot-tools retrieve "travel policy per diem"
  copilot-tools retrieve "incident postmortem" --source sharePoint --source externalItem --max 5
  copilot-tools retrieve "budget" --filter 'path:"https://contoso.sharepoint.com/sites/Finance/"'
  copilot-tools retrieve "roadmap" --json | jq -r '.hits[].url'
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("query", metavar="QUERY", help="what to look for (1 to 1,500 characters)")
    parser.add_argument(
        "--source", action="append", choices=DATA_SOURCES, dest="sources", metavar="SOURCE",
        help="where to look: sharePoint (default), oneDriveBusiness, externalItem (repeatable)",
    )
    parser.add_argument("--filter", metavar="KQL",
                        help="a KQL filter, e.g. 'Author:\"John Doe\"' (checked before sending)")
    parser.add_argument("--max", type=int, metavar="N", dest="max_results",
                        help="at most N results per source (1-25)")
    parser.add_argument("--connection", action="append", metavar="ID", dest="connections",
                        help="an external connection id for --source externalItem (repeatable)")
    parser.add_argument(
        "--json", action=argparse.BooleanOptionalAction, default=None,
        help="print every hit as JSON and nothing else (env COPILOT_TOOLS_JSON)",
    )


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.render import Output, print_json
    from copilot_tools._retrieval import build_query, hits_structured, render_hits

    sources = tuple(dict.fromkeys(args.sources or ["sharePoint"]))
    try:
        for source in sources:  # every argument checked before anything is sent
            build_query(args.query, data_source=source, filter=args.filter, max_results=args.max_results,
                        connections=args.connections if source == "externalItem" else None)
    except InvalidInputError as exc:
        if exc.hint is None and exc.argument in _HINTS:
            exc.hint = _HINTS[exc.argument].format(prog=program_name())
        raise
    settings = load_settings(args)
    as_json, _ = preference(args, "json")
    out = Output()
    with make_client(args, settings) as client, out.spinner("Searching…"):
        hits = client.retrieve_many(args.query, data_sources=sources, filter=args.filter,
                                    max_results=args.max_results, connections=args.connections)
    if as_json:
        print_json(hits_structured(hits))
    elif out.rich:
        _show_hits(out, hits)
    else:
        out.stdout.write(render_hits(hits) + "\n")
    return 0


def _show_hits(out: Output, hits: list[RetrievalHit]) -> None:
    """The content of ``render_hits``, styled for a terminal (extracts rendered as markdown)."""
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.text import Text

    console = out.console
    if not hits:
        console.print(Text("No matching documents were found.", style="dim"))
        return
    for number, hit in enumerate(hits, 1):
        console.print(Text(f"[{number}] ", style="cyan").append(hit.title or hit.url, style=f"bold link {hit.url}"))
        console.print(Text(f"    {hit.url}", style="dim"), soft_wrap=True)
        details = [hit.data_source]
        if hit.author:
            details.append(f"by {hit.author}")
        if hit.score is not None:
            details.append(f"score {hit.score:.2f}")
        line = Text("    " + " · ".join(details), style="dim")
        if hit.sensitivity_label and hit.sensitivity_label.name:
            line.append(" · ", style="dim").append(f"Sensitivity: {hit.sensitivity_label.name}", style="yellow")
        console.print(line)
        extracts = [e.text.strip() for e in hit.extracts if e.text.strip()]
        if extracts:
            console.print(Padding(Markdown("\n".join(f"- {text}" for text in extracts)), (0, 0, 0, 2)))
        console.print()
