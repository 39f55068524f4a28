"""`callflow run`: run the controller."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller import runner
from controller.cli import EXIT_USAGE, Commands
from controller.exceptions import ConfigError
from controller.reload import SettingsSource


def register(commands: Commands) -> None:
    run = commands.add_parser(
        "run",
        help="run the controller (FreeSWITCH's socket app connects to it)",
        description="Serve calls: FreeSWITCH's `socket` app connects here for each call. "
        "Settings: defaults < --config file < CALLFLOW_* environment < these options. "
        "SIGHUP reads them again (see docs/operations.md); SIGTERM stops after the calls in "
        "progress finish (shutdown_grace).",
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


def _run(args: argparse.Namespace) -> int:
    overrides = {
        name: getattr(args, name)
        for name in ("flows", "audio", "recordings", "records", "listen", "http_listen")
    }
    source = SettingsSource(config_file=args.config, overrides=overrides)  # again on SIGHUP
    try:
        settings = source.load()
    except ConfigError as exc:
        print(f"callflow run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return runner.run(settings, source)
