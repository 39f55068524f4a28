"""`callflow call`: place one call through FreeSWITCH."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller import adhoc, runner
from controller.cli import EXIT_USAGE, Commands, parse_contact
from controller.config import load_settings
from controller.exceptions import ConfigError


def register(commands: Commands) -> None:
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


def _call(args: argparse.Namespace) -> int:
    overrides = {"flows": args.flows, "esl": args.esl, "listen": args.listen}
    try:
        contact = parse_contact(args.contact)
        settings = load_settings(config_file=args.config, overrides=overrides)
    except (ValueError, ConfigError) as exc:
        print(f"callflow call: {exc}", file=sys.stderr)
        return EXIT_USAGE
    runner.setup_logging(settings)
    return adhoc.call(settings, args.flow, to=args.to, contact=contact, wait=args.wait)
