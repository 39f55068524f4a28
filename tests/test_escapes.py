"""controller.escapes: text holding bytes that are not UTF-8, written out as UTF-8."""

from __future__ import annotations

import json

from controller.escapes import json_bytes, safe_json, safe_text
from controller.esl.protocol import url_decode


def test_a_byte_decoded_from_freeswitch_is_shown_as_its_hex_escape() -> None:
    value = url_decode("12%FF34")  # what the event socket sends for the byte 0xFF
    assert value == "12\udcff34"
    assert safe_text(value) == "12\\xff34"


def test_a_surrogate_that_stands_for_no_byte_is_shown_as_a_unicode_escape() -> None:
    assert safe_text("a\ud800b") == "a\\ud800b"


def test_valid_text_is_returned_as_it_is() -> None:
    text = "Renée ☎ 0600"
    assert safe_text(text) is text
    assert safe_json(text) is text


def test_in_json_the_escape_is_a_backslash_inside_the_string() -> None:
    text = json.dumps({"number": "12\udcff34", "name": "é"}, ensure_ascii=False)
    data = json.loads(json_bytes(text).decode("utf-8"))
    assert data == {"number": "12\\xff34", "name": "é"}
    assert json.loads(safe_json(text)) == data
