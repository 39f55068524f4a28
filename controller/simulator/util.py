"""Small C-isms of FreeSWITCH the simulator needs in several places."""

from __future__ import annotations

import re
from collections.abc import Callable

DtmfHandler = Callable[[str], bool]  # True: the digit ends the wait
_TRUE = frozenset(("yes", "on", "true", "t", "enabled", "active", "allow"))
_ATOI = re.compile(r"\s*([+-]?\d+)")


def atoi(text: str | None) -> int:
    """C atoi: optional sign and leading digits; anything else is 0."""
    match = _ATOI.match(text or "")
    return int(match.group(1)) if match else 0


def truthy(value: str | None) -> bool:
    """switch_true."""
    text = (value or "").strip().lower()
    return text in _TRUE or (text.isdigit() and int(text) != 0)
