"""A program's results, one entry per contact: CSV for spreadsheets, JSON for tools.

Each contact: its number and fields, status and final disposition, attempts, the last
call's outcome, result, call id and flow variables (e.g. `customerResponse`). JSON adds every
attempt (uuid, outcome, result, cause, times). CSV columns: the fixed ones, then the contact
fields, `attr.<name>` for custom attributes and `var.<name>` for the last call's variables.

Spreadsheet safety: names, attributes and variables come from contact files and callers. A
CSV cell starting with `=`, `+`, `-`, `@` or `|` (also after spaces, and in their fullwidth
forms U+FF1D, U+FF0B, U+FF0D, U+FF20, U+FF5C), or with a tab, CR or LF, is run as a formula
by Excel, LibreOffice or Google Sheets (formula injection), so every such text cell is
written with a leading `'`, which spreadsheets show as text and do not run. The `phone` column is
left as it is: it is always E.164 (`+` and digits, checked at import), which no spreadsheet
can run as anything but a number, and tools matching numbers need it exact. JSON is left as
it is.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from controller.programs.store import AttemptRow, ContactRow, ProgramStore

FIXED = (
    "phone",
    "line",
    "status",
    "disposition",
    "attempts",
    "lastOutcome",
    "lastResult",
    "lastCallId",
    "nextAttemptAt",
)


def iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):  # a time stored before specs had bounds
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def contact_result(row: ContactRow, attempts: list[AttemptRow]) -> dict[str, Any]:
    return {
        "phone": row.phone,
        "line": row.line,
        "status": row.status,
        "disposition": row.disposition,
        "attempts": row.attempts,
        "lastOutcome": row.last_outcome,
        "lastResult": row.last_result,
        "lastCallId": row.last_call_id,
        "nextAttemptAt": iso_time(row.next_at) if row.status == "pending" else None,
        "contact": row.data,
        "timezone": row.timezone,
        "variables": row.last_variables,
        "attemptLog": [
            {
                "uuid": attempt.uuid,
                "number": attempt.number,
                "state": attempt.state,
                "outcome": attempt.outcome,
                "result": attempt.result,
                "cause": attempt.cause,
                "startedAt": iso_time(attempt.started_at),
                "endedAt": iso_time(attempt.ended_at),
            }
            for attempt in attempts
        ],
    }


def results(store: ProgramStore, program_id: str) -> list[dict[str, Any]]:
    by_contact: dict[int, list[AttemptRow]] = {}
    for attempt in store.attempts(program_id):
        by_contact.setdefault(attempt.contact_id, []).append(attempt)
    return [contact_result(row, by_contact.get(row.id, [])) for row in store.contacts(program_id)]


def write_json(entries: list[dict[str, Any]], out: TextIO) -> None:
    json.dump(entries, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def write_csv(entries: list[dict[str, Any]], out: TextIO) -> None:
    fields: list[str] = []
    attributes: list[str] = []
    variables: list[str] = []
    for entry in entries:
        for key, value in entry["contact"].items():
            if key == "customAttributes":
                attributes += [f"attr.{k}" for k in value if f"attr.{k}" not in attributes]
            elif key != "phone" and key not in fields:
                fields.append(key)
        variables += [f"var.{k}" for k in entry["variables"] if f"var.{k}" not in variables]
    # CRLF (RFC 4180): a cell holding a lone CR or LF is then quoted, so rows cannot split.
    columns = [*FIXED, *fields, *attributes, *variables]
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        row = {name: entry[name] for name in FIXED}
        contact = entry["contact"]
        row.update({name: contact.get(name) for name in fields})
        row.update({f"attr.{k}": v for k, v in contact.get("customAttributes", {}).items()})
        row.update({f"var.{k}": v for k, v in entry["variables"].items()})
        writer.writerow({k: v if k == "phone" else spreadsheet_safe(v) for k, v in row.items()})


# OWASP's CSV injection list, plus what spreadsheets also take for it: `|` (DDE), and the
# fullwidth (and small) forms of = + - @ |, which some spreadsheets read as the ASCII ones.
FORMULA_STARTS = frozenset("=+-@|\uff1d\uff0b\uff0d\uff20\uff5c\ufe62\ufe63")
# A cell starting with one of these is quoted whatever follows: spreadsheets skip them (or
# start a new line) before looking for a formula.
CONTROL_STARTS = frozenset("\t\r\n\x0b\x0c")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula: text starting with a formula character,
    or with a control character, or with spaces and then a formula character, gets a
    leading `'`; objects and lists become JSON text first."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value and _is_formula(value):
        return "'" + value
    return value


def _is_formula(text: str) -> bool:
    if text[0] in CONTROL_STARTS:
        return True
    stripped = text.lstrip()  # every Unicode space: " =1+1" is still a formula to Excel
    return bool(stripped) and stripped[0] in FORMULA_STARTS
