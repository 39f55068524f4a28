"""Contacts from CSV and JSON: E.164 numbers, known fields, attributes, errors by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.programs.importer import ContactFileError, normalise_number, read_contacts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "programs"


def test_csv_rows_become_contacts_with_e164_numbers_and_attributes() -> None:
    report = read_contacts(FIXTURES / "contacts.csv", country="MA")
    by_phone = {c.phone: c for c in report.contacts}
    assert list(by_phone) == ["+212600000001", "+33612345678", "+212600000004"]
    amina = by_phone["+212600000001"].data
    assert amina["firstName"] == "Amina"
    assert amina["customAttributes"]["account"] == "007"  # text: leading zeros kept
    assert by_phone["+33612345678"].timezone == "Europe/Paris"
    assert by_phone["+212600000004"].data["city"] == "Tanger\nNord"  # a quoted multi-line field


def test_every_invalid_csv_row_is_reported_with_its_line_and_reason() -> None:
    report = read_contacts(FIXTURES / "contacts.csv", country="MA")
    reasons = {error.line: error.reason for error in report.errors}
    assert set(reasons) == {4, 5, 7, 8}
    assert "'12' is not a valid number" in reasons[4]
    assert "'Mars/Olympus' is not a time zone" in reasons[5]
    assert reasons[7] == "no phone number"
    assert "5 fields, the header has 6" in reasons[8]
    assert report.rows == 8  # the blank line is not a row
    assert len(report.contacts) + len(report.errors) + len(report.merged) == report.rows
    assert report.errors[0].as_text("c.csv") == f"c.csv:4: {reasons[4]}"


def test_duplicates_merge_into_the_first_row_later_values_win() -> None:
    report = read_contacts(FIXTURES / "contacts.csv", country="MA")
    assert report.merged == [(9, 2)]
    amina = next(c for c in report.contacts if c.phone == "+212600000001")
    assert amina.line == 2
    assert amina.data["firstName"] == "Amina"  # the later row left it empty
    assert amina.data["city"] == "Marrakech"  # the later row's value
    assert amina.data["customAttributes"] == {"balance": "1300", "account": "007"}


def test_json_contacts_with_items_reported_by_position() -> None:
    report = read_contacts(FIXTURES / "contacts.json", country="MA")
    assert [c.phone for c in report.contacts] == ["+212600000001", "+212600000002"]
    assert report.contacts[0].data == {
        "phone": "+212600000001",
        "firstName": "Amina",
        "city": "Rabat",
        "customAttributes": {"balance": 1200},
    }
    assert report.contacts[1].data["customAttributes"] == {"plan": "gold"}
    assert [(e.line, e.reason[:24]) for e in report.errors] == [
        (3, "phone 'not a number' is "),
        (4, "not an object"),
    ]
    assert report.merged == [(5, 1)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,city\nA,B\n", "no phone column"),
        ("phone,Account Balance\n0600000001,3\n", "column 2 'Account Balance' cannot be read"),
        ("phone,msisdn\n1,2\n", "phone appears twice"),
        ("", "the file is empty"),
    ],
)
def test_a_file_that_cannot_be_imported_names_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(ContactFileError, match=message):
        read_contacts(path, country="MA")


def test_semicolon_separated_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("phone;firstName\n0612345678;Jean\n")
    [contact] = read_contacts(path, country="FR").contacts
    assert contact.data == {"phone": "+33612345678", "firstName": "Jean"}


def test_numbers_are_normalised_in_the_default_country() -> None:
    assert normalise_number("06 00 00 00 01", "MA") == "+212600000001"
    assert normalise_number("+1 (212) 555-0100", "MA") == "+12125550100"
    with pytest.raises(ValueError, match="no phone number"):
        normalise_number(" ", "MA")
