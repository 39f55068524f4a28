"""Contacts from CSV or JSON: numbers in E.164, known fields by name, the rest as attributes.

- The phone column (`phone`, or `number`, `phone_number`, `msisdn`, `mobile`) is parsed with
  `phonenumbers` in the program's default country and written in E.164 (`+212600000001`);
  a number that is not a valid number is an error for that row.
- The guide's contact fields keep their names (`firstName`, `lastName`, `city`, `email`,
  `language`; `first_name` or `First Name` are accepted for `firstName`), `timezone` (an IANA
  name) is the contact's calling time zone, and every other column becomes
  `customAttributes.<column>` — kept as text, so account numbers keep their leading zeros.
- Every row that cannot be used is reported with its line number and reason; none is dropped
  silently. A column name that could not be read by a flow (`contact.customAttributes.X`)
  refuses the whole file, naming the column.
- Duplicates (the same number after normalisation) are merged into the first row that has
  it: later non-empty values override earlier ones field by field, attributes key by key
  (the later line is the newer data), and each merge is reported with both line numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from controller.programs.model import SpecError, check_timezone

MAX_ROWS = 1_000_000
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_PHONE_NAMES = {"phone", "number", "phonenumber", "msisdn", "mobile", "tel", "telephone"}
_KNOWN = {
    "firstname": "firstName",
    "lastname": "lastName",
    "city": "city",
    "email": "email",
    "language": "language",
    "timezone": "timezone",
    "tz": "timezone",
}


class ContactFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, no phone column, bad header)."""


@dataclass(slots=True)
class ImportedContact:
    phone: str  # E.164
    data: dict[str, Any]  # the contact as flows see it: phone, firstName, customAttributes...
    timezone: str | None
    line: int


@dataclass(slots=True)
class RowError:
    line: int
    reason: str

    def as_text(self, source: str) -> str:
        return f"{source}:{self.line}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    source: str
    contacts: list[ImportedContact] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    merged: list[tuple[int, int]] = field(default_factory=list)  # (line, merged into line)
    rows: int = 0

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows} row(s): {len(self.contacts)} contact(s), "
            f"{len(self.merged)} duplicate(s) merged, {len(self.errors)} invalid"
        )


def _key(name: str) -> str:
    return re.sub(r"[\s_-]", "", name).lower()


