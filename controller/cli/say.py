"""`callflow say`: show the clips that speak a value."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.cli import EXIT_INVALID, EXIT_OK, Commands
from controller.speech.base import SpeechError
from controller.speech.compose import tokens_for
from controller.speech.dictionary import Dictionary, DictionaryError


def register(commands: Commands) -> None:
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
