"""`callflow simulate`: one call of a flow against the FreeSWITCH simulator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.cli import EXIT_USAGE, Commands, parse_contact
from controller.simulate import simulate


def register(commands: Commands) -> None:
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


def _simulate(args: argparse.Namespace) -> int:
    if not args.flow.is_file():
        print(f"callflow simulate: no such flow file: {args.flow}", file=sys.stderr)
        return EXIT_USAGE
    try:
        contact = parse_contact(args.contact)
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
