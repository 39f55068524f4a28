"""`callflow test`: run scenario files against their flows; diffs, coverage, JUnit XML."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from controller.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Commands
from controller.scenarios import report as reports
from controller.scenarios import suite
from controller.scenarios.coverage import as_json as coverage_json
from controller.scenarios.runner import CONCURRENCY


def register(commands: Commands) -> None:
    test = commands.add_parser(
        "test",
        help="run scenario tests (*.test.yaml) against their flows",
        description="Run each scenario of the scenario files (flows/<flow>.test.yaml) as a call "
        "through the real controller and the FreeSWITCH simulator; report failures as diffs "
        "and which wired outputs the scenarios took. Exit codes: 0 all passed, 1 a scenario "
        "failed (or coverage is below --min-coverage), 2 usage or a bad scenario file.",
    )
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("flows")],
        metavar="PATH",
        help="scenario files, flows or directories (default: flows/)",
    )
    test.add_argument("--format", choices=("text", "json"), default="text")
    test.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML here")
    test.add_argument(
        "--coverage-json", type=Path, metavar="FILE", help="write output coverage as JSON here"
    )
    test.add_argument(
        "--min-coverage",
        type=_percent,
        metavar="PCT",
        help="fail when a flow's output coverage is below PCT percent",
    )
    test.add_argument("--audio", type=Path, default=Path("audio"), metavar="DIR")
    test.add_argument(
        "--strict-audio",
        action="store_true",
        help="no silent stand-ins for missing dictionary clips (the node takes onError)",
    )
    test.add_argument(
        "--jobs", type=int, default=CONCURRENCY, metavar="N", help="scenarios run at once"
    )
    test.set_defaults(handler=_test)


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage is 0 to 100, not {text}")
    return value


@contextlib.contextmanager
def _quiet_controller() -> Iterator[None]:
    """The controller's per-call warnings are the scenarios' business: their records and
    diffs say what happened. Errors still show."""
    logger = logging.getLogger("callflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _test(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        print("callflow test: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        loaded = suite.load(suite.find(args.paths), audio=args.audio)
    except suite.UsageError as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        print("callflow test: nothing was run", file=sys.stderr)
        return EXIT_USAGE
    for problem in loaded.flow_problems:
        print(problem, file=sys.stderr)
    with _quiet_controller():
        report = suite.run(
            loaded,
            audio=args.audio,
            stand_in_clips=not args.strict_audio,
            concurrency=args.jobs,
            min_coverage=args.min_coverage,
        )
    if args.format == "json":
        print(json.dumps(reports.as_json(report), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(reports.text(report))
    try:
        if args.junit:
            args.junit.write_text(reports.junit(report), encoding="utf-8")
        if args.coverage_json:
            args.coverage_json.write_text(
                json.dumps(coverage_json(report.coverage), indent=2) + "\n", encoding="utf-8"
            )
    except OSError as exc:
        print(f"callflow test: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if report.passed and not loaded.flow_problems else EXIT_INVALID
