"""`callflow graph`: a flow as a picture — Mermaid, Graphviz DOT, or SVG drawn by Graphviz."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from controller.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Commands
from controller.flows.loader import load_flow_file
from controller.flows.picture import Taken, render

DOT_TIMEOUT = 60.0  # seconds; a flow is at most a few hundred nodes
NO_DOT = (
    "callflow graph: --format svg needs Graphviz's `dot`, which is not on PATH; install "
    "Graphviz (`apt-get install graphviz`, `brew install graphviz`), or use --format mermaid, "
    "which needs nothing (GitHub and GitLab draw it in Markdown)"
)


def register(commands: Commands) -> None:
    graph = commands.add_parser(
        "graph",
        help="draw a flow (Mermaid, DOT or SVG)",
        description="Print a flow as a picture: nodes with their labels and types, edges "
        "labelled with their outputs, the start and terminal nodes marked.",
    )
    graph.add_argument("flow", type=Path, metavar="FLOW", help="the flow file")
    graph.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    graph.add_argument(
        "--coverage",
        type=Path,
        metavar="FILE",
        help="coverage JSON from `callflow test --coverage-json`: outputs no scenario took "
        "are drawn dashed and red",
    )
    graph.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    graph.set_defaults(handler=_graph)


class UsageError(Exception):
    """The command was used wrongly; the message says how."""


def read_coverage(path: Path, flow_id: str) -> Taken:
    """The `taken` counts for one flow from a coverage file:
    `{"flows": {"<flow id>": {"taken": {"<node id>": {"<output or branch key>": <count>}}}}}`."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--coverage {path}: cannot read it as JSON: {exc}") from None
    flows = data.get("flows") if isinstance(data, dict) else None
    if not isinstance(flows, dict):
        raise UsageError(f'--coverage {path}: expected {{"flows": {{"<flow id>": ...}}}}')
    entry = flows.get(flow_id)
    if entry is None:
        print(
            f"callflow graph: {path} has no coverage for flow {flow_id!r}: every output is "
            "drawn as never taken",
            file=sys.stderr,
        )
        return {}
    taken = entry.get("taken") if isinstance(entry, dict) else None
    if not isinstance(taken, dict) or not all(
        isinstance(outputs, dict)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in outputs.values())
        for outputs in taken.values()
    ):
        raise UsageError(
            f'--coverage {path}: flows.{flow_id}.taken must map node ids to {{"<output>": <count>}}'
        )
    return taken


def _svg(dot_source: str) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise UsageError(NO_DOT)
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=dot_source,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"running {dot}: {exc}") from None
    if done.returncode != 0:
        raise RuntimeError(f"{dot} -Tsvg failed: {done.stderr.strip()}")
    return done.stdout


def _graph(args: argparse.Namespace) -> int:
    if not args.flow.is_file():
        print(f"callflow graph: no such file: {args.flow}", file=sys.stderr)
        return EXIT_USAGE
    result = load_flow_file(args.flow)
    if result.flow is None:
        for problem in result.errors:
            print(problem.as_text(), file=sys.stderr)
        print(f"callflow graph: {args.flow} is not a valid flow", file=sys.stderr)
        return EXIT_INVALID
    try:
        taken = read_coverage(args.coverage, result.flow_id) if args.coverage else None
        if args.format == "svg":
            picture = _svg(render(result.flow, "dot", taken))
        else:
            picture = render(result.flow, args.format, taken)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as exc:
        print(f"callflow graph: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.output is None:
        sys.stdout.write(picture)
    else:
        args.output.write_text(picture, encoding="utf-8")
    return EXIT_OK