def normalise_number(raw: Any, country: str) -> str:
    """E.164 for `raw`, read in `country` when it has no +country code; ValueError otherwise."""
    text = str(raw or "").strip()
    if not text:
        raise ValueError("no phone number")
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {text!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number) or country
        raise ValueError(f"phone {text!r} is not a valid number (read as {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _columns(header: list[str], source: str, *, unique: bool = True) -> dict[str, str]:
    """Column name -> where its value goes: `phone`, a known field, or `attr:<name>`."""
    mapping: dict[str, str] = {}
    seen: set[str] = set()
    for index, column in enumerate(header, start=1):
        name = (column or "").strip()
        key = _key(name)
        if not name:
            raise ContactFileError(f"{source}: column {index} has no name")
        if key in _PHONE_NAMES:
            target = "phone"
        elif key in _KNOWN:
            target = _KNOWN[key]
        elif key == "customattributes":
            target = "attrs"
        elif _ATTRIBUTE.match(name):
            target = f"attr:{name}"
        else:
            raise ContactFileError(
                f"{source}: column {index} {name!r} cannot be read by a flow as "
                "contact.customAttributes.<name>: use letters, digits and '_'"
            )
        if target in seen and unique:
            raise ContactFileError(f"{source}: column {index} {name!r}: {target} appears twice")
        seen.add(target)
        mapping[name] = target
    if "phone" not in seen:
        raise ContactFileError(f"{source}: no phone column (phone, number, msisdn, mobile)")
    return mapping


def _row(
    values: dict[str, Any], mapping: dict[str, str], country: str
) -> tuple[str, dict[str, Any], str | None]:
    contact: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    phone_raw: Any = None
    for column, value in values.items():
        target = mapping.get(column)
        if target is None:
            raise ValueError(f"unexpected field {column!r}")
        if target == "phone":
            if phone_raw is not None:
                raise ValueError("two phone fields")
            phone_raw = value
        elif target == "attrs":
            if not isinstance(value, dict) or not all(_ATTRIBUTE.match(str(k)) for k in value):
                raise ValueError("customAttributes must be an object with plain keys")
            attributes.update({k: v for k, v in value.items() if v not in (None, "")})
        elif value in (None, ""):
            continue
        elif target.startswith("attr:"):
            attributes[target[5:]] = value
        else:
            contact[target] = str(value).strip() if isinstance(value, str) else value
    phone = normalise_number(phone_raw, country)
    timezone = contact.pop("timezone", None)
    if timezone is not None:
        try:
            check_timezone(timezone, "timezone")
        except SpecError:
            raise ValueError(
                f"timezone {timezone!r} is not a time zone (e.g. Europe/Paris)"
            ) from None
    contact["phone"] = phone
    if attributes:
        contact["customAttributes"] = attributes
    return phone, contact, timezone


def _merge(into: ImportedContact, later: ImportedContact) -> None:
    attributes = {
        **into.data.get("customAttributes", {}),
        **later.data.get("customAttributes", {}),
    }
    into.data.update({k: v for k, v in later.data.items() if k != "customAttributes"})
    if attributes:
        into.data["customAttributes"] = attributes
    into.timezone = later.timezone or into.timezone


def _rows_csv(text: str, source: str) -> tuple[dict[str, str], list[tuple[int, dict[str, Any]]]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ContactFileError(f"{source}: the file is empty") from None
    except csv.Error as exc:
        raise ContactFileError(f"{source}:1: the header is not CSV ({exc})") from None
    mapping = _columns(header, source)
    names = [name.strip() for name in header]
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for values in reader:
            _add_row(rows, reader.line_num, values, names, source)
    except csv.Error as exc:  # e.g. a field over csv's size limit: the file cannot be read on
        raise ContactFileError(f"{source}:{reader.line_num}: not CSV ({exc})") from None
    return mapping, rows


def _add_row(
    rows: list[tuple[int, dict[str, Any]]],
    line: int,
    values: list[str],
    names: list[str],
    source: str,
) -> None:
    """One CSV record; `line` is its last physical line (a quoted field may span several)."""
    if not any(v.strip() for v in values):
        return
    if len(values) != len(names):
        rows.append((line, {"__error__": f"{len(values)} fields, the header has {len(names)}"}))
    else:
        rows.append((line, dict(zip(names, values, strict=True))))
    if len(rows) > MAX_ROWS:
        raise ContactFileError(f"{source}: more than {MAX_ROWS} rows")


def _rows_json(text: str, source: str) -> tuple[dict[str, str], list[tuple[int, dict[str, Any]]]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond reason
        raise ContactFileError(f"{source}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("contacts"), list):
        data = data["contacts"]
    if not isinstance(data, list):
        raise ContactFileError(
            f"{source}: a JSON list of contacts (or {{contacts: [...]}}) is needed"
        )
    columns: list[str] = []
    for item in data:
        if isinstance(item, dict):
            columns.extend(str(k) for k in item if str(k) not in columns)
    # Objects may name their phone differently; one object with two is a row error.
    mapping = _columns(columns, source, unique=False) if columns else {}
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((index, {"__error__": "not an object"}))
        else:
            rows.append((index, {str(k): v for k, v in item.items()}))
    return mapping, rows


def read_contacts(path: Path, *, country: str) -> ImportReport:
    """Read a CSV or JSON contacts file; `ContactFileError` when the file as a whole is unusable.
    For JSON the "line" of a row is its position in the list (1 = first)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContactFileError(f"{source}: cannot read ({exc})") from None
    as_json = True if path.suffix.lower() == ".json" else None
    return parse_contacts(text, source=source, country=country, as_json=as_json)


def parse_contacts(
    text: str, *, source: str, country: str, as_json: bool | None = None
) -> ImportReport:
    """Contacts from JSON text (`as_json` true) or CSV (false); None: JSON when it starts
    with [ or {."""
    text = text.removeprefix("\ufeff")
    is_json = as_json if as_json is not None else text.lstrip()[:1] in ("[", "{")
    mapping, rows = (_rows_json if is_json else _rows_csv)(text, source)
    report = ImportReport(source)
    by_phone: dict[str, ImportedContact] = {}
    for line, values in rows:
        report.rows += 1
        if "__error__" in values:
            report.errors.append(RowError(line, values["__error__"]))
            continue
        try:
            phone, contact, timezone = _row(values, mapping, country)
        except ValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        imported = ImportedContact(phone, contact, timezone, line)
        first = by_phone.get(phone)
        if first is not None:
            _merge(first, imported)
            report.merged.append((line, first.line))
            continue
        by_phone[phone] = imported
        report.contacts.append(imported)
    return report
