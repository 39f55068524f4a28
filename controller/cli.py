"""The `callflow` command: validate flows, print the schema (and, later, run and simulate).

Exit codes follow the usual convention: 0 all good, 1 a flow is invalid (or a check failed),
2 the command itself was used wrongly (unknown option, a path that does not exist).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from controller import __version__, adhoc, runner
from controller.config import load_settings
from controller.exceptions import ConfigError
from controller.flows.loader import (
    LoadResult,
    check_unique_ids,
    discover,
    load_flow_file,
    summary,
)
from controller.flows.problems import Severity
from controller.flows.schema import schema_text
from controller.simulate import simulate
from controller.speech.base import SpeechError
from controller.speech.compose import tokens_for
from controller.speech.dictionary import Dictionary, DictionaryError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="callflow", description="Call flows for FreeSWITCH.")
    parser.add_argument("--version", action="version", version=f"callflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    schema = commands.add_parser("schema", help="print the flow JSON Schema")
    schema.set_defaults(handler=_schema)

    run = commands.add_parser(
        "run",
        help="run the controller (FreeSWITCH's socket app connects to it)",
        description="Serve calls: FreeSWITCH's `socket` app connects here for each call. "
        "Settings: defaults < --config file < CALLFLOW_* environment < these options.",
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file")
    run.add_argument("--flows", type=Path, metavar="DIR", help="flows directory (flows/)")
    run.add_argument("--audio", type=Path, metavar="DIR", help="audio root (audio/)")
    run.add_argument(
        "--recordings", type=Path, metavar="DIR", help="where recordings are written (recordings/)"
    )
    run.add_argument(
        "--records",
        type=Path,
        metavar="PATH",
        help="call records, JSON lines (records/calls.jsonl)",
    )
    run.add_argument("--listen", metavar="HOST:PORT", help="outbound socket (127.0.0.1:8084)")
    run.add_argument(
        "--http",
        metavar="HOST:PORT",
        dest="http_listen",
        help="/metrics, /healthz, /readyz (127.0.0.1:8085)",
    )
    run.set_defaults(handler=_run)

    simulate = commands.add_parser(
        "simulate",
        help="run one call of a flow against the FreeSWITCH simulator",
        description="Run one call through the real controller and the FreeSWITCH simulator "
        "with a scripted caller; print the path and the call record.",
    )
    simulate.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    simulate.add_argument(
        "--caller",
        default="silent",
        metavar="SCRIPT",
        help='what the caller does, e.g. "press 1 after 2s; speak 3s"',
    )
    simulate.add_argument(
        "--contact", metavar="JSON|@FILE", help="the contact, as JSON or @file.json"
    )
    simulate.add_argument(
        "--hangup-at", metavar="NODE", help="the caller hangs up when NODE starts"
    )
    simulate.add_argument("--audio", type=Path, default=Path("audio"), metavar="DIR")
    simulate.add_argument(
        "--real-time",
        action="store_true",
        help="let media take real time (default: simulated clock)",
    )
    simulate.add_argument(
        "--controller",
        metavar="HOST:PORT",
        help="call a running controller (`make run`) instead of starting one",
    )
    simulate.add_argument(
        "--records",
        type=Path,
        default=Path("records/calls.jsonl"),
        metavar="PATH",
        help="the running controller's records file",
    )
    simulate.set_defaults(handler=_simulate)

    call = commands.add_parser(
        "call",
        help="place one call through FreeSWITCH and print its record",
        description="Place one call of FLOW (a flow id in the flows directory) through "
        "FreeSWITCH's event socket; print the path and the record when it ends.",
    )
    call.add_argument("flow", metavar="FLOW", help="flow id (file name without extension)")
    call.add_argument("--to", required=True, metavar="NUMBER", help="the number to call")
    call.add_argument("--contact", metavar="JSON|@FILE", help="the contact, as JSON or @file")
    call.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file")
    call.add_argument("--flows", type=Path, metavar="DIR")
    call.add_argument("--esl", metavar="HOST:PORT", help="FreeSWITCH's event socket")
    call.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where FreeSWITCH connects back with the answered call",
    )
    call.add_argument("--wait", type=float, default=600.0, metavar="SECONDS")
    call.set_defaults(handler=_call)

    say = commands.add_parser(
        "say",
        help="show the clips that speak a number, date or word",
        description="Print the dictionary tokens, and their files, that speak VALUE.",
    )
    say.add_argument("value", metavar="VALUE")
    say.add_argument("--type", choices=("number", "date", "word"), default="number")
    say.add_argument("--lang", default="en", metavar="LANG", help="ar, fr, en, ...")
    say.add_argument("--mode", choices=("full", "digits", "currency"), default="full")
    say.add_argument("--currency", default="MAD", metavar="CODE")
    say.add_argument(
        "--format",
        default="day_month_year",
        choices=("day_month_year", "weekday_day_month", "day_month"),
    )
    say.add_argument("--audio", type=Path, default=Path("audio"), metavar="DIR")
    say.set_defaults(handler=_say)
    return parser


def _strict(result: LoadResult) -> LoadResult:
    promoted = [replace(p, severity=Severity.ERROR) for p in result.problems]
    return LoadResult(
        result.source, result.flow_id, result.flow if not promoted else None, promoted
    )


def _validate(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(
            f"callflow validate: no such file or directory: {', '.join(missing)}", file=sys.stderr
        )
        return EXIT_USAGE
    files = discover(args.paths)
    if not files:
        print("callflow validate: no flow files (*.yaml, *.yml, *.json) found", file=sys.stderr)
        return EXIT_USAGE
    if not args.audio.is_dir():
        print(
            f"callflow validate: audio root {str(args.audio)!r} is not a directory; audio "
            "files were not checked (use --audio DIR)",
            file=sys.stderr,
        )
    results = [load_flow_file(path, audio_root=args.audio) for path in files]
    check_unique_ids(results)
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


def _run(args: argparse.Namespace) -> int:
    overrides = {
        name: getattr(args, name)
        for name in ("flows", "audio", "recordings", "records", "listen", "http_listen")
    }
    try:
        settings = load_settings(config_file=args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"callflow run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return runner.run(settings)


def _contact(text: str | None) -> dict[str, Any] | None:
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


def _call(args: argparse.Namespace) -> int:
    overrides = {"flows": args.flows, "esl": args.esl, "listen": args.listen}
    try:
        contact = _contact(args.contact)
        settings = load_settings(config_file=args.config, overrides=overrides)
    except (ValueError, ConfigError) as exc:
        print(f"callflow call: {exc}", file=sys.stderr)
        return EXIT_USAGE
    runner.setup_logging(settings)
    return adhoc.call(settings, args.flow, to=args.to, contact=contact, wait=args.wait)


def _simulate(args: argparse.Namespace) -> int:
    if not args.flow.is_file():
        print(f"callflow simulate: no such flow file: {args.flow}", file=sys.stderr)
        return EXIT_USAGE
    try:
        contact = _contact(args.contact)
    except ValueError as exc:
        print(f"callflow simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    controller = None
    if args.controller:
        host, _, port = args.controller.rpartition(":")
        if not port.isdigit() or args.hangup_at:
            print(
                "callflow simulate: --controller takes HOST:PORT, and cannot be combined "
                "with --hangup-at (that needs the controller in-process)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        controller = (host or "127.0.0.1", int(port))
    try:
        return simulate(
            args.flow,
            caller=args.caller,
            contact=contact,
            hangup_at=args.hangup_at,
            audio=args.audio,
            real_time=args.real_time,
            controller=controller,
            records=args.records,
        )
    except ValueError as exc:  # a caller script that does not parse
        print(f"callflow simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _say(args: argparse.Namespace) -> int:
    item = {"type": args.type, "mode": args.mode, "currency": args.currency, "format": args.format}
    try:
        tokens = tokens_for(item, args.value, args.lang)
        dictionary = Dictionary.load(args.audio, args.lang)
    except (SpeechError, DictionaryError) as exc:
        print(f"callflow say: {exc}", file=sys.stderr)
        return EXIT_INVALID
    missing = 0
    for token in tokens:
        path = dictionary.file(token)
        missing += path is None
        print(f"{token}\t{path or '(no clip)'}")
    return EXIT_INVALID if missing else EXIT_OK


def _schema(_: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # `callflow schema | head`
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
