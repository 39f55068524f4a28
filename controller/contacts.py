"""Who is calling: the contact behind `contact.*` variables on inbound calls.

In order: the JSON channel variable `callflow_contact` (set by the dialplan or by callflow's
own originate), else the contacts file named by the `contacts` setting — a JSON list of
contacts, each with a `phone`, looked up by the caller id number — else no contact (every
`contact.*` read is then unset, rendered empty and listed in the call's record).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from controller.exceptions import ConfigError

log = logging.getLogger("callflow.contacts")

MAX_CONTACT_BYTES = 64 * 1024
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _plain_keys(data: Any) -> bool:
    return isinstance(data, dict) and all(_KEY.match(str(key)) for key in data)


def contact_from_channel(raw: str | None) -> dict[str, Any] | None:
    """The contact in `callflow_contact`, or None when absent or unusable (logged)."""
    if not raw:
        return None
    if len(raw) > MAX_CONTACT_BYTES:
        log.warning("callflow_contact is larger than %d bytes; ignored", MAX_CONTACT_BYTES)
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        log.warning("callflow_contact is not JSON (%s); ignored", exc)
        return None
    except RecursionError:  # thousands of nested brackets: json gives up, the call goes on
        log.warning("callflow_contact is nested too deeply; ignored")
        return None
    if not _plain_keys(data):
        log.warning("callflow_contact must be a JSON object with plain keys; ignored")
        return None
    return data


class ContactDirectory:
    """Contacts by phone number, from a JSON file read once at start."""

    def __init__(self, path: Path | None = None) -> None:
        self._by_phone: dict[str, dict[str, Any]] = {}
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            contacts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"contacts: cannot read {path}: {exc}") from None
        if not isinstance(contacts, list):
            raise ConfigError(f"contacts: {path} must hold a JSON list of contacts")
        for index, contact in enumerate(contacts):
            if not _plain_keys(contact) or not isinstance(contact.get("phone"), str):
                raise ConfigError(
                    f"contacts: {path}: entry {index} needs a text `phone` and plain keys"
                )
            self._by_phone[contact["phone"]] = contact

    def find(self, channel_variables: dict[str, str]) -> dict[str, Any]:
        carried = contact_from_channel(channel_variables.get("callflow_contact"))
        if carried is not None:
            return carried
        number = channel_variables.get("caller_id_number", "")
        return dict(self._by_phone.get(number, {}))
