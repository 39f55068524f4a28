"""Answer: answers an inbound call."""

from __future__ import annotations

from typing import Any

OUTPUTS = ("onSuccess", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {},
}
