"""The `callflow` command: one module per subcommand, listed in COMMANDS.

Each module offers `register(commands)`, which adds its subparser and sets `handler`
(a function of the parsed arguments returning an exit code). Adding a command touches its
module and one line of COMMANDS.

Exit codes follow the usual convention: 0 all good, 1 a flow is invalid (or a check failed),
2 the command itself was used wrongly (unknown option, a path that does not exist).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

from controller import __version__
from controller.flows.loader import LoadResult, check_unique_ids, discover, load_flow_file

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

# Subcommand modules under controller/cli/, in the order `callflow --help` lists them.
COMMANDS = (
    "validate",
    "lint",
    "graph",
    "test",
    "schema",
    "run",
    "simulate",
    "call",
    "say",
    "program",
)

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="callflow", description="Call flows for FreeSWITCH.")
    parser.add_argument("--version", action="version", version=f"callflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"controller.cli.{name}").register(commands)
    return parser


def load_flows(command: str, paths: Sequence[Path], audio: Path) -> list[LoadResult] | None:
    """The flow files under `paths`, loaded and checked against each other, as `validate`
    and `lint` take them; None (after saying why on stderr) when the paths are wrong."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        listed = ", ".join(missing)
        print(f"callflow {command}: no such file or directory: {listed}", file=sys.stderr)
        return None
    files = discover(paths)
    if not files:
        print(f"callflow {command}: no flow files (*.yaml, *.yml, *.json) found", file=sys.stderr)
        return None
    if not audio.is_dir():
        print(
            f"callflow {command}: audio root {str(audio)!r} is not a directory; audio "
            "files were not checked (use --audio DIR)",
            file=sys.stderr,
        )
    results = [load_flow_file(path, audio_root=audio) for path in files]
    check_unique_ids(results)
    return results


def parse_contact(text: str | None) -> dict[str, Any] | None:
    """--contact JSON or @file.json; ValueError when it is neither."""
    if not text:
        return None
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
        contact = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--contact: {exc}") from None
    if not isinstance(contact, dict):
        raise ValueError("--contact must be a JSON object")
    return contact


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # `callflow schema | head`
        return EXIT_OK
