"""Answer: answers an inbound call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.esl import apps

if TYPE_CHECKING:
    from controller.call import Call

NEEDS_CALL = True  # acts on the channel: cannot run before a dial or after a failed one
OUTPUTS = ("onSuccess", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {},
}


def run(call: Call, config: dict[str, Any]) -> str:
    apps.answer(call.live_channel, timeout=call.settings.command_timeout)
    return "onSuccess"
