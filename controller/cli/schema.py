"""`callflow schema`: print the flow JSON Schema."""

from __future__ import annotations

import argparse
import sys

from controller.cli import EXIT_OK, Commands
from controller.flows.schema import schema_text


def register(commands: Commands) -> None:
    schema = commands.add_parser("schema", help="print the flow JSON Schema")
    schema.set_defaults(handler=_schema)


def _schema(_: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK
