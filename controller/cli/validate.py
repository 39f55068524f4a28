"""`callflow validate`: check flow files and report every problem."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from controller.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Commands, load_flows
from controller.flows.loader import LoadResult, summary
from controller.flows.problems import Severity


def register(commands: Commands) -> None:
    validate = commands.add_parser(
        "validate",
        help="check flow files",
        description="Check flow files (YAML or JSON); directories are searched recursively.",
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    validate.add_argument(
        "--audio",
        type=Path,
        default=Path("audio"),
        metavar="DIR",
        help="audio root to check audio files against (default: audio/)",
    )
    validate.set_defaults(handler=_validate)


def _strict(result: LoadResult) -> LoadResult:
    promoted = [replace(p, severity=Severity.ERROR) for p in result.problems]
    return LoadResult(
        result.source, result.flow_id, result.flow if not promoted else None, promoted
    )


def _validate(args: argparse.Namespace) -> int:
    results = load_flows("validate", args.paths, args.audio)
    if results is None:
        return EXIT_USAGE
    if args.strict:
        results = [_strict(r) for r in results]
    if args.format == "json":
        print(json.dumps(summary(results), indent=2, ensure_ascii=False))
    else:
        for result in results:
            for problem in result.problems:
                print(problem.as_text())
        errors = sum(len(r.errors) for r in results)
        warnings = sum(len(r.warnings) for r in results)
        invalid = sum(not r.valid for r in results)
        print(
            f"{len(results)} flow(s) checked: {len(results) - invalid} valid, {invalid} "
            f"invalid; {errors} error(s), {warnings} warning(s)",
            file=sys.stderr,
        )
    return EXIT_OK if all(r.valid for r in results) else EXIT_INVALID
