from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.contacts import ContactDirectory, contact_from_channel
from controller.exceptions import ConfigError


def test_channel_contact_wins_over_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps([{"phone": "0600", "firstName": "Amina"}]))
    directory = ContactDirectory(path)
    assert directory.find({"caller_id_number": "0600"})["firstName"] == "Amina"
    carried = {"callflow_contact": '{"firstName": "Omar"}', "caller_id_number": "0600"}
    assert directory.find(carried) == {"firstName": "Omar"}
    assert directory.find({"caller_id_number": "0700"}) == {}


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '{"bad key": 1}', "x" * 70000])
def test_unusable_channel_contacts_are_ignored(raw: str) -> None:
    assert contact_from_channel(raw) is None


def test_a_bad_contacts_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps([{"firstName": "no phone"}]))
    with pytest.raises(ConfigError, match="entry 0 needs a text `phone`"):
        ContactDirectory(path)
