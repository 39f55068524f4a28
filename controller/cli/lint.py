"""`callflow lint`: validate flow files, then find what the valid ones may still get wrong."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from controller.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Commands, load_flows
from controller.flows.lint import Finding, lint_flow
from controller.flows.loader import LoadResult
from controller.flows.problems import Severity
from controller.flows.source import SourceError, read_document

# --fail-on LEVEL: the findings at that level or above make the command exit 1.
FAIL_LEVELS = {"error": (Severity.ERROR,), "warning": (Severity.ERROR, Severity.WARNING)}


def register(commands: Commands) -> None:
    lint = commands.add_parser(
        "lint",
        help="find what a valid flow may still get wrong",
        description="Validate flow files, then lint the valid ones: variables read before "
        "they are set, dtmf branches and outputs no call takes, loops with no way out, dial "
        "errors left unhandled, labels missing or repeated. Directories are searched "
        "recursively; with no PATH, flows/.",
    )
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH", default=[Path("flows")])
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.add_argument(
        "--fail-on",
        choices=tuple(FAIL_LEVELS),
        default="warning",
        help="exit 1 when a finding is at this level or above (default: warning)",
    )
    lint.add_argument(
        "--audio",
        type=Path,
        default=Path("audio"),
        metavar="DIR",
        help="audio root validation checks audio files against (default: audio/)",
    )
    lint.set_defaults(handler=_lint)


def _with_lines(findings: list[Finding], path: Path) -> list[Finding]:
    try:
        document, _ = read_document(path)
    except SourceError:
        return findings  # it was readable a moment ago; lines are a convenience
    return [replace(f, line=document.line_of(f.pointer)) for f in findings]


def _findings(result: LoadResult, path: Path) -> list[Finding]:
    if result.flow is None:
        return []
    return _with_lines(lint_flow(result.flow, file=result.source), path)


def _report(
    results: list[LoadResult], findings: list[list[Finding]], fail_on: str
) -> dict[str, Any]:
    every = [f for flow in findings for f in flow]
    return {
        "ok": _ok(results, every, fail_on),
        "failOn": fail_on,
        "invalidCount": sum(not r.valid for r in results),
        "errorCount": sum(f.severity is Severity.ERROR for f in every),
        "warningCount": sum(f.severity is Severity.WARNING for f in every),
        "flows": [
            {
                "file": result.source,
                "flowId": result.flow_id,
                "valid": result.valid,
                "findings": [f.as_dict() for f in flow],
                "validation": {
                    "errors": [p.as_dict() for p in result.errors],
                    "warnings": [p.as_dict() for p in result.warnings],
                },
            }
            for result, flow in zip(results, findings, strict=True)
        ],
    }


def _ok(results: list[LoadResult], findings: list[Finding], fail_on: str) -> bool:
    failing = FAIL_LEVELS[fail_on]
    return all(r.valid for r in results) and not any(f.severity in failing for f in findings)


def _lint(args: argparse.Namespace) -> int:
    results = load_flows("lint", args.paths, args.audio)
    if results is None:
        return EXIT_USAGE
    findings = [_findings(result, Path(result.source)) for result in results]
    report = _report(results, findings, args.fail_on)
    if args.format == "json":
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_text(results, findings, report)
    return EXIT_OK if report["ok"] else EXIT_INVALID


def _print_text(
    results: list[LoadResult], findings: list[list[Finding]], report: dict[str, Any]
) -> None:
    for result, flow in zip(results, findings, strict=True):
        # An invalid flow is reported as `callflow validate` reports it, and not linted.
        lines = [p.as_text() for p in result.problems] if not result.valid else []
        lines += [f.as_text() for f in flow]
        for line in lines:
            print(line)
    unrepeated = sum(len(r.warnings) for r in results if r.valid)
    note = (
        f"; {unrepeated} validation warning(s) not repeated (`callflow validate` shows them)"
        if unrepeated
        else ""
    )
    print(
        f"{len(results)} flow(s) linted: {report['invalidCount']} invalid; "
        f"{report['errorCount']} error(s), {report['warningCount']} warning(s){note}",
        file=sys.stderr,
    )
