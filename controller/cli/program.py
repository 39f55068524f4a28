"""`callflow program ...`: programs (outbound campaigns) in the program database.

The commands act on the database (setting `programs_db`, or `--db`); a running controller
(`callflow run`) picks changes up within a second and does the dialling.

    callflow program create ID --spec program.yaml [--contacts contacts.csv]
    callflow program import ID contacts.csv
    callflow program start|pause|resume|cancel ID
    callflow program status [ID] [--follow]
    callflow program export ID [--format csv|json] [--output FILE]
    callflow program dnc add|remove NUMBER... [--program ID] [--file FILE]
    callflow program recover --owner NAME [--records FILE]

`--db` (or `programs_db`) is a SQLite file or a `postgresql://` URL.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from controller.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Commands
from controller.config import Settings, load_settings
from controller.exceptions import ConfigError
from controller.flows.source import SourceError, read_document
from controller.flowstore import FlowStore
from controller.programs import database, export, lifecycle, progress
from controller.programs.database import ProgramsTarget
from controller.programs.importer import ContactFileError, normalise_number, read_contacts
from controller.programs.model import SpecError, parse_spec
from controller.programs.pacing import program_rate_limit
from controller.programs.recovery import recover
from controller.programs.store import GLOBAL_DNC, ProgramStore, StoreError


class _Usage(Exception):
    """The command was used wrongly: exit 2 with this message."""


def register(commands: Commands) -> None:
    program = commands.add_parser(
        "program",
        help="outbound programs (campaigns): create, import, start, pause, status, export",
        description="Programs: a flow, contacts and rules for when and how fast to call them. "
        "These commands change the program database; `callflow run` dials.",
    )
    actions = program.add_subparsers(dest="action", required=True, parser_class=type(program))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file")
    common.add_argument(
        "--db", metavar="PATH|URL", help="program database: a SQLite file or postgresql:// URL"
    )

    def action(name: str, text: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=text, description=text, parents=[common])
        if with_id:
            parser.add_argument("id", metavar="ID", help="program id")
        parser.set_defaults(handler=_handle)
        return parser

    create = action("create", "create a program from a YAML/JSON specification")
    create.add_argument("--spec", type=Path, required=True, metavar="FILE")
    create.add_argument("--contacts", type=Path, metavar="FILE", help="CSV or JSON to import")
    imported = action("import", "import contacts (CSV or JSON) into a program")
    imported.add_argument("file", type=Path, metavar="FILE")
    start = action("start", "start a program (pins its flow's current version)")
    start.add_argument("--flows", type=Path, metavar="DIR", help="flows directory (flows/)")
    action("pause", "pause a program (calls in progress finish)")
    resume = action("resume", "resume a paused program")
    resume.add_argument("--flows", type=Path, metavar="DIR", help="flows directory (flows/)")
    resume.add_argument(
        "--use-current-flow",
        action="store_true",
        help="move the program to the flow's version served now",
    )
    action("cancel", "cancel a program: contacts not yet called are not called")
    status = action("status", "show programs, or one program's progress", with_id=False)
    status.add_argument("id", metavar="ID", nargs="?", help="program id")
    status.add_argument("--follow", action="store_true", help="redraw until it finishes")
    status.add_argument("--interval", type=float, default=2.0, metavar="SECONDS")
    exported = action("export", "export a program's results")
    exported.add_argument("--format", choices=("csv", "json"), default="csv")
    exported.add_argument("--output", type=Path, metavar="FILE", help="default: stdout")
    dnc = action("dnc", "add or remove numbers on a do-not-call list", with_id=False)
    dnc.add_argument("change", choices=("add", "remove"))
    dnc.add_argument("numbers", nargs="*", metavar="NUMBER")
    dnc.add_argument("--file", type=Path, metavar="FILE", help="one number a line")
    dnc.add_argument("--program", metavar="ID", help="the program's list (default: global)")
    dnc.add_argument("--country", default=None, metavar="CC", help="for national numbers")
    recover = action(
        "recover",
        "resolve the calls a process that is gone for good left in progress (PostgreSQL)",
        with_id=False,
    )
    recover.add_argument("--owner", required=True, metavar="NAME", help="its instance_name")
    recover.add_argument(
        "--records", type=Path, metavar="FILE", help="its records file (default: records)"
    )


def _handle(args: argparse.Namespace) -> int:
    try:
        overrides = {"programs_db": args.db, "flows": getattr(args, "flows", None)}
        settings = load_settings(config_file=args.config, overrides=overrides)
        if not settings.programs_db:
            raise _Usage("no program database (setting programs_db)")
        store = _open(settings.programs_db, create=args.action in ("create", "dnc", "recover"))
        try:
            return int(ACTIONS[args.action](args, settings, store))
        finally:
            store.close()
    except (_Usage, ConfigError) as exc:
        print(f"callflow program {args.action}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, SpecError, ContactFileError) as exc:
        print(f"callflow program {args.action}: {exc}", file=sys.stderr)
        return EXIT_INVALID


def _open(target: ProgramsTarget, *, create: bool) -> ProgramStore:
    if not create and not database.exists(target):
        raise _Usage(f"no program database at {target} (create a program first)")
    return database.open_store(target)


def _create(args: argparse.Namespace, settings: Settings, store: ProgramStore) -> int:
    try:
        document, _ = read_document(args.spec)
    except SourceError as exc:
        raise _Usage(f"{args.spec}: {exc.message}") from None
    try:
        spec = parse_spec(document.data, sps_limit=program_rate_limit(settings.freeswitch_sps))
    except SpecError as exc:
        raise SpecError(f"{args.spec}: {exc}") from None
    program = lifecycle.create(store, args.id, spec, now=time.time())
    print(f"program {program.id}: {program.state} (flow {spec.flow})")
    return _import(args, settings, store, args.contacts) if args.contacts else EXIT_OK


def _import(
    args: argparse.Namespace, _settings: Settings, store: ProgramStore, path: Path | None = None
) -> int:
    path = path or args.file
    program = store.get_program(args.id)
    if program is None:
        raise StoreError(f"no program {args.id!r}")
    if not path.exists():
        raise _Usage(f"{path}: no such file")
    report = read_contacts(path, country=program.spec.default_country)
    for error in report.errors:
        print(error.as_text(report.source), file=sys.stderr)
    for line, into in report.merged:
        print(f"{report.source}:{line}: same number as line {into}: merged", file=sys.stderr)
    added = lifecycle.import_contacts(store, args.id, report, now=time.time())
    print(
        f"{report.summary()}; {added.inserted} added to {args.id}, "
        f"{added.updated} already there (updated)"
    )
    return EXIT_INVALID if report.errors else EXIT_OK


def _versions(settings: Settings) -> Any:
    flows = FlowStore(settings.flows)
    flows.load_all()

    def current(flow_id: str) -> str | None:
        flow = flows.get(flow_id)
        return flow.version if flow is not None else None

    return current


def _show(program: Any) -> int:
    pinned = f", flow version {program.flow_version}" if program.flow_version else ""
    print(f"program {program.id}: {program.state}{pinned}")
    return EXIT_OK


def _start(args: argparse.Namespace, settings: Settings, store: ProgramStore) -> int:
    return _show(lifecycle.start(store, args.id, _versions(settings), now=time.time()))


def _pause(args: argparse.Namespace, _settings: Settings, store: ProgramStore) -> int:
    return _show(lifecycle.pause(store, args.id, now=time.time()))


def _resume(args: argparse.Namespace, settings: Settings, store: ProgramStore) -> int:
    program = lifecycle.resume(
        store,
        args.id,
        _versions(settings),
        now=time.time(),
        use_current_flow=args.use_current_flow,
    )
    return _show(program)


def _cancel(args: argparse.Namespace, _settings: Settings, store: ProgramStore) -> int:
    return _show(lifecycle.cancel(store, args.id, now=time.time()))


def _status(args: argparse.Namespace, _settings: Settings, store: ProgramStore) -> int:
    if args.id is None:
        for program in store.list_programs():
            stats = store.stats(program.id, now=time.time())
            print(
                f"{program.id}\t{program.state}\t{program.spec.flow}\t"
                f"{stats.by_status.get('done', 0)}/{stats.contacts} done"
            )
        return EXIT_OK
    live = args.follow and sys.stdout.isatty()
    while True:
        program = store.get_program(args.id)
        if program is None:
            raise StoreError(f"no program {args.id!r}")
        text = progress.render(program, store.stats(args.id, now=time.time()))
        sys.stdout.write(("\x1b[H\x1b[J" if live else "") + text)
        sys.stdout.flush()
        if not args.follow or program.state in ("completed", "cancelled"):
            return EXIT_OK
        try:
            time.sleep(max(0.2, args.interval))
        except KeyboardInterrupt:
            return EXIT_OK
        if not live:
            print()


def _export(args: argparse.Namespace, _settings: Settings, store: ProgramStore) -> int:
    if store.get_program(args.id) is None:
        raise StoreError(f"no program {args.id!r}")
    entries = export.results(store, args.id)
    write = export.write_csv if args.format == "csv" else export.write_json
    if args.output is None:
        write(entries, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write(entries, out)
        print(f"{len(entries)} contact(s) written to {args.output}", file=sys.stderr)
    return EXIT_OK


def _dnc(args: argparse.Namespace, _settings: Settings, store: ProgramStore) -> int:
    numbers = list(args.numbers)
    if args.file is not None:
        try:
            numbers += [n.strip() for n in args.file.read_text().splitlines() if n.strip()]
        except OSError as exc:
            raise _Usage(f"{args.file}: {exc}") from None
    if not numbers:
        raise _Usage("no numbers given")
    country = args.country
    if country is None and args.program:
        program = store.get_program(args.program)
        if program is None:
            raise StoreError(f"no program {args.program!r}")
        country = program.spec.default_country
    phones, bad = [], []
    for number in numbers:
        try:
            phones.append(normalise_number(number, (country or "US").upper()))
        except ValueError as exc:
            bad.append(str(exc))
    for reason in bad:
        print(f"callflow program dnc: {reason}", file=sys.stderr)
    scope = args.program or GLOBAL_DNC
    if args.change == "add":
        changed = store.add_dnc(phones, scope=scope, now=time.time())
    else:
        changed = store.remove_dnc(phones, scope=scope)
    where = f"program {args.program}'s list" if args.program else "the global list"
    print(f"{changed} number(s) {'added to' if args.change == 'add' else 'removed from'} {where}")
    return EXIT_INVALID if bad else EXIT_OK


def _recover(args: argparse.Namespace, settings: Settings, store: ProgramStore) -> int:
    """Resolve what a process gone for good left in progress: from its records file when it
    can be read here, else each such call counts as `unknown`. Refused while a process of
    that name is alive (it holds the name); the name is held here while this runs."""
    if not store.shared:
        raise _Usage(
            "with SQLite one controller owns the database and resolves every call left in "
            "progress when it starts: start it again"
        )
    store.hold_owner(args.owner)
    records = args.records or settings.records
    report = recover(store, records, now=time.time(), owner=args.owner)
    print(
        f"owner {args.owner}: {report.released_claims} claim(s) released, "
        f"{len(report.from_records)} call(s) resolved from {records}, "
        f"{len(report.unknown)} counted unknown (no record)"
    )
    return EXIT_OK


ACTIONS = {
    "create": _create,
    "import": _import,
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "cancel": _cancel,
    "status": _status,
    "export": _export,
    "dnc": _dnc,
    "recover": _recover,
}
